import Glibc
import LinuxTCP
import Scenario

/// How an agent observes its namespace (injected: the engine wires HostInspect; tests may fake it).
public protocol AgentObserver: Sendable {
    func snapshot() -> (states: [String: Int], listeners: [AgentListener])
    func counters() -> [String: Int64]
    /// A time-series sample; `portRange` is the host's ip_local_port_range.
    func sample(portRange: ClosedRange<Int>) -> AgentSample
    /// Conntrack's statistics ("ConntrackInsertFailed", ...), read on NAT gateways only.
    func conntrackCounters() -> [String: Int64]
}

extension AgentObserver {
    /// Without a socket dump: states, listener queues and counters only.
    public func sample(portRange: ClosedRange<Int>) -> AgentSample {
        let s = snapshot()
        return AgentSample(states: s.states, ports: [:], listeners: s.listeners, counters: counters())
    }

    public func conntrackCounters() -> [String: Int64] { [:] }
}

/// The in-namespace agent: one scenario host's listeners and workloads with real sockets,
/// driven by ``AgentCommand`` lines and reporting ``AgentEvent`` lines (see AgentProtocol.swift).
///
/// Threads: the caller's thread reads commands; one thread runs every listener of the host in a
/// poll loop (``AgentServer``); each started workload runs on its own thread. A stop pipe wakes
/// every loop at once on `stop` or end of input.
public enum Agent {
    /// Runs `host`'s listeners and workloads of `scenario` with real sockets. Reads AgentCommand
    /// lines from `input` (a file descriptor), writes AgentEvent lines to `output` (each line
    /// written with one write(2), so lines never interleave), until `stop` or EOF on input.
    /// Sends `.ready(host:)` once every listener of the host is listening. Returns the process
    /// exit status (0 normal, 1 when the listeners could not be opened, 2 for an unknown host).
    public static func run(
        scenario: Scenario, host: String, input: Int32, output: Int32, observer: some AgentObserver
    ) -> Int32 {
        // A closed peer must give EPIPE, not kill the agent; MSG_NOSIGNAL covers sockets.
        signal(SIGPIPE, SIG_IGN)
        POSIXSocket.raiseFileLimit()
        let writer = AgentLineWriter(fd: output)
        guard let hostSpec = scenario.host(named: host) else {
            let names = scenario.hosts.map(\.name).joined(separator: ", ")
            writer.send(
                .failure(message: "agent: no host '\(host)' in scenario '\(scenario.name)' (hosts: \(names))")
            )
            return 2
        }
        guard let stop = AgentStopSignal() else {
            writer.send(.failure(message: "agent \(host): pipe(): \(POSIXErrno.name(errno))"))
            return 1
        }
        var threads: [pthread_t] = []
        defer {
            stop.trigger()
            for t in threads { POSIXThread.join(t) }
            stop.dispose()
        }

        let server = AgentServer(listeners: hostSpec.listeners, stop: stop)
        if let message = server.open() {
            server.closeAll()
            writer.send(.failure(message: "agent \(host): \(message)"))
            return 1
        }
        if !hostSpec.listeners.isEmpty {
            guard let t = POSIXThread.spawn({ server.run() }) else {
                server.closeAll()
                writer.send(.failure(message: "agent \(host): cannot start the server thread"))
                return 1
            }
            threads.append(t)
        }
        writer.send(.ready(host: host))

        var commands = AgentCommandReader(fd: input)
        var started: Set<String> = []
        while let line = commands.next() {
            guard let command = AgentWire.command(line) else {
                writer.send(.failure(message: "agent \(host): not a command: \(line.prefix(200))"))
                continue
            }
            switch command {
            case .start(let name):
                switch workload(name, of: scenario, host: host, started: started) {
                case .failure(let e):
                    writer.send(.failure(message: "agent \(host): \(e.message)"))
                case .success(let w):
                    started.insert(name)
                    let source = scenario.host(named: host)?.addresses.first ?? IPv4Address(0)
                    guard
                        let t = POSIXThread.spawn({
                            runWorkload(w, source: source, writer: writer, stop: stop)
                        })
                    else {
                        writer.send(.failure(message: "agent \(host): cannot start a thread for '\(name)'"))
                        continue
                    }
                    threads.append(t)
                }
            case .snapshot(let id):
                let s = observer.snapshot()
                writer.send(.snapshot(id: id, states: s.states, listeners: s.listeners))
            case .counters(let id):
                var values = observer.counters()
                if hostSpec.nat != nil { values.merge(observer.conntrackCounters()) { a, _ in a } }
                writer.send(.counters(id: id, values: values))
            case .sample(let id):
                let s = scenario.host(named: host)?.sysctls
                let range = Int(s?.portRangeLow ?? 32768)...Int(s?.portRangeHigh ?? 60999)
                writer.send(.sample(id: id, sample: observer.sample(portRange: range)))
            case .stop:
                return 0
            }
        }
        return 0
    }

    struct CommandError: Error {
        var message: String
    }

    /// The workload `name` if this host may start it now.
    static func workload(_ name: String, of scenario: Scenario, host: String, started: Set<String>)
        -> Result<WorkloadSpec, CommandError>
    {
        guard let w = scenario.workloads.first(where: { $0.name == name }) else {
            let names = scenario.workloads.filter { $0.from == host }.map(\.name).joined(separator: ", ")
            return .failure(CommandError(message: "unknown workload '\(name)' (this host's: \(names))"))
        }
        guard w.from == host else {
            return .failure(
                CommandError(message: "workload '\(name)' runs on host '\(w.from)', not '\(host)'"))
        }
        guard !started.contains(name) else {
            return .failure(CommandError(message: "workload '\(name)' was already started"))
        }
        return .success(w)
    }

    static func runWorkload(
        _ w: WorkloadSpec, source: IPv4Address, writer: AgentLineWriter, stop: AgentStopSignal
    ) {
        switch w.kind {
        case .curl(let c):
            AgentCurl(name: w.name, to: w.to, curl: c, writer: writer, stop: stop).run()
        case .connect(let c):
            AgentConnect(name: w.name, to: w.to, spec: c, writer: writer, stop: stop).run()
        case .rate(let r):
            AgentRate(name: w.name, to: w.to, spec: r, writer: writer, stop: stop).run()
        case .wrk(let k):
            AgentWrk(name: w.name, to: w.to, spec: k, writer: writer, stop: stop).run()
        case .synflood(let f):
            AgentSynFlood(name: w.name, source: source, to: w.to, spec: f, writer: writer, stop: stop).run()
        }
    }
}

/// Splits the bytes of a file descriptor into lines (without the newline; a last line without
/// one counts); nil at end of input or on a read error.
struct AgentCommandReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var eof = false

    init(fd: Int32) { self.fd = fd }

    mutating func next() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeFirst(nl + 1)
                let trimmed = line.hasSuffix("\r") ? String(line.dropLast()) : line
                if trimmed.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                return trimmed
            }
            if eof {
                guard !buffer.isEmpty else { return nil }
                let line = String(decoding: buffer, as: UTF8.self)
                buffer.removeAll()
                if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { return nil }
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                eof = true
            } else {
                buffer.append(contentsOf: chunk[0..<n])
            }
        }
    }
}
