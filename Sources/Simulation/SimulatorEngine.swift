import LinuxTCP
import Results
import Scenario

/// Runs a scenario on the model of the Linux stack and returns the result contract.
///
/// Deterministic: the same scenario and seed give an identical `RunResult` (no wall clock, all
/// randomness from SplitMix64 generators seeded by the scenario's seed).
public struct SimulatorEngine: Sendable {
    public init() {}

    /// Simulates `scenario` to its end and collects the result.
    public func run(_ scenario: Scenario) throws(SimulationError) -> RunResult {
        var sim = Simulator(scenario)
        return try sim.run()
    }

    /// Like ``run(_:)``, also reporting how many events the engine processed (benchmarks).
    public func runMeasured(_ scenario: Scenario) throws(SimulationError) -> (RunResult, events: Int) {
        var sim = Simulator(scenario)
        let r = try sim.run()
        return (r, sim.queue.processed)
    }
}

/// A scenario the simulator could not finish, e.g. one that would run for ever.
public struct SimulationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Snapshots named `end` or `after: W` are taken this long after the moment they name, like
/// the `ss` a script runs right after its loop (the last FIN exchange has then completed).
let observationLag: Nanos = 5 * Nanos.nanosPerMilli
/// Loopback delivery delay.
let loopbackDelay: Nanos = 10 * Nanos.nanosPerMicro
/// A run that needs more events than this is refused rather than left running.
let eventBudget = 2_000_000_000

struct Simulator {
    let scenario: Scenario
    var stacks: [HostStack] = []
    /// (address, host) pairs; a linear scan beats hashing for the few hosts a scenario has.
    var hostAddresses: [(UInt32, Int)] = []
    var timeWaitLanes: [Int] = []
    /// Per host, per TCP timer kind other than TIME_WAIT: lanes used while times stay ordered.
    var timerLanes: [[Int]] = []
    var networkLane = -1
    var loopbackLane = -1
    var apps: [any Application] = []
    var workloads: [Workload & Application] = []
    var servers: [HTTPServer] = []
    var queue: EventQueue
    var pool: [Segment] = []
    var freeSlots: [UInt32] = []
    var io = AppIO()
    var netRNG: SplitMix64
    var nat: NATRouting
    var snapshots: [String: Snapshot] = [:]
    var series: SeriesBuilder? = nil
    var endTime: Nanos? = nil
    var stopTime: Nanos? = nil
    var now: Nanos = 0

    init(_ scenario: Scenario) {
        self.scenario = scenario
        queue = EventQueue()
        netRNG = SplitMix64(seed: mix64(scenario.seed ^ 0x6E65_7477_6F72_6B))
        nat = NATRouting(scenario)
    }

    mutating func run() throws(SimulationError) -> RunResult {
        try setUp()
        while let e = queue.pop() {
            if let stop = stopTime, e.time > stop { break }
            if queue.processed > eventBudget {
                throw SimulationError(
                    "scenario '\(scenario.name)' needs more than \(eventBudget) events; shorten it")
            }
            now = e.time
            process(e)
        }
        if let stop = stopTime { now = max(now, stop) }
        // The last interval ends when the run stops, so the series adds up to the totals.
        if series != nil, let last = series?.lastTime, Double(now) / 1e9 > last + 1e-9 { takeSample(at: now) }
        if endTime == nil {
            // Only a `duration` can stop a run before its workloads finish.
            endTime = now
            for (k, p) in scenario.observe.enumerated() where p == .end { takeSnapshot(k, at: now) }
        }
        return collect()
    }

    // MARK: setup

    mutating func setUp() throws(SimulationError) {
        for (k, h) in scenario.hosts.enumerated() {
            let seed = mix64(scenario.seed &+ UInt64(k + 1) &* 0x9E37_79B9_7F4A_7C15)
            stacks.append(
                HostStack(
                    profile: scenario.kernel, sysctls: h.sysctls, addresses: h.addresses,
                    uptime: h.uptime, seed: seed))
            for a in h.addresses { hostAddresses.append((a.value, k)) }
            timeWaitLanes.append(queue.addLane())
            timerLanes.append(TimerKind.allCases.map { _ in queue.addLane() })
        }
        networkLane = queue.addLane()
        loopbackLane = queue.addLane()
        for (k, h) in scenario.hosts.enumerated() {
            for l in h.listeners {
                let server = HTTPServer(id: UInt32(apps.count + 1), host: k, spec: l)
                switch stacks[k].listen(port: l.port, backlog: l.backlog, app: server.id) {
                case .success(let idx):
                    server.listener = idx
                    server.keepaliveLane = queue.addLane()
                case .failure(let e):
                    throw SimulationError("host '\(h.name)' cannot listen on port \(l.port): \(e.name)")
                }
                apps.append(server)
                servers.append(server)
            }
        }
        for (k, w) in scenario.workloads.enumerated() {
            guard let hostIndex = scenario.hosts.firstIndex(where: { $0.name == w.from }) else {
                throw SimulationError("workload '\(w.name)' runs on unknown host '\(w.from)'")
            }
            let id = UInt32(apps.count + 1)
            let wl: Workload & Application
            switch w.kind {
            case .curl(let c): wl = CurlClient(id: id, host: hostIndex, index: k, spec: w, curl: c)
            case .connect(let c): wl = ConnectClient(id: id, host: hostIndex, index: k, spec: w, connect: c)
            case .rate(let r): wl = RateClient(id: id, host: hostIndex, index: k, spec: w, rate: r)
            case .wrk(let r): wl = WrkClient(id: id, host: hostIndex, index: k, spec: w, wrk: r)
            case .synflood(let f):
                wl = SynFlooder(id: id, host: hostIndex, index: k, spec: w, flood: f, seed: scenario.seed)
            }
            apps.append(wl)
            workloads.append(wl)
            if case .at(let t) = w.start {
                queue.schedule(
                    Event(
                        time: t, seq: 0, kind: .startWorkload, timer: .retransmit, host: UInt16(hostIndex),
                        a: UInt32(k), b: 0))
            }
        }
        for (k, p) in scenario.observe.enumerated() {
            if case .at(let t) = p {
                queue.schedule(
                    Event(time: t, seq: 0, kind: .observe, timer: .retransmit, host: 0, a: UInt32(k), b: 0))
            }
        }
        if let d = scenario.duration { stopTime = d }
        if scenario.sampleEvery != nil {
            series = SeriesBuilder(
                hosts: scenario.hosts.map(\.name), workloads: scenario.workloads.map(\.name),
                baseline: scenario.hosts.map { _ in [:] },
                counterNames: Counter.allCases.map(\.nstatName), portGroups: scenario.seriesPortGroups)
            queue.schedule(Event(time: 0, seq: 0, kind: .sample, timer: .retransmit, host: 0, a: 0, b: 0))
        }
        if workloads.isEmpty { workloadsAllFinished() }
    }

    // MARK: events

    mutating func process(_ e: Event) {
        io.now = e.time
        var h = Int(e.host)
        switch e.kind {
        case .deliver:
            let seg = pool[Int(e.a)]
            freeSlots.append(e.a)
            stacks[h].receive(seg, now: e.time, out: &io.fx)
        case .tcpTimer:
            stacks[h].fire(
                TimerRequest(
                    time: e.time, kind: e.timer, index: e.a, generation: e.b, isTimeWaitLength: false),
                now: e.time, out: &io.fx)
        case .appTimer:
            let app = apps[Int(e.a) - 1]
            h = app.host
            app.timer(e.b, stack: &stacks[h], io: &io)
        case .startWorkload:
            startWorkload(Int(e.a))
            h = workloads[Int(e.a)].host
        case .observe:
            takeSnapshot(Int(e.a), at: e.time)
            return
        case .gateway:
            atGateway(h, slot: e.a, inbound: e.b == 1, now: e.time)
            return
        case .sample:
            takeSample(at: e.time)
            // Only while something else can still happen: a run whose workloads hang (pending)
            // ends when nothing but the sampler is left.
            if let p = scenario.sampleEvery, !queue.isEmpty {
                queue.schedule(
                    Event(time: e.time + p, seq: 0, kind: .sample, timer: .retransmit, host: 0, a: 0, b: 0))
            }
            return
        }
        drain(host: h)
    }

    mutating func startWorkload(_ k: Int) {
        workloads[k].start(stack: &stacks[workloads[k].host], io: &io)
    }

    /// Hands application events to their owners, flushes owed ACKs, and schedules what came out.
    mutating func drain(host h: Int) {
        var k = 0
        while k < io.fx.events.count {
            let ev = io.fx.events[k]
            k += 1
            apps[Int(ev.app) - 1].handle(ev, stack: &stacks[h], io: &io)
        }
        stacks[h].flushAcks(now: io.now, out: &io.fx)
        for seg in io.fx.segments { route(seg, from: h) }
        for t in io.fx.timers {
            let e = Event(
                time: t.time, seq: 0, kind: .tcpTimer, timer: t.kind, host: UInt16(h), a: t.index,
                b: t.generation)
            if t.isTimeWaitLength {
                queue.scheduleInLane(timeWaitLanes[h], e)
            } else {
                queue.scheduleInLaneIfOrdered(timerLanes[h][Int(t.kind.rawValue)], e)
            }
        }
        for (t, app, token, lane) in io.timers {
            let e = Event(time: t, seq: 0, kind: .appTimer, timer: .retransmit, host: 0, a: app, b: token)
            if lane >= 0 { queue.scheduleInLane(lane, e) } else { queue.schedule(e) }
        }
        io.fx.removeAll()
        if !io.timers.isEmpty { io.timers.removeAll(keepingCapacity: true) }
        if !io.finished.isEmpty {
            let finished = io.finished
            io.finished.removeAll(keepingCapacity: true)
            for w in finished { workloadFinished(w) }
        }
    }

    func host(owning a: IPv4Address) -> Int? {
        for (v, k) in hostAddresses where v == a.value { return k }
        return nil
    }

    mutating func route(_ seg: Segment, from h: Int) {
        if seg.dst.isLoopback {
            deliverLocally(seg, at: h)
            return
        }
        guard let d = host(owning: seg.dst) else { return }  // no route: dropped
        if d == h {
            deliverLocally(seg, at: h)
            return
        }
        switch nat.hop(from: h, to: d) {
        case .deliver: send(seg, to: d)
        case .gateway(let g, let inbound): send(seg, to: g, gateway: inbound ? 1 : 0)
        case .drop: break  // no route (the validator lets no workload need one)
        }
    }

    /// Puts `seg` on the wire toward host `dest` (or gateway `dest` when `gateway`), after
    /// the link delay, unless the link loses it.
    mutating func send(_ seg: Segment, to dest: Int, gateway direction: UInt32? = nil) {
        if scenario.network.loss > 0 && netRNG.unit() < scenario.network.loss { return }
        let slot = store(seg)
        // Every link has the same delay, so deliveries leave the lane in the order sent.
        queue.scheduleInLane(
            networkLane,
            Event(
                time: io.now + scenario.network.delay, seq: 0, kind: direction == nil ? .deliver : .gateway,
                timer: .retransmit, host: UInt16(dest), a: slot, b: direction ?? 0))
    }

    /// Keeps a segment in flight in the pool; events carry its slot.
    mutating func store(_ seg: Segment) -> UInt32 {
        if let s = freeSlots.popLast() {
            pool[Int(s)] = seg
            return s
        }
        pool.append(seg)
        return UInt32(pool.count - 1)
    }

    /// Loopback delivery within host `h`.
    mutating func deliverLocally(_ seg: Segment, at h: Int) {
        let slot = store(seg)
        queue.scheduleInLane(
            loopbackLane,
            Event(
                time: io.now + loopbackDelay, seq: 0, kind: .deliver, timer: .retransmit,
                host: UInt16(h), a: slot, b: 0))
    }

    // MARK: sequencing and observation

    mutating func workloadFinished(_ k: Int) {
        let name = scenario.workloads[k].name
        for (j, w) in scenario.workloads.enumerated() where w.start == .after(name) {
            queue.schedule(
                Event(
                    time: io.now, seq: 0, kind: .startWorkload, timer: .retransmit,
                    host: UInt16(workloads[j].host), a: UInt32(j), b: 0))
        }
        for (j, p) in scenario.observe.enumerated() where p == .after(name) {
            queue.schedule(
                Event(
                    time: io.now + observationLag, seq: 0, kind: .observe, timer: .retransmit, host: 0,
                    a: UInt32(j), b: 0))
        }
        if workloads.allSatisfy({ $0.finishedAt != nil }) { workloadsAllFinished() }
    }

    mutating func workloadsAllFinished() {
        guard endTime == nil else { return }
        endTime = io.now
        var stop = io.now + observationLag
        for (j, p) in scenario.observe.enumerated() {
            switch p {
            case .end:
                queue.schedule(
                    Event(
                        time: io.now + observationLag, seq: 0, kind: .observe, timer: .retransmit, host: 0,
                        a: UInt32(j), b: 0))
            case .at(let t): stop = max(stop, t)
            case .after: break
            }
        }
        if let d = scenario.duration { stop = min(stop, d) }
        stopTime = stop
    }

    mutating func takeSnapshot(_ k: Int, at t: Nanos) {
        let label = scenario.observe[k].label
        let hosts = scenario.hosts.indices.map { h -> HostSnapshot in
            let s = stacks[h].summary()
            return HostSnapshot(
                host: scenario.hosts[h].name, states: s.states.map { Outcome($0.name, $0.count) },
                listeners: s.listeners.map {
                    ListenerSnapshot(port: $0.port, recvQ: $0.recvQ, sendQ: $0.sendQ, synRecv: $0.synRecv)
                })
        }
        snapshots[label] = Snapshot(at: label, time: (Double(t) / 1e6).rounded() / 1e3, hosts: hosts)
    }

    /// One time-series sample of every host (states, ports per destination group, listener
    /// queues, counters) and every workload's outcomes so far.
    mutating func takeSample(at t: Nanos) {
        let hosts = scenario.hosts.indices.map { h -> SeriesBuilder.HostSample in
            let summary = stacks[h].summary()
            var ports: [String: Int] = [:]
            for g in stacks[h].portsHeld() {
                ports[
                    SeriesBuilder.portGroup(
                        source: "\(g.source)", destination: "\(g.destination)", port: Int(g.port))] =
                    g.count
            }
            var listeners: [Int: (backlog: Int, recvQ: Int, synRecv: Int)] = [:]
            for l in summary.listeners { listeners[l.port] = (l.sendQ, l.recvQ, l.synRecv) }
            var counters: [String: Int64] = [:]
            for c in stacks[h].counters.nonZero { counters[c.name] = c.value }
            return SeriesBuilder.HostSample(
                states: Dictionary(uniqueKeysWithValues: summary.states.map { ($0.name, $0.count) }),
                ports: ports,
                listeners: listeners, counters: counters)
        }
        var outcomes: [String: [String: Int]] = [:]
        for w in workloads {
            outcomes[w.spec.name] = Dictionary(
                uniqueKeysWithValues: w.recorder.outcomes.map { (Recorder.name($0.key), $0.value) })
        }
        series?.add(time: Double(t) / 1e9, hosts: hosts, outcomes: outcomes)
    }

    // MARK: result

    func collect() -> RunResult {
        let wls = workloads.map { w -> WorkloadResult in
            var rec = w.recorder
            if w.finishedAt == nil && w.inFlight > 0 {
                rec.outcomes[Recorder.pending, default: 0] += w.inFlight
            }
            let outcomes = rec.outcomes.map { Outcome(Recorder.name($0.key), $0.value) }.sorted {
                $0.key < $1.key
            }
            var latency: Latency? = nil
            if !rec.latencies.isEmpty {
                let sorted = rec.latencies.sorted()
                func pct(_ p: Double) -> Double {
                    let idx = min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
                    return (Double(sorted[idx]) / 1e3).rounded() / 1e3
                }
                latency = Latency(p50: pct(0.50), p99: pct(0.99))
            }
            let rounds = rec.rounds.map { Outcome(String($0.key), $0.value) }.sorted {
                Int($0.key)! < Int($1.key)!
            }
            return WorkloadResult(
                name: w.spec.name, attempts: rec.attempts, outcomes: outcomes, latency: latency,
                localPorts: rec.ports.sorted,
                rounds: (w.spec.kind.isConnect && rec.rounds.values.reduce(0, +) > 1) ? rounds : [],
                socketErrors: (w as? WrkClient).map { wrk in
                    zip(WorkloadResult.socketErrorClasses, wrk.errors).map { Outcome($0, $1) }
                } ?? [],
                timestampOffsets: WorkloadResult.distinctTimestampOffsets(Array(rec.tsOffsets)))
        }
        let snaps = scenario.observe.compactMap { snapshots[$0.label] }
        let counters = scenario.hosts.indices.map { h in
            HostCounters(
                host: scenario.hosts[h].name,
                values: (stacks[h].counters.nonZero.map { Outcome($0.name, Int($0.value)) }
                    + conntrackCounters(h).map { Outcome($0.name, $0.value) }).sorted { $0.key < $1.key })
        }
        return RunResult(
            scenario: scenario.name, engine: "simulator", kernel: scenario.kernel.name, workloads: wls,
            snapshots: snaps, counters: counters, series: series?.build() ?? Series())
    }
}

extension WorkloadKind {
    var isConnect: Bool {
        if case .connect = self { return true }
        return false
    }
}
