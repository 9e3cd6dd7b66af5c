/// The per-namespace sysctls the model reads, with their real names and value syntax.
///
/// Defaults come from the kernel profile (kernel-spec §0.3); a scenario overrides them by name
/// through ``SysctlRegistry``.
public struct Sysctls: Sendable, Equatable {
    /// `net.ipv4.ip_local_port_range`, inclusive on both ends (EP-1).
    public var portRangeLow: UInt16
    public var portRangeHigh: UInt16
    /// `net.ipv4.ip_local_reserved_ports`: skipped by autobind, allowed for explicit bind (EP-2).
    public var reservedPorts: [ClosedRange<UInt16>]
    /// `net.ipv4.tcp_tw_reuse`: 0 off, 1 on, 2 loopback only (TWR-2).
    public var tcpTwReuse: Int
    /// `net.ipv4.tcp_tw_reuse_delay` in ms (≥6.14, TWR-3).
    public var tcpTwReuseDelayMs: Int
    /// `net.ipv4.tcp_timestamps`: 0 off, 1 on with offset, 2 on without offset (TS-1).
    public var tcpTimestamps: Int
    /// `net.ipv4.tcp_max_tw_buckets` (TW-6).
    public var tcpMaxTwBuckets: Int
    /// `net.ipv4.tcp_fin_timeout` in seconds: bounds orphaned FIN_WAIT2 only (TW-9).
    public var tcpFinTimeoutSeconds: Int
    /// `net.ipv4.tcp_rfc1337`: TIME_WAIT ignores RSTs when 1 (TW-14).
    public var tcpRfc1337: Int
    /// `net.core.somaxconn`: the listen() backlog cap (LQ-1).
    public var somaxconn: Int
    /// `net.ipv4.tcp_max_syn_backlog`: the last-quarter rule with cookies off (LQ-4.5).
    public var tcpMaxSynBacklog: Int
    /// `net.ipv4.tcp_syncookies`: 0 off, 1 on overflow, 2 always (LQ-4.2).
    public var tcpSyncookies: Int
    /// `net.ipv4.tcp_abort_on_overflow` (LQ-7).
    public var tcpAbortOnOverflow: Int
    /// `net.ipv4.tcp_syn_retries` (LQ-10).
    public var tcpSynRetries: Int
    /// `net.ipv4.tcp_synack_retries` (LQ-9).
    public var tcpSynackRetries: Int
    /// `net.ipv4.tcp_syn_linear_timeouts` (≥6.5, LQ-10).
    public var tcpSynLinearTimeouts: Int
    /// `net.ipv4.tcp_orphan_retries`: 0 means 8 (CL-6).
    public var tcpOrphanRetries: Int
    /// `net.ipv4.ip_autobind_reuse` (≥5.7, EP-7).
    public var ipAutobindReuse: Int
    /// `net.netfilter.nf_conntrack_tcp_timeout_time_wait` in seconds: conntrack's own TIME_WAIT
    /// on a host that tracks (a NAT gateway), not the TCP stack's (NAT-1).
    public var conntrackTimeWaitSeconds: Int = 120
    /// `net.ipv4.tcp_tw_recycle` (≤4.11, TR-1): short TIME_WAITs and the per-peer TS check.
    public var tcpTwRecycle: Int = 0

    /// Number of ports in the range, both ends included.
    @inlinable public var portRangeSize: Int { Int(portRangeHigh) - Int(portRangeLow) + 1 }

    /// Whether `port` is in `ip_local_reserved_ports`.
    public func isReserved(_ port: UInt16) -> Bool {
        for r in reservedPorts where r.contains(port) { return true }
        return false
    }
}

/// A sysctl name or value the model cannot accept, with a message fit for one error line.
public struct SysctlError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Knows every sysctl the model reads: its name, value syntax, range and how to render it.
public enum SysctlRegistry {
    /// One known sysctl.
    public struct Entry: Sendable {
        public let name: String
        public let summary: String
        let apply: @Sendable (String, inout Sysctls) throws(SysctlError) -> Void
        let render: @Sendable (Sysctls) -> String
    }

    /// Every sysctl name the model knows, sorted.
    public static var names: [String] { entries.map(\.name).sorted() }

    /// Looks up one entry by its real name.
    public static func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// Whether `name` is one of conntrack's (`net.netfilter.*`), not the TCP stack's: such a
    /// sysctl exists in a namespace only once something there uses conntrack, a NAT gateway
    /// here, and only a gateway's conntrack reads it (NAT-1).
    public static func needsConntrack(_ name: String) -> Bool { name.hasPrefix("net.netfilter.") }

    /// Sets `name` to the textual `value` (as `sysctl -w` would take it).
    public static func set(_ name: String, to value: String, in sysctls: inout Sysctls) throws(SysctlError) {
        guard let e = entry(named: name) else {
            let near = names.filter { $0.hasSuffix("." + (name.split(separator: ".").last ?? "")) }
            let hint = near.isEmpty ? "" : " (did you mean \(near.joined(separator: ", "))?)"
            throw SysctlError("unknown sysctl '\(name)'\(hint)")
        }
        try e.apply(value.trimmingSpaces, &sysctls)
    }

    /// The value of `name` as `sysctl -n` prints it.
    public static func value(of name: String, in sysctls: Sysctls) -> String? {
        entry(named: name)?.render(sysctls)
    }

    private static func int(
        _ name: String, _ summary: String, _ range: ClosedRange<Int>,
        _ kp: WritableKeyPath<Sysctls, Int> & Sendable
    ) -> Entry {
        Entry(
            name: name, summary: summary,
            apply: { (text, s) throws(SysctlError) in
                guard let v = Int(text) else {
                    throw SysctlError("\(name): '\(text)' is not an integer")
                }
                guard range.contains(v) else {
                    throw SysctlError(
                        "\(name): \(v) is outside \(range.lowerBound)...\(range.upperBound)")
                }
                s[keyPath: kp] = v
            },
            render: { s in String(s[keyPath: kp]) })
    }

    static let entries: [Entry] = [
        Entry(
            name: "net.ipv4.ip_local_port_range",
            summary: "ephemeral port range 'low high', inclusive (EP-1)",
            apply: { (text, s) throws(SysctlError) in
                let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard parts.count == 2, let lo = Int(parts[0]), let hi = Int(parts[1]) else {
                    throw SysctlError(
                        "net.ipv4.ip_local_port_range: '\(text)' is not 'LOW HIGH' (e.g. \"32768 60999\")")
                }
                // ipv4_local_port_range(): high >= low, low >= ip_unprivileged_port_start (1024).
                guard lo >= 1024, hi <= 65535, lo <= hi else {
                    throw SysctlError(
                        "net.ipv4.ip_local_port_range: '\(text)' is invalid (the kernel needs 1024 <= LOW <= HIGH <= 65535)"
                    )
                }
                s.portRangeLow = UInt16(lo)
                s.portRangeHigh = UInt16(hi)
            },
            render: { s in "\(s.portRangeLow) \(s.portRangeHigh)" }),
        Entry(
            name: "net.ipv4.ip_local_reserved_ports",
            summary: "ports autobind skips, e.g. \"1025,1030-1032\" (EP-2)",
            apply: { (text, s) throws(SysctlError) in
                var out: [ClosedRange<UInt16>] = []
                for item in text.split(separator: ",") {
                    let t = item.trimmingSpaces
                    let ends = t.split(separator: "-", omittingEmptySubsequences: false)
                    guard (1...2).contains(ends.count), let a = UInt16(ends[0]),
                        let b = UInt16(ends.count == 2 ? ends[1] : ends[0]), a <= b
                    else {
                        throw SysctlError(
                            "net.ipv4.ip_local_reserved_ports: '\(t)' is not a port or a range like 1030-1032"
                        )
                    }
                    out.append(a...b)
                }
                s.reservedPorts = out
            },
            render: { s in
                s.reservedPorts.map {
                    $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)"
                }
                .joined(separator: ",")
            }),
        int("net.ipv4.tcp_tw_reuse", "0 off, 1 on, 2 loopback only (TWR-2)", 0...2, \.tcpTwReuse),
        int(
            "net.ipv4.tcp_tw_reuse_delay", "ms a TIME_WAIT must age before reuse (TWR-3)", 1...60000,
            \.tcpTwReuseDelayMs),
        int(
            "net.ipv4.tcp_timestamps", "0 off, 1 on with offset, 2 on without (TS-1)", 0...2, \.tcpTimestamps),
        int(
            "net.ipv4.tcp_max_tw_buckets", "cap on TIME_WAIT sockets (TW-6)", 0...Int(Int32.max),
            \.tcpMaxTwBuckets),
        int(
            "net.ipv4.tcp_fin_timeout", "orphaned FIN_WAIT2 lifetime, seconds (TW-9)",
            1...Int(Int32.max) / 1000,
            \.tcpFinTimeoutSeconds),
        int(
            "net.ipv4.tcp_tw_recycle", "1: 3.5·RTO TIME_WAIT, per-peer PAWS on SYNs (TR-1..3, ≤4.11)", 0...1,
            \.tcpTwRecycle),
        int("net.ipv4.tcp_rfc1337", "1: TIME_WAIT ignores RST (TW-14)", 0...1, \.tcpRfc1337),
        int("net.core.somaxconn", "listen() backlog cap (LQ-1)", 0...Int(Int32.max), \.somaxconn),
        int(
            "net.ipv4.tcp_max_syn_backlog", "last-quarter SYN drop with cookies off (LQ-4)",
            0...Int(Int32.max),
            \.tcpMaxSynBacklog),
        int("net.ipv4.tcp_syncookies", "0 off, 1 on overflow, 2 always (LQ-4)", 0...2, \.tcpSyncookies),
        int(
            "net.ipv4.tcp_abort_on_overflow", "1: RST a final ACK the accept queue cannot take (LQ-7)", 0...1,
            \.tcpAbortOnOverflow),
        int(
            "net.ipv4.tcp_syn_retries", "SYN retransmissions before ETIMEDOUT (LQ-10)", 1...127,
            \.tcpSynRetries),
        int("net.ipv4.tcp_synack_retries", "SYN-ACK retransmissions (LQ-9)", 0...255, \.tcpSynackRetries),
        int(
            "net.ipv4.tcp_syn_linear_timeouts", "SYN retries at a linear 1 s RTO (LQ-10)", 0...127,
            \.tcpSynLinearTimeouts),
        int(
            "net.ipv4.tcp_orphan_retries", "FIN retries of orphans; 0 means 8 (CL-6)", 0...255,
            \.tcpOrphanRetries),
        int(
            "net.ipv4.ip_autobind_reuse", "bind(0) may share SO_REUSEADDR ports (EP-7)", 0...1,
            \.ipAutobindReuse),
        int(
            "net.netfilter.nf_conntrack_tcp_timeout_time_wait", "conntrack TIME_WAIT, seconds (NAT-1)",
            0...Int(Int32.max), \.conntrackTimeWaitSeconds),
    ]
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
