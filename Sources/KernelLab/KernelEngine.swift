import Glibc
import LinuxTCP
import Results
import Scenario

/// Runs a scenario on the real Linux kernel (design.md, `--engine kernel`).
///
/// It builds the scenario's hosts as network namespaces (``Lab``), applies each host's sysctls
/// inside its namespace, starts one ``Agent`` per host in its namespace (real sockets), drives
/// the workloads on the scenario's schedule, takes snapshots by sock_diag and counters from
/// /proc/net inside each namespace, and removes everything it created, on success, on error and
/// on Ctrl-C. Namespaces left by a killed run are removed by the next run (``Lab/cleanStale()``).
public struct KernelEngine: Sendable {
    /// How agents load the same scenario: a catalogue name or an absolute file path, plus `--set`s.
    public struct Source: Sendable {
        public var argument: String
        public var overrides: [String]
        public init(argument: String, overrides: [String]) {
            self.argument = argument
            self.overrides = overrides
        }
    }

    /// Called about twice a second while the run goes on (elapsed seconds, the running workloads).
    public typealias Progress = @Sendable (_ elapsed: Double, _ running: [String]) -> Void

    public init() {}

    /// Why the kernel engine cannot run `scenario` on any machine, only the simulator: a lossy
    /// network (it uses no netem); an older kernel profile (it runs this machine's kernel, which
    /// the newest profile models); hosts with different uptimes (namespaces share the machine's
    /// clock, so the TS clock bases `uptime:` sets cannot differ, TS-3). Nil when it can.
    public static func unsupported(_ scenario: Scenario) -> String? {
        if scenario.network.loss != 0 {
            return "network.loss needs netem, which the kernel engine does not use; run with loss 0"
        }
        if scenario.kernel.name != KernelProfile.newest.name {
            return
                "the scenario simulates kernel \(scenario.kernel.name); the kernel engine runs this machine's kernel (profile \(KernelProfile.newest.name)), so run it on the simulator"
        }
        if let a = scenario.hosts.first, let b = scenario.hosts.first(where: { $0.uptime != a.uptime }) {
            return
                "hosts '\(a.name)' and '\(b.name)' have different uptimes, but the kernel engine's namespaces share this machine's clock; run it on the simulator"
        }
        return nil
    }

    /// - Parameter sampleTimes: when to take time-series samples (seconds since the start);
    ///   the simulator's sample times, so that both engines' series line up.
    /// - Parameter deadline: stop by then (seconds), whatever is still running: a workload the
    ///   simulator leaves pending would otherwise keep a kernel run going for ever.
    public func run(
        _ scenario: Scenario, source: Source, progress: Progress? = nil, sampleTimes: [Double] = [],
        deadline: Double? = nil
    ) throws(LabError) -> RunResult {
        try Lab.preflight(scenario)
        Lab.cleanStale()
        let lab = Lab(hosts: scenario.hosts.map(\.name))
        SignalPipe.install()
        defer { SignalPipe.uninstall() }
        try lab.create(scenario)
        var session = Session(scenario: scenario, lab: lab, progress: progress)
        session.sampleTimes = sampleTimes
        session.deadline = deadline
        // Defers run last-first: stop the agents gracefully, then remove the namespaces.
        defer { lab.remove() }
        defer { session.shutDown() }
        try session.start(source)
        return try session.drive()
    }
}

/// Ctrl-C, SIGTERM and SIGHUP become a byte on a pipe that the run's poll loop watches, so the
/// run can clean up instead of dying with namespaces left behind.
enum SignalPipe {
    nonisolated(unsafe) static var fds: [Int32] = [-1, -1]

    static func install() {
        guard fds[0] < 0 else { return }
        var p: [Int32] = [0, 0]
        guard pipe(&p) == 0 else { return }
        for fd in p {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        fds = p
        // A dead agent must surface as an error on write, not kill twlab.
        signal(SIGPIPE, SIG_IGN)
        // A parent may have left these blocked (mask is inherited): they must reach us.
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { _ in
                var b: UInt8 = 1
                _ = write(SignalPipe.fds[1], &b, 1)
            }
        }
    }

    static func uninstall() {
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, SIG_DFL) }
    }
}

/// One kernel run in progress.
struct Session {
    let scenario: Scenario
    let lab: Lab
    let progress: KernelEngine.Progress?

    struct AgentRef {
        var host: String
        var child: ChildProcess
        var buffer: [UInt8] = []
        var open = true
    }
    var agents: [AgentRef] = []

    struct Tally {
        var outcomes: [String: Int] = [:]
        var latencies: [Double] = []
        var ports = Set<Int>()
        var tsOffsets = Set<UInt32>()
        var rounds: [Int: Int] = [:]
        var attempts = 0
        var socketErrors: [String: Int]? = nil
    }
    var tallies: [String: Tally] = [:]
    var ready: Set<String> = []
    /// Agents were told to stop: their end of output is expected, not an error.
    var stopping = false
    var started: Set<String> = []
    var finished: [String: Double] = [:]

    enum Action { case start(Int), observe(Int), sample(Int), stop }
    var sampleTimes: [Double] = []
    var deadline: Double? = nil
    /// Per sample id: its time and each workload's outcome totals when it was requested.
    var sampleRequests: [Int: (time: Double, outcomes: [String: [String: Int]])] = [:]
    var sampleReplies: [Int: [String: AgentSample]] = [:]
    var agenda: [(Double, Action)] = []
    var t0 = 0.0
    var endTime: Double? = nil
    var stopTime: Double? = nil

    var snapshotLabels: [Int: (String, Double)] = [:]
    var snapshotReplies: [Int: [String: (states: [String: Int], listeners: [AgentListener])]] = [:]
    var countersReplies: [Int: [String: [String: Int64]]] = [:]
    var nextID = 1

    init(scenario: Scenario, lab: Lab, progress: KernelEngine.Progress?) {
        self.scenario = scenario
        self.lab = lab
        self.progress = progress
    }

    /// Starts one agent per host inside its namespace and waits until all listen.
    mutating func start(_ source: KernelEngine.Source) throws(LabError) {
        let exe = selfExecutable()
        for h in scenario.hosts {
            var args = ["ip", "netns", "exec", lab.namespace(h.name), exe, "lab", "agent", "--host", h.name]
            for o in source.overrides { args += ["--set", o] }
            args.append(source.argument)
            // Its own process group: a terminal's Ctrl-C reaches twlab, which stops the agents.
            let child = try ChildProcess.spawn(args, mergeStderr: true, newProcessGroup: true)
            _ = fcntl(child.stdout, F_SETFL, fcntl(child.stdout, F_GETFL) | O_NONBLOCK)
            agents.append(AgentRef(host: h.name, child: child))
        }
        try pump(until: 15) { $0.ready.count == $0.scenario.hosts.count }
        guard ready.count == scenario.hosts.count else {
            throw LabError(
                "the agents did not start within 15 s (ready: \(ready.sorted().joined(separator: ", ")))")
        }
    }

    /// Runs the scenario: counters before, workloads on their schedule, snapshots, counters after.
    mutating func drive() throws(LabError) -> RunResult {
        let before = try collectCounters()
        t0 = Clock.now
        for (k, w) in scenario.workloads.enumerated() {
            if case .at(let t) = w.start { agenda.append((Double(t) / 1e9, .start(k))) }
        }
        for (k, p) in scenario.observe.enumerated() {
            if case .at(let t) = p { agenda.append((Double(t) / 1e9, .observe(k))) }
        }
        if let d = scenario.duration { stopTime = Double(d) / 1e9 }
        for (k, t) in sampleTimes.enumerated() { agenda.append((t, .sample(k))) }
        if let d = deadline { agenda.append((d, .stop)) }
        if scenario.workloads.isEmpty { allFinished(at: 0) }
        var lastProgress = 0.0
        while true {
            let now = Clock.now - t0
            agenda.sort { $0.0 < $1.0 }
            while let (t, action) = agenda.first, t <= now {
                agenda.removeFirst()
                try perform(action, at: now)
            }
            let awaited =
                snapshotLabels.keys.contains { (snapshotReplies[$0]?.count ?? 0) < agents.count }
                || sampleRequests.keys.contains { (sampleReplies[$0]?.count ?? 0) < agents.count }
            let lastSample = sampleTimes.last ?? 0
            if let stop = stopTime, now >= max(stop, lastSample), !awaited { break }
            if let p = progress, now - lastProgress >= 0.5 {
                lastProgress = now
                p(now, scenario.workloads.map(\.name).filter { started.contains($0) && finished[$0] == nil })
            }
            let next = min(agenda.first?.0 ?? .infinity, stopTime ?? .infinity, now + 0.5)
            let waitMs = Int32(max(0, min(500, (next - now) * 1000)).rounded(.up))
            for (event, host) in try readEvents(timeoutMs: waitMs) { handle(event, from: host) }
        }
        let after = try collectCounters()
        drainAgents()
        return assemble(before: before, after: after)
    }

    mutating func perform(_ action: Action, at now: Double) throws(LabError) {
        switch action {
        case .start(let k):
            let w = scenario.workloads[k]
            started.insert(w.name)
            if case .synflood = w.kind { try lab.dropInboundSynAcks(on: w.from) }
            try send(.start(workload: w.name), to: w.from)
        case .observe(let k):
            let id = nextID
            nextID += 1
            snapshotLabels[id] = (scenario.observe[k].label, now)
            for a in agents { try send(.snapshot(id: id), to: a.host) }
        case .sample(let k):
            let id = nextID
            nextID += 1
            sampleRequests[id] = (sampleTimes[k], tallies.mapValues(\.outcomes))
            for a in agents { try send(.sample(id: id), to: a.host) }
        case .stop:
            stopTime = min(stopTime ?? now, now)
        }
    }

    mutating func handle(_ event: AgentEvent, from host: String) {
        let now = Clock.now - t0
        switch event {
        case .attempt(let w, let outcome, let latency, let port, let tsOffset):
            tallies[w, default: Tally()].attempts += 1
            tallies[w, default: Tally()].outcomes[outcome, default: 0] += 1
            if let l = latency { tallies[w, default: Tally()].latencies.append(l) }
            if let p = port { tallies[w, default: Tally()].ports.insert(p) }
            if let o = tsOffset { tallies[w, default: Tally()].tsOffsets.insert(o) }
        case .socketErrors(let w, let errors):
            tallies[w, default: Tally()].socketErrors = errors
        case .round(let w, let n):
            tallies[w, default: Tally()].rounds[n, default: 0] += 1
        case .finished(let w):
            finished[w] = now
            for (j, x) in scenario.workloads.enumerated() where x.start == .after(w) {
                agenda.append((now, .start(j)))
            }
            for (j, p) in scenario.observe.enumerated() where p == .after(w) {
                agenda.append((now + 0.005, .observe(j)))
            }
            if finished.count == scenario.workloads.count { allFinished(at: now) }
        case .snapshot(let id, let states, let listeners):
            snapshotReplies[id, default: [:]][host] = (states, listeners)
        case .counters(let id, let values):
            countersReplies[id, default: [:]][host] = values
        case .sample(let id, let sample):
            sampleReplies[id, default: [:]][host] = sample
        case .ready(let h):
            ready.insert(h)
        case .failure:
            break
        }
    }

    /// `end` is when the last workload finishes; its snapshot is taken 5 ms later, as the
    /// simulator does (a script's `ss` right after its loop).
    mutating func allFinished(at now: Double) {
        guard endTime == nil else { return }
        endTime = now
        var stop = now + 0.005
        for (j, p) in scenario.observe.enumerated() {
            switch p {
            case .end: agenda.append((now + 0.005, .observe(j)))
            case .at(let t): stop = max(stop, Double(t) / 1e9)
            case .after: break
            }
        }
        if let d = scenario.duration { stop = min(stop, Double(d) / 1e9) }
        stopTime = stop + 0.001
    }

    /// A wrk workload's error classes in wrk's order; empty for other kinds.
    func socketErrors(_ w: WorkloadSpec, _ t: Tally) -> [Outcome] {
        guard case .wrk = w.kind else { return [] }
        return WorkloadResult.socketErrorClasses.map { Outcome($0, t.socketErrors?[$0] ?? 0) }
    }

    mutating func collectCounters() throws(LabError) -> [String: [String: Int64]] {
        let id = nextID
        nextID += 1
        for a in agents { try send(.counters(id: id), to: a.host) }
        try pump(until: 10) { $0.countersReplies[id]?.count == $0.agents.count }
        guard let r = countersReplies[id], r.count == agents.count else {
            throw LabError("the agents did not report their counters")
        }
        return r
    }

    // MARK: agent I/O

    mutating func send(_ command: AgentCommand, to host: String) throws(LabError) {
        guard let a = agents.first(where: { $0.host == host }) else {
            throw LabError("no agent for host \(host)")
        }
        var line = Array((AgentWire.line(command) + "\n").utf8)
        var off = 0
        while off < line.count {
            let n = line.withUnsafeMutableBytes {
                write(a.child.stdin, $0.baseAddress! + off, $0.count - off)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw LabError("the agent for host \(host) is gone (\(String(cString: strerror(errno))))")
            }
            off += n
        }
    }

    /// Reads the agents' lines for up to `timeoutMs`; a signal (Ctrl-C) ends the run.
    mutating func readEvents(timeoutMs: Int32) throws(LabError) -> [(AgentEvent, String)] {
        var fds = agents.filter(\.open).map { pollfd(fd: $0.child.stdout, events: Int16(POLLIN), revents: 0) }
        fds.append(pollfd(fd: SignalPipe.fds[0], events: Int16(POLLIN), revents: 0))
        let r = poll(&fds, nfds_t(fds.count), timeoutMs)
        if r < 0 && errno == EINTR { return [] }
        if fds.last!.revents != 0 { throw LabError.interrupted }
        var events: [(AgentEvent, String)] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        for k in agents.indices where agents[k].open {
            while true {
                let n = read(agents[k].child.stdout, &buf, buf.count)
                if n > 0 {
                    agents[k].buffer.append(contentsOf: buf[0..<n])
                    continue
                }
                if n == 0 {
                    agents[k].open = false
                    if stopping { break }
                    throw LabError("the agent for host \(agents[k].host) exited: \(tail(agents[k].buffer))")
                }
                break  // EAGAIN
            }
            while let nl = agents[k].buffer.firstIndex(of: 10) {
                let line = String(decoding: agents[k].buffer[..<nl], as: UTF8.self)
                agents[k].buffer.removeSubrange(...nl)
                guard let event = AgentWire.event(line) else {
                    throw LabError("host \(agents[k].host): unexpected agent output: \(line.prefix(200))")
                }
                if case .failure(let m) = event { throw LabError("host \(agents[k].host): \(m)") }
                events.append((event, agents[k].host))
            }
        }
        return events
    }

    /// Handles events until `done` holds or `seconds` pass.
    mutating func pump(until seconds: Double, _ done: (Session) -> Bool) throws(LabError) {
        let deadline = Clock.now + seconds
        while !done(self) && Clock.now < deadline {
            for (e, h) in try readEvents(timeoutMs: 100) { handle(e, from: h) }
        }
    }

    func tail(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.suffix(400), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).last.map(String.init) ?? "no output"
    }

    /// Stops the agents and reads what they still say: each workload reports its attempts still
    /// in flight as "pending" (a run stopped by `duration`), as the simulator does.
    mutating func drainAgents() {
        stopping = true
        for a in agents where a.open { try? send(.stop, to: a.host) }
        let deadline = Clock.now + 5
        while agents.contains(where: \.open) && Clock.now < deadline {
            guard let events = try? readEvents(timeoutMs: 100) else { break }
            for (e, h) in events { handle(e, from: h) }
        }
    }

    /// Tells every agent to stop, waits briefly, then ends any that did not (by pid).
    mutating func shutDown() {
        for a in agents where a.open { try? send(.stop, to: a.host) }
        for a in agents {
            close(a.child.stdin)
            if a.child.wait(seconds: 3) == nil {
                kill(a.child.pid, SIGKILL)
                a.child.wait()
            }
            close(a.child.stdout)
        }
        agents.removeAll()
    }

    // MARK: result

    mutating func assemble(before: [String: [String: Int64]], after: [String: [String: Int64]]) -> RunResult {
        let workloads = scenario.workloads.map { w -> WorkloadResult in
            let t = tallies[w.name] ?? Tally()
            var latency: Latency? = nil
            if !t.latencies.isEmpty {
                let s = t.latencies.sorted()
                func pct(_ p: Double) -> Double {
                    let i = min(s.count - 1, max(0, Int((p * Double(s.count)).rounded(.up)) - 1))
                    return (s[i] * 1000).rounded() / 1000
                }
                latency = Latency(p50: pct(0.5), p99: pct(0.99))
            }
            var isConnect = false
            if case .connect = w.kind { isConnect = true }
            return WorkloadResult(
                name: w.name, attempts: t.attempts,
                outcomes: t.outcomes.map { Outcome($0.key, $0.value) }.sorted { $0.key < $1.key },
                latency: latency,
                localPorts: t.ports.sorted(),
                rounds: isConnect && t.rounds.values.reduce(0, +) > 1
                    ? t.rounds.sorted { $0.key < $1.key }.map { Outcome(String($0.key), $0.value) } : [],
                socketErrors: socketErrors(w, t),
                timestampOffsets: WorkloadResult.distinctTimestampOffsets(Array(t.tsOffsets)))
        }
        let snapshots = snapshotLabels.sorted { $0.key < $1.key }.compactMap { id, v -> Snapshot? in
            guard let replies = snapshotReplies[id] else { return nil }
            let hosts = scenario.hosts.map { h -> HostSnapshot in
                let r = replies[h.name]
                let states = ssStateOrder.compactMap { s -> Outcome? in
                    guard let c = r?.states[s], c > 0 else { return nil }
                    return Outcome(s, c)
                }
                return HostSnapshot(host: h.name, states: states, listeners: r?.listeners ?? [])
            }
            return Snapshot(at: v.0, time: (v.1 * 1000).rounded() / 1000, hosts: hosts)
        }
        let ordered = scenario.observe.compactMap { p in snapshots.first { $0.at == p.label } }
        let counters = scenario.hosts.map { h -> HostCounters in
            let b = before[h.name] ?? [:]
            let a = after[h.name] ?? [:]
            let deltas = a.compactMap { k, v -> Outcome? in
                // nstat's Tcp and TcpExt counters; a NAT gateway's conntrack statistics too.
                guard k.hasPrefix("Tcp") || k.hasPrefix("Conntrack"), v - (b[k] ?? 0) != 0 else { return nil }
                return Outcome(k, Int(v - (b[k] ?? 0)))
            }
            return HostCounters(host: h.name, values: deltas.sorted { $0.key < $1.key })
        }
        var builder = SeriesBuilder(
            hosts: scenario.hosts.map(\.name), workloads: scenario.workloads.map(\.name),
            baseline: scenario.hosts.map { before[$0.name] ?? [:] },
            counterNames: Counter.allCases.map(\.nstatName), portGroups: scenario.seriesPortGroups)
        for (id, request) in sampleRequests.sorted(by: { $0.key < $1.key }) {
            guard let replies = sampleReplies[id] else { continue }
            let hosts = scenario.hosts.map { h -> SeriesBuilder.HostSample in
                let s = replies[h.name] ?? AgentSample(states: [:], ports: [:], listeners: [], counters: [:])
                var listeners: [Int: (backlog: Int, recvQ: Int, synRecv: Int)] = [:]
                for l in s.listeners { listeners[l.port] = (l.sendQ, l.recvQ, l.synRecv) }
                return SeriesBuilder.HostSample(
                    states: s.states, ports: s.ports, listeners: listeners,
                    counters: s.counters.filter { $0.key.hasPrefix("Tcp") })
            }
            builder.add(time: request.time, hosts: hosts, outcomes: request.outcomes)
        }
        return RunResult(
            scenario: scenario.name, engine: "kernel", kernel: kernelRelease(), workloads: workloads,
            snapshots: ordered, counters: counters, series: builder.build())
    }
}

extension LabError {
    /// The run was stopped by Ctrl-C (or SIGTERM/SIGHUP); everything was cleaned up.
    public static let interrupted = LabError("interrupted; the namespaces were removed")
    public var wasInterrupted: Bool { message == LabError.interrupted.message }
}

/// The running kernel's release, as `uname -r` prints it.
public func kernelRelease() -> String {
    var u = utsname()
    uname(&u)
    return withUnsafePointer(to: u.release) {
        $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
    }
}

/// This executable's path, so agents run the very same binary.
func selfExecutable() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    return n > 0 ? String(cString: buf) : CommandLine.arguments[0]
}
