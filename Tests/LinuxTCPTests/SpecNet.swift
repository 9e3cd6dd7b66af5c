import LinuxTCP

/// A tiny network of bare ``HostStack``s for the kernel-spec tests: every segment is delivered
/// after a fixed one-way delay (10 µs when it stays on one host), every timer fires at the
/// time the stack asked for, all in (time, arrival order). Nothing here models the kernel; it
/// only moves the model's own output around, so every assertion is about `LinuxTCP` itself.
struct SpecNet {
    static let client = IPv4Address(10, 77, 0, 1)
    static let server = IPv4Address(10, 77, 0, 2)
    /// `uptime` of every host: one day, as the scenarios use.
    static let uptime: Nanos = 86_400 * Nanos.nanosPerSecond
    static let clientApp: UInt32 = 1
    static let serverApp: UInt32 = 2

    struct Sent {
        var time: Nanos
        var from: Int
        var seg: Segment
    }

    struct Event {
        var time: Nanos
        var host: Int
        var event: AppEvent
    }

    enum Item {
        case deliver(Segment, to: Int)
        case timer(TimerRequest, host: Int)
    }

    var hosts: [HostStack]
    var now: Nanos = 0
    /// One-way delay between different hosts (veth: 50 µs).
    var delay: Nanos = 50 * Nanos.nanosPerMicro
    private var pending: [(time: Nanos, seq: Int, item: Item)] = []
    private var seq = 0
    /// Every segment any stack emitted, dropped or not, in order.
    var sent: [Sent] = []
    /// Every application event, in order.
    var events: [Event] = []
    /// A segment for which this returns true is lost on the wire (it still shows in `sent`).
    var drop: (Sent) -> Bool = { _ in false }
    /// Called for each application event before the host flushes its ACKs, like an
    /// application reacting in the same wake-up (e.g. close() on EOF).
    var react: (inout HostStack, AppEvent, Nanos, inout Effects) -> Void = { _, _, _, _ in }

    init(_ hosts: [HostStack]) { self.hosts = hosts }

    /// A stack with the 6.18 defaults, edited by `tweak` (sysctls by their real names).
    static func stack(
        _ address: IPv4Address, seed: UInt64, _ sysctls: [String: String] = [:],
        profile: KernelProfile = .linux6_18
    ) -> HostStack {
        var s = profile.defaults
        for (k, v) in sysctls.sorted(by: { $0.key < $1.key }) { try! SysctlRegistry.set(k, to: v, in: &s) }
        return HostStack(profile: profile, sysctls: s, addresses: [address], uptime: uptime, seed: seed)
    }

    /// Host 0 = client 10.77.0.1, host 1 = server 10.77.0.2.
    static func pair(
        client: [String: String] = [:], server: [String: String] = [:], seed: UInt64 = 7,
        profile: KernelProfile = .linux6_18
    ) -> SpecNet {
        SpecNet([
            stack(Self.client, seed: seed, client, profile: profile),
            stack(Self.server, seed: seed &+ 1, server, profile: profile),
        ])
    }

    // MARK: driving

    /// Runs `body` on host `h` at the current time, then ships what it produced.
    @discardableResult
    mutating func call<R>(_ h: Int, _ body: (inout HostStack, Nanos, inout Effects) -> R) -> R {
        var fx = Effects()
        let r = body(&hosts[h], now, &fx)
        finish(h, &fx)
        return r
    }

    /// Processes everything due up to and including `t`, then sets the clock to `t`.
    mutating func run(until t: Nanos) {
        while let first = pending.first, first.time <= t {
            pending.removeFirst()
            now = max(now, first.time)
            var fx = Effects()
            switch first.item {
            case .deliver(let seg, let h):
                hosts[h].receive(seg, now: now, out: &fx)
                finish(h, &fx)
            case .timer(let tr, let h):
                hosts[h].fire(tr, now: now, out: &fx)
                finish(h, &fx)
            }
        }
        now = max(now, t)
    }

    mutating func run(for d: Nanos) { run(until: now + d) }

    private mutating func finish(_ h: Int, _ fx: inout Effects) {
        var k = 0
        while k < fx.events.count {
            let e = fx.events[k]
            k += 1
            events.append(Event(time: now, host: h, event: e))
            react(&hosts[h], e, now, &fx)
        }
        hosts[h].flushAcks(now: now, out: &fx)
        for seg in fx.segments {
            let s = Sent(time: now, from: h, seg: seg)
            sent.append(s)
            if drop(s) { continue }
            let dest: Int?
            if seg.dst.isLoopback || hosts[h].addresses.contains(seg.dst) {
                dest = h
            } else {
                dest = hosts.indices.first { hosts[$0].addresses.contains(seg.dst) }
            }
            guard let d = dest else { continue }  // no route: lost
            schedule(now + (d == h ? 10 * Nanos.nanosPerMicro : delay), .deliver(seg, to: d))
        }
        for t in fx.timers { schedule(max(t.time, now), .timer(t, host: h)) }
    }

    private mutating func schedule(_ t: Nanos, _ item: Item) {
        seq += 1
        // Binary search for the first element ordered after (t, seq).
        var lo = 0
        var hi = pending.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if pending[mid].time <= t { lo = mid + 1 } else { hi = mid }
        }
        pending.insert((t, seq, item), at: lo)
    }

    // MARK: conveniences

    mutating func listen(_ h: Int = 1, port: UInt16 = 80, backlog: Int = 511, reuseAddress: Bool = true)
        -> Int32
    {
        guard
            case .success(let l) = hosts[h].listen(
                port: port, backlog: backlog, reuseAddress: reuseAddress,
                app: Self.serverApp)
        else { fatalError("listen failed") }
        return l
    }

    mutating func connect(
        _ h: Int = 0, to: IPv4Address = SpecNet.server, port: UInt16 = 80, bind: BindRequest? = nil
    )
        -> Result<SocketHandle, Errno>
    {
        call(h) { st, now, out in
            st.connect(to: to, port: port, bind: bind, app: Self.clientApp, now: now, out: &out)
        }
    }

    mutating func accept(_ h: Int = 1, listener l: Int32) -> SocketHandle? {
        call(h) { st, now, out in st.accept(listener: l, app: Self.serverApp, now: now, out: &out) }
    }

    mutating func close(_ h: Int, _ s: SocketHandle, linger0: Bool = false) {
        call(h) { st, now, out in st.close(s, linger0: linger0, now: now, out: &out) }
    }

    mutating func send(_ h: Int, _ s: SocketHandle, _ length: UInt32, fin: Bool = false) {
        call(h) { st, now, out in st.send(s, length: length, message: .none, fin: fin, now: now, out: &out) }
    }

    /// connect() from host 0 to host 1 and accept() it: both ends ESTABLISHED.
    mutating func establish(listener l: Int32, port: UInt16 = 80, bind: BindRequest? = nil)
        -> (client: SocketHandle, server: SocketHandle)
    {
        guard case .success(let c) = connect(port: port, bind: bind) else { fatalError("connect failed") }
        run(for: Nanos.ms(1))
        guard let s = accept(listener: l) else { fatalError("nothing to accept") }
        return (c, s)
    }

    /// `ss -ant` of host `h` as a dictionary.
    func states(_ h: Int) -> [String: Int] {
        var d: [String: Int] = [:]
        for (n, c) in hosts[h].summary().states { d[n] = c }
        return d
    }

    func segments(from h: Int, where p: (Segment) -> Bool = { _ in true }) -> [Sent] {
        sent.filter { $0.from == h && p($0.seg) }
    }

    func firstEvent(_ h: Int, _ kind: AppEvent.Kind, after t: Nanos = Int64.min) -> Event? {
        events.first { $0.host == h && $0.event.kind == kind && $0.time >= t }
    }
}

/// Counter deltas between two readings.
func delta(_ after: Counters, _ before: Counters, _ c: Counter) -> Int64 { after[c] - before[c] }

/// A bare SYN as hping3 -S sends it (no options).
func bareSYN(from src: IPv4Address, port sport: UInt16, to dst: IPv4Address, port dport: UInt16, seq: UInt32)
    -> Segment
{
    Segment(src: src, dst: dst, sport: sport, dport: dport, flags: [.syn], seq: seq, ack: 0)
}

/// Timer-wheel granularity (HZ=250) for a timer of `d`: what the kernel may add (kernel/time/timer.c).
func wheelSlack(_ d: Nanos) -> Nanos {
    let j = d / (4 * Nanos.nanosPerMilli)
    if j < 63 { return 2 * 4 * Nanos.nanosPerMilli }
    var level: Int64 = 1
    while level < 8 && j >= (63 << (3 * level)) { level += 1 }
    return ((1 << (3 * level)) + 1) * 4 * Nanos.nanosPerMilli
}

extension Nanos {
    static func s(_ v: Double) -> Nanos { Nanos((v * 1e9).rounded()) }
}
