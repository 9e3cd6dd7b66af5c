/// The SNMP/MIB counters of this namespace, named as `nstat` names them (kernel-spec CT-1).
public enum ProcCounters {
    /// Tcp and TcpExt counters of this namespace with nstat names ("TcpActiveOpens" from the
    /// `Tcp:` lines of /proc/net/snmp, "TcpExtTW" from the `TcpExt:` lines of /proc/net/netstat),
    /// absolute values. Every other group in those two files (`Ip`, `Icmp`, `IcmpMsg`, `Udp`,
    /// `UdpLite`, `IpExt`, `MPTcpExt`) is included the same way.
    ///
    /// Read from `/proc/thread-self/net`, so the namespace is the calling thread's.
    public static func read() throws(InspectError) -> [String: Int64] {
        var counters = parse(try ProcFile.read("net/snmp"))
        counters.merge(parse(try ProcFile.read("net/netstat"))) { _, new in new }
        return counters
    }

    /// The parser, for tests: header/value line pairs as in /proc/net/snmp and /proc/net/netstat.
    ///
    /// A `Prefix: Name1 Name2 ...` line followed by a `Prefix: v1 v2 ...` line gives
    /// `PrefixName1 = v1`, and so on. Values are signed (`TcpMaxConn` is -1); a value above
    /// `Int64.max` keeps its bit pattern. Unpaired or malformed lines are skipped.
    public static func parse(_ text: String) -> [String: Int64] {
        var counters: [String: Int64] = [:]
        var header: (prefix: Substring, names: [Substring])?
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else {
                header = nil
                continue
            }
            let prefix = line[..<colon]
            let fields = line[line.index(after: colon)...].split(separator: " ")
            if let pending = header, pending.prefix == prefix,
                let values = parseValues(fields), values.count == pending.names.count
            {
                for (name, value) in zip(pending.names, values) {
                    counters[String(prefix) + String(name)] = value
                }
                header = nil
            } else {
                header = (prefix, fields)
            }
        }
        return counters
    }

    private static func parseValues(_ fields: [Substring]) -> [Int64]? {
        var values: [Int64] = []
        values.reserveCapacity(fields.count)
        for field in fields {
            if let value = Int64(field) {
                values.append(value)
            } else if let value = UInt64(field) {
                values.append(Int64(bitPattern: value))
            } else {
                return nil
            }
        }
        return values
    }
}
