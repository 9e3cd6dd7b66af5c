/// `/proc/net/sockstat`: the namespace's TCP socket gauges.
public enum SockStat {
    /// The `TCP:` line as name -> value: `inuse` (full sockets hashed), `orphan` (global),
    /// `tw` (timewait sockets of this namespace, both substates: TW-2, TW-9), `alloc` (global) and
    /// `mem` (pages, global). Other lines and malformed pairs are skipped.
    public static func parse(_ text: String) -> [String: Int] {
        var values: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("TCP:") {
            let fields = line.dropFirst(4).split(separator: " ")
            var index = 0
            while index + 1 < fields.count {
                if let value = Int(fields[index + 1]) { values[String(fields[index])] = value }
                index += 2
            }
        }
        return values
    }

    /// The calling thread's namespace; empty when the file cannot be read.
    public static func read() -> [String: Int] {
        guard let text = try? ProcFile.read("net/sockstat") else { return [:] }
        return parse(text)
    }
}
