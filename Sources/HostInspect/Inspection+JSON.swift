import FoundationEssentials

extension Inspection {
    /// design.md's inspection contract (`twlab inspect --json`), sorted keys, two-space indents.
    ///
    /// Beyond the contract's keys (which keep their meaning) it carries `kernel_release`,
    /// `socket_source`, `port_range`, `destinations_total`, `held` per destination, the listener
    /// rates and `accept_queue_full`, `counter_rates_per_s`, `memory_objects`, `sockstat`. Rates
    /// and exhaustion times are `null` with one sample; with one sample `interval_s` is 0 and
    /// `counters` are absolute values. Ratios are rounded to 4 decimals, rates and seconds to 3.
    public func jsonText() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try! encoder.encode(InspectionJSON(self))
        return String(decoding: data, as: UTF8.self)
    }
}

/// `x` rounded to `decimals` places, for stable, readable JSON numbers.
func rounded(_ x: Double, _ decimals: Int) -> Double {
    guard x.isFinite else { return x }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    return (x * scale).rounded() / scale
}

private struct InspectionJSON: Encodable {
    let i: Inspection
    init(_ i: Inspection) { self.i = i }

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
        try encodeOptional(i.netns, &c, "netns")
        try c.encode(i.kernel, forKey: Key("kernel"))
        try c.encode(i.kernelRelease, forKey: Key("kernel_release"))
        try c.encode(rounded(i.intervalSeconds, 3), forKey: Key("interval_s"))
        try c.encode(i.socketSource == .netlink ? "netlink" : "proc", forKey: Key("socket_source"))
        try c.encode(i.states, forKey: Key("states"))

        var range = c.nestedContainer(keyedBy: Key.self, forKey: Key("port_range"))
        try range.encode(i.ports.low, forKey: Key("low"))
        try range.encode(i.ports.high, forKey: Key("high"))
        try range.encode(i.ports.reserved.map { [$0.lowerBound, $0.upperBound] }, forKey: Key("reserved"))
        try range.encode(i.usablePorts, forKey: Key("usable_ports"))

        var list = c.nestedUnkeyedContainer(forKey: Key("destinations"))
        for d in i.destinations {
            var o = list.nestedContainer(keyedBy: Key.self)
            try o.encode(d.source, forKey: Key("src"))
            try o.encode(d.destination, forKey: Key("dst"))
            try o.encode(d.port, forKey: Key("dport"))
            try o.encode(d.established, forKey: Key("established"))
            try o.encode(d.timeWait, forKey: Key("time_wait"))
            try o.encode(d.held, forKey: Key("held"))
            try o.encode(d.usablePorts, forKey: Key("usable_ports"))
            try o.encode(rounded(d.pressure, 4), forKey: Key("pressure"))
            try encodeOptional(d.newPerSecond.map { rounded($0, 3) }, &o, "new_per_s")
            try encodeOptional(d.exhaustionSeconds.map { rounded($0, 3) }, &o, "exhaustion_in_s")
            var ages = o.nestedContainer(keyedBy: Key.self, forKey: Key("time_wait_age_s"))
            for (label, count) in zip(Inspection.TimeWaitAges.labels, d.timeWaitAges.counts) {
                try ages.encode(count, forKey: Key(label))
            }
        }
        try c.encode(i.destinationsTotal, forKey: Key("destinations_total"))
        try c.encode(i.inboundTimeWait, forKey: Key("inbound_time_wait"))

        var listeners = c.nestedUnkeyedContainer(forKey: Key("listeners"))
        for l in i.listeners {
            var o = listeners.nestedContainer(keyedBy: Key.self)
            try o.encode(l.address, forKey: Key("addr"))
            try o.encode(l.port, forKey: Key("port"))
            try o.encode(l.recvQ, forKey: Key("recv_q"))
            try o.encode(l.sendQ, forKey: Key("send_q"))  // null from /proc
            try o.encode(l.synRecv, forKey: Key("syn_recv"))
            try o.encode(l.acceptQueueFull, forKey: Key("accept_queue_full"))
            let r = l.rates
            try encodeOptional(r.map { rounded($0.overflows, 3) }, &o, "overflows_per_s")
            try encodeOptional(r.map { rounded($0.drops, 3) }, &o, "drops_per_s")
            try encodeOptional(r.map { rounded($0.reqQFullDrops, 3) }, &o, "reqq_full_drops_per_s")
            try encodeOptional(r.map { rounded($0.reqQFullCookies, 3) }, &o, "reqq_full_cookies_per_s")
            try encodeOptional(r.map { rounded($0.syncookiesSent, 3) }, &o, "syncookies_sent_per_s")
        }

        try c.encode(i.counters, forKey: Key("counters"))
        try encodeOptional(i.counterRates?.mapValues { rounded($0, 3) }, &c, "counter_rates_per_s")

        var memory = c.nestedContainer(keyedBy: Key.self, forKey: Key("memory_bytes"))
        try memory.encode(i.memory.timeWaitBytes, forKey: Key("time_wait"))
        try memory.encode(i.memory.requestBytes, forKey: Key("request"))
        var objects = c.nestedContainer(keyedBy: Key.self, forKey: Key("memory_objects"))
        let sizes = i.memory.objectSizes
        try objects.encode(i.memory.timeWaitSockets, forKey: Key("time_wait_sockets"))
        try objects.encode(i.memory.requestSockets, forKey: Key("request_sockets"))
        try objects.encode(sizes.timeWait4, forKey: Key("tw_sock_TCP"))
        try objects.encode(sizes.timeWait6, forKey: Key("tw_sock_TCPv6"))
        try objects.encode(sizes.request4, forKey: Key("request_sock_TCP"))
        try objects.encode(sizes.request6, forKey: Key("request_sock_TCPv6"))
        try objects.encode(sizes.source, forKey: Key("source"))

        try c.encode(i.sockstat, forKey: Key("sockstat"))
        try c.encode(i.sysctls, forKey: Key("sysctl"))
    }

    private func encodeOptional<T: Encodable>(
        _ value: T?, _ container: inout KeyedEncodingContainer<Key>, _ key: String
    ) throws {
        if let value {
            try container.encode(value, forKey: Key(key))
        } else {
            try container.encodeNil(forKey: Key(key))
        }
    }
}
