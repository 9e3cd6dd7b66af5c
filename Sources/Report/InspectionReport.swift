import HostInspect

/// Renders an ``Inspection`` for a terminal, in the forms `ss` and `nstat` users read: state
/// counts as `ss -ant | awk '{print $1}' | sort | uniq -c` prints them, destinations and
/// listeners as aligned tables, counters as nstat lines, sysctls as `sysctl` lines.
public enum InspectionReport {
    /// The whole report; lines never end in spaces, the text ends with a newline.
    ///
    /// - Complexity: O(n log n) in the number of states, destinations, listeners and counters.
    public static func render(_ i: Inspection) -> String {
        var sections: [[String]] = [header(i), states(i), destinations(i), listeners(i)]
        let counters = counters(i)
        if !counters.isEmpty { sections.append(counters) }
        sections.append(memory(i))
        if !i.sysctls.isEmpty { sections.append(sysctls(i)) }
        var text = ""
        for (index, section) in sections.enumerated() {
            if index > 0 { text += "\n" }
            for line in section { text += line.trimmingTrailingSpaces() + "\n" }
        }
        return text
    }

    static func header(_ i: Inspection) -> [String] {
        let place = i.netns.map { "network namespace \($0)" } ?? "this network namespace"
        let kernel = i.kernelRelease.isEmpty ? "kernel unknown" : "Linux \(i.kernelRelease)"
        let sampling =
            i.intervalSeconds > 0
            ? "2 samples \(seconds(i.intervalSeconds)) apart"
            : "1 sample (rates need --interval, e.g. --interval 5s)"
        let source = i.socketSource == .netlink ? "sock_diag" : "/proc/net/tcp (netlink failed)"
        return ["twlab inspect: \(place), \(kernel), \(sampling), sockets from \(source)"]
    }

    /// `uniq -c` style: count right-aligned in 7 columns, then the state, in byte order as
    /// `sort` leaves them.
    static func states(_ i: Inspection) -> [String] {
        let total = i.states.values.reduce(0, +)
        var lines = ["states (\(total) sockets; as ss -ant | awk '{print $1}' | sort | uniq -c)"]
        for (name, count) in i.states.sorted(by: {
            Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8))
        }) {
            lines.append(String(count).leftPadded(to: 7) + " " + name)
        }
        return lines
    }

    static func destinations(_ i: Inspection) -> [String] {
        let reserved =
            i.ports.reserved.isEmpty
            ? "none reserved"
            : "reserved "
                + i.ports.reserved.map {
                    $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)"
                }
                .joined(separator: ",")
        var lines = [
            "ephemeral ports \(i.ports.low)-\(i.ports.high) (\(i.ports.size) ports, \(reserved)): "
                + "\(i.usablePorts) usable per destination"
        ]
        if i.destinations.isEmpty {
            lines.append("  no outbound connections")
        } else {
            let shown =
                i.destinations.count < i.destinationsTotal
                ? "top \(i.destinations.count) of \(i.destinationsTotal)" : "\(i.destinationsTotal)"
            lines.append("destinations (\(shown), by pressure)")
            var rows = [
                [
                    "Source", "Destination", "ESTAB", "TIME-WAIT", "Held", "Usable", "Pressure", "New/s",
                    "Exhausted in", "TW age 0-10/10-30/30-60 s",
                ]
            ]
            for d in i.destinations {
                rows.append([
                    d.source, endpoint(d.destination, d.port), String(d.established), String(d.timeWait),
                    String(d.held), String(d.usablePorts), percent(d.pressure),
                    d.newPerSecond.map { fixed($0, decimals: 1) } ?? "-",
                    d.exhaustionSeconds.map(seconds) ?? (d.newPerSecond == nil ? "-" : "never"),
                    d.timeWaitAges.counts.map(String.init).joined(separator: "/"),
                ])
            }
            lines += table(rows).map { "  " + $0 }
        }
        lines.append(
            "inbound TIME-WAIT (closed first as the server; no ephemeral port): \(i.inboundTimeWait)")
        return lines
    }

    static func listeners(_ i: Inspection) -> [String] {
        guard !i.listeners.isEmpty else { return ["listeners: none"] }
        var lines = ["listeners (as ss -lnt; Recv-Q accept queue, Send-Q backlog)"]
        var rows = [
            ["State", "Recv-Q", "Send-Q", "Local Address:Port", "SYN-RECV", "Overflows/s", "Drops/s"]
        ]
        for l in i.listeners {
            rows.append([
                "LISTEN", String(l.recvQ), l.sendQ.map(String.init) ?? "?", endpoint(l.address, l.port),
                String(l.synRecv),
                l.rates.map { fixed($0.overflows, decimals: 1) } ?? "-",
                l.rates.map { fixed($0.drops, decimals: 1) } ?? "-",
            ])
        }
        lines += table(rows).map { "  " + $0 }
        let full = i.listeners.filter(\.acceptQueueFull)
        if !full.isEmpty {
            lines.append(
                "  accept queue full (new SYNs are dropped): "
                    + full.map { endpoint($0.address, $0.port) }.joined(separator: ", "))
        }
        return lines
    }

    /// nstat lines: name, value, and the rate with two samples.
    static func counters(_ i: Inspection) -> [String] {
        let names = i.counters.keys.sorted().filter { i.intervalSeconds == 0 || i.counters[$0] != 0 }
        guard !names.isEmpty else {
            return i.intervalSeconds > 0 ? ["counters: none moved in \(seconds(i.intervalSeconds))"] : []
        }
        var lines = [
            i.intervalSeconds > 0
                ? "counters (change over \(seconds(i.intervalSeconds)), as nstat)"
                : "counters (since the namespace started, as nstat -a)"
        ]
        var rows: [[String]] = []
        for name in names {
            var row = [name, String(i.counters[name]!)]
            if let rate = i.counterRates?[name] { row.append(fixed(rate, decimals: 1) + "/s") }
            rows.append(row)
        }
        lines += table(rows).map { "  " + $0 }
        return lines
    }

    static func memory(_ i: Inspection) -> [String] {
        let m = i.memory
        var lines = [
            "memory: TIME-WAIT \(bytes(m.timeWaitBytes)) (\(count(m.timeWaitSockets, "timewait socket"))), "
                + "SYN-RECV \(bytes(m.requestBytes)) (\(count(m.requestSockets, "request"))); "
                + "object sizes from \(m.objectSizes.source == "defaults" ? "defaults (no /proc/slabinfo)" : m.objectSizes.source)"
        ]
        if let limit = i.sysctls["net.ipv4.tcp_max_tw_buckets"], let tw = i.sockstat["tw"] {
            lines.append("timewait sockets: \(tw) of tcp_max_tw_buckets \(limit)")
        }
        return lines
    }

    static func sysctls(_ i: Inspection) -> [String] {
        ["sysctl"] + i.sysctls.keys.sorted().map { "  \($0) = \(i.sysctls[$0]!)" }
    }

    /// `addr:port`, IPv6 in brackets as `ss` prints it.
    static func endpoint(_ address: String, _ port: Int) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// `1 request`, `2 requests`.
    static func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }

    static func percent(_ ratio: Double) -> String { fixed(ratio * 100, decimals: 1) + "%" }

    static func seconds(_ value: Double) -> String {
        value < 10 ? fixed(value, decimals: 2) + " s" : fixed(value, decimals: 1) + " s"
    }

    static func bytes(_ value: Int) -> String {
        if value >= 1 << 20 { return fixed(Double(value) / Double(1 << 20), decimals: 1) + " MiB" }
        if value >= 1 << 10 { return fixed(Double(value) / Double(1 << 10), decimals: 1) + " KiB" }
        return "\(value) B"
    }
}
