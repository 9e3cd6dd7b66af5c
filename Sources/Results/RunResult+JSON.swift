import FoundationEssentials

extension RunResult {
    /// The result as design.md's JSON contract: sorted keys, two-space indentation.
    public func jsonText() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try! encoder.encode(JSONForm(self))
        return String(decoding: data, as: UTF8.self)
    }
}

/// Encodes a RunResult in the exact shape of the contract.
private struct JSONForm: Encodable {
    let r: RunResult
    init(_ r: RunResult) { self.r = r }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(1, forKey: Key("twlab"))
        try c.encode(r.scenario, forKey: Key("scenario"))
        try c.encode(r.engine, forKey: Key("engine"))
        try c.encode(r.kernel, forKey: Key("kernel"))
        var w = c.nestedContainer(keyedBy: Key.self, forKey: Key("workloads"))
        for wl in r.workloads {
            var o = w.nestedContainer(keyedBy: Key.self, forKey: Key(wl.name))
            try o.encode(wl.attempts, forKey: Key("attempts"))
            try encodeCounts(wl.outcomes, into: &o, key: "outcomes")
            if let l = wl.latency {
                var lc = o.nestedContainer(keyedBy: Key.self, forKey: Key("latency_ms"))
                try lc.encode(l.p50, forKey: Key("p50"))
                try lc.encode(l.p99, forKey: Key("p99"))
            }
            if !wl.localPorts.isEmpty { try o.encode(wl.localPorts, forKey: Key("local_ports")) }
            if !wl.rounds.isEmpty { try encodeCounts(wl.rounds, into: &o, key: "rounds") }
            if !wl.socketErrors.isEmpty { try encodeCounts(wl.socketErrors, into: &o, key: "socket_errors") }
            if wl.timestampOffsets > 0 { try o.encode(wl.timestampOffsets, forKey: Key("ts_offsets")) }
        }
        var s = c.nestedUnkeyedContainer(forKey: Key("snapshots"))
        for snap in r.snapshots {
            var o = s.nestedContainer(keyedBy: Key.self)
            try o.encode(snap.at, forKey: Key("at"))
            try o.encode(snap.time, forKey: Key("time_s"))
            var hosts = o.nestedContainer(keyedBy: Key.self, forKey: Key("hosts"))
            for h in snap.hosts {
                var hc = hosts.nestedContainer(keyedBy: Key.self, forKey: Key(h.host))
                try encodeCounts(h.states, into: &hc, key: "states")
                var ls = hc.nestedUnkeyedContainer(forKey: Key("listeners"))
                for l in h.listeners {
                    var lc = ls.nestedContainer(keyedBy: Key.self)
                    try lc.encode(l.port, forKey: Key("port"))
                    try lc.encode(l.recvQ, forKey: Key("recv_q"))
                    try lc.encode(l.sendQ, forKey: Key("send_q"))
                    try lc.encode(l.synRecv, forKey: Key("syn_recv"))
                }
            }
        }
        var cc = c.nestedContainer(keyedBy: Key.self, forKey: Key("counters"))
        for hc in r.counters { try encodeCounts(hc.values, into: &cc, key: hc.host) }
        var series = c.nestedContainer(keyedBy: Key.self, forKey: Key("series"))
        try series.encode(r.series.time, forKey: Key("time_s"))
        var hosts = series.nestedContainer(keyedBy: Key.self, forKey: Key("hosts"))
        for h in r.series.hosts {
            var hc = hosts.nestedContainer(keyedBy: Key.self, forKey: Key(h.host))
            try encodeSeries(h.states, into: &hc, key: "states")
            try encodeSeries(h.ports, into: &hc, key: "ports")
            var lc = hc.nestedContainer(keyedBy: Key.self, forKey: Key("listeners"))
            for l in h.listeners {
                var one = lc.nestedContainer(keyedBy: Key.self, forKey: Key(String(l.port)))
                try one.encode(l.backlog, forKey: Key("backlog"))
                try one.encode(l.recvQ, forKey: Key("recv_q"))
                try one.encode(l.synRecv, forKey: Key("syn_recv"))
            }
            try encodeSeries(h.counters, into: &hc, key: "counters")
        }
        if !r.series.workloads.isEmpty {
            var wc = series.nestedContainer(keyedBy: Key.self, forKey: Key("workloads"))
            for w in r.series.workloads { try encodeSeries(w.outcomes, into: &wc, key: w.workload) }
        }
    }

    private func encodeSeries(_ items: [NamedSeries], into c: inout KeyedEncodingContainer<Key>, key: String)
        throws
    {
        var o = c.nestedContainer(keyedBy: Key.self, forKey: Key(key))
        for item in items { try o.encode(item.values, forKey: Key(item.name)) }
    }

    private func encodeCounts(_ items: [Outcome], into c: inout KeyedEncodingContainer<Key>, key: String)
        throws
    {
        var o = c.nestedContainer(keyedBy: Key.self, forKey: Key(key))
        for item in items { try o.encode(item.count, forKey: Key(item.key)) }
    }
}
