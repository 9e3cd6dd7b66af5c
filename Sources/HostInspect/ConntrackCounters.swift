/// Conntrack's statistics in this namespace (`/proc/net/stat/nf_conntrack`, what `conntrack -S`
/// and `lnstat -f nf_conntrack` show), summed over CPUs, for a NAT gateway (kernel-spec §7).
/// (`LinuxTCP.ConntrackStats` is the simulator's model of the same counters.)
public enum ConntrackCounters {
    /// The column names kept (events, not gauges: `entries` and `chainlength` are left out),
    /// and their twlab names in the style of nstat's: `insert_failed` -> "ConntrackInsertFailed".
    public static let names: [(column: String, name: String)] = [
        ("invalid", "ConntrackInvalid"),
        ("insert_failed", "ConntrackInsertFailed"),
        ("drop", "ConntrackDrop"),
        ("early_drop", "ConntrackEarlyDrop"),
        ("clashres", "ConntrackClashResolve"),
        ("search_restart", "ConntrackSearchRestart"),
    ]

    /// The counters of the calling thread's namespace; empty when conntrack is not there (no
    /// nf_conntrack in this kernel, or the file is unreadable).
    public static func read() -> [String: Int64] {
        guard let text = try? ProcFile.readIfPresent("net/stat/nf_conntrack") else { return [:] }
        return parse(text)
    }

    /// The parser, for tests: a header line of column names, then one line of hexadecimal
    /// values per CPU. Columns missing from the header (older kernels) are left out.
    public static func parse(_ text: String) -> [String: Int64] {
        let lines = text.split(separator: "\n")
        guard let header = lines.first?.split(separator: " ").map(String.init) else { return [:] }
        var sums = [Int64](repeating: 0, count: header.count)
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count == header.count else { continue }
            for (k, f) in fields.enumerated() { sums[k] &+= Int64(bitPattern: UInt64(f, radix: 16) ?? 0) }
        }
        var out: [String: Int64] = [:]
        for (column, name) in names {
            if let k = header.firstIndex(of: column) { out[name] = sums[k] }
        }
        return out
    }
}
