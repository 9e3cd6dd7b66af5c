/// What one run of a scenario produced, on either engine: the contract of design.md that
/// `--json`, `compare` and every check read.
///
/// Collections are arrays in a fixed order (scenario order for workloads and hosts, sorted
/// names for states and counters) so that rendering never depends on dictionary order.
public struct RunResult: Sendable, Equatable {
    public var scenario: String
    /// "simulator" or "kernel".
    public var engine: String
    /// The kernel profile (simulator) or release (kernel engine).
    public var kernel: String
    public var workloads: [WorkloadResult]
    public var snapshots: [Snapshot]
    /// Counter deltas over the run, per host, `nstat` names.
    public var counters: [HostCounters]
    public var series: Series

    public init(
        scenario: String, engine: String, kernel: String, workloads: [WorkloadResult] = [],
        snapshots: [Snapshot] = [], counters: [HostCounters] = [], series: Series = Series()
    ) {
        self.scenario = scenario
        self.engine = engine
        self.kernel = kernel
        self.workloads = workloads
        self.snapshots = snapshots
        self.counters = counters
        self.series = series
    }

    public func workload(_ name: String) -> WorkloadResult? { workloads.first { $0.name == name } }
    public func snapshot(_ label: String) -> Snapshot? { snapshots.first { $0.at == label } }
    public func counters(of host: String) -> HostCounters? { counters.first { $0.host == host } }
}

/// One workload's attempts and what each ended as.
public struct WorkloadResult: Sendable, Equatable {
    public var name: String
    public var attempts: Int
    /// Outcome key -> count: an HTTP status ("404"), "connected" for a plain connect, or the
    /// errno name the client saw ("EADDRNOTAVAIL"); "pending" when the run stopped first.
    public var outcomes: [Outcome]
    /// Latency of the successful attempts, connect() to the last response byte (or to the
    /// connection for `connect`); nil when none succeeded.
    public var latency: Latency?
    /// Distinct local ports of the successful attempts, ascending (extension of design.md).
    public var localPorts: [Int]
    /// For `connect` with `rounds`: number of rounds by successes per round (extension).
    public var rounds: [Outcome]
    /// For `wrk`: its "Socket errors" line, keys connect, read, write and timeout in that
    /// order (extension of design.md).
    public var socketErrors: [Outcome]
    /// Distinct TCP timestamp offsets among the successful connections that negotiated
    /// timestamps (see ``distinctTimestampOffsets(_:)``); 0 when none did (extension of
    /// design.md). It tells whether a host's connections look like one clock to a peer or
    /// to PAWS behind a NAT (TS-3, lab-notes x1): 1 with `tcp_timestamps=2`, one per 4-tuple
    /// on 6.18.
    public var timestampOffsets: Int

    public init(
        name: String, attempts: Int, outcomes: [Outcome], latency: Latency? = nil, localPorts: [Int] = [],
        rounds: [Outcome] = [], socketErrors: [Outcome] = [], timestampOffsets: Int = 0
    ) {
        self.name = name
        self.attempts = attempts
        self.outcomes = outcomes
        self.latency = latency
        self.localPorts = localPorts
        self.rounds = rounds
        self.socketErrors = socketErrors
        self.timestampOffsets = timestampOffsets
    }

    /// wrk's error classes, in the order wrk prints them.
    public static let socketErrorClasses = ["connect", "read", "write", "timeout"]

    /// How far apart (in timestamp clock ticks, ms on 6.x) two measured offsets may be and still
    /// count as one. The kernel engine measures an offset as `TCP_TIMESTAMP` minus
    /// CLOCK_MONOTONIC in ms, which is exact to about 1 ms; random 32-bit offsets fall this
    /// close with a chance of about 2^-26 per pair.
    public static let timestampOffsetTolerance: UInt32 = 16

    /// The number of distinct offsets among `offsets` (32-bit, modular): offsets within
    /// ``timestampOffsetTolerance`` of a neighbour on the circle of 2^32 count as one, so that
    /// 0 and 2^32 - 1 (offset 0 measured a tick late or early) are one offset.
    ///
    /// - Complexity: O(n log n).
    public static func distinctTimestampOffsets(_ offsets: [UInt32]) -> Int {
        let sorted = offsets.sorted()
        guard let first = sorted.first, let last = sorted.last else { return 0 }
        var gaps = zip(sorted, sorted.dropFirst()).filter { $1 &- $0 > timestampOffsetTolerance }.count
        if first &- last > timestampOffsetTolerance { gaps += 1 }  // across the wrap
        return max(1, gaps)
    }

    /// The count for one outcome key, 0 when absent.
    public func count(_ key: String) -> Int { outcomes.first { $0.key == key }?.count ?? 0 }
}

/// A key and how many times it happened.
public struct Outcome: Sendable, Equatable {
    public var key: String
    public var count: Int
    public init(_ key: String, _ count: Int) {
        self.key = key
        self.count = count
    }
}

/// Latency percentiles in milliseconds.
public struct Latency: Sendable, Equatable {
    public var p50: Double
    public var p99: Double
    public init(p50: Double, p99: Double) {
        self.p50 = p50
        self.p99 = p99
    }
}

/// Every host's sockets at one moment.
public struct Snapshot: Sendable, Equatable {
    /// "end" or the time as written in the scenario ("65s").
    public var at: String
    public var time: Double
    public var hosts: [HostSnapshot]
    public init(at: String, time: Double, hosts: [HostSnapshot]) {
        self.at = at
        self.time = time
        self.hosts = hosts
    }
    public func host(_ name: String) -> HostSnapshot? { hosts.first { $0.host == name } }
}

/// One host's socket states (ss names, zero counts left out) and listeners.
public struct HostSnapshot: Sendable, Equatable {
    public var host: String
    /// ss state name -> count, in the order ss lists states.
    public var states: [Outcome]
    public var listeners: [ListenerSnapshot]
    public init(host: String, states: [Outcome], listeners: [ListenerSnapshot]) {
        self.host = host
        self.states = states
        self.listeners = listeners
    }
    public func count(_ state: String) -> Int { states.first { $0.key == state }?.count ?? 0 }
}

/// What `ss -lnt` shows for a listener: Recv-Q (accept queue) and Send-Q (backlog) (LQ-3),
/// plus its SYN queue: the request socks `ss -nt state syn-recv sport = :PORT` lists (LQ-4).
/// `syn_recv` extends design.md's listener object compatibly.
public struct ListenerSnapshot: Sendable, Equatable, Codable {
    public var port: Int
    public var recvQ: Int
    public var sendQ: Int
    public var synRecv: Int
    public init(port: Int, recvQ: Int, sendQ: Int, synRecv: Int = 0) {
        self.port = port
        self.recvQ = recvQ
        self.sendQ = sendQ
        self.synRecv = synRecv
    }
}

/// One host's counter deltas, sorted by name, zero deltas left out.
public struct HostCounters: Sendable, Equatable {
    public var host: String
    public var values: [Outcome]
    public init(host: String, values: [Outcome]) {
        self.host = host
        self.values = values
    }
    public func value(_ name: String) -> Int { values.first { $0.key == name }?.count ?? 0 }
}

/// Time series sampled every `sample_every` (empty when the scenario asks for none): both
/// engines sample at the same times (seconds since the start), with the same keys.
public struct Series: Sendable, Equatable {
    /// Sample times in seconds since the start of the run.
    public var time: [Double]
    /// Per host, in scenario order.
    public var hosts: [HostSeries]
    /// Per workload, in scenario order: outcomes in each interval (ending at each sample).
    public var workloads: [WorkloadSeries]

    public init(time: [Double] = [], hosts: [HostSeries] = [], workloads: [WorkloadSeries] = []) {
        self.time = time
        self.hosts = hosts
        self.workloads = workloads
    }

    public var isEmpty: Bool { time.isEmpty }
}

/// One named series of integer samples, aligned with ``Series/time``.
public struct NamedSeries: Sendable, Equatable {
    public var name: String
    public var values: [Int]
    public init(_ name: String, _ values: [Int]) {
        self.name = name
        self.values = values
    }
}

/// One host's samples.
public struct HostSeries: Sendable, Equatable {
    public var host: String
    /// ss state name -> count at each sample (states never seen are left out), in ss order.
    public var states: [NamedSeries]
    /// Ports held (connected or TIME-WAIT) per outbound destination group, named
    /// "SRC>DST:PORT" (EP-6: the unit of exhaustion), sorted by name.
    public var ports: [NamedSeries]
    /// Per listener port: accept queue (Recv-Q) and SYN-RECV at each sample, sorted by port.
    public var listeners: [ListenerSeries]
    /// Counter deltas over each interval, nstat names, counters that never moved left out.
    public var counters: [NamedSeries]

    public init(
        host: String, states: [NamedSeries] = [], ports: [NamedSeries] = [], listeners: [ListenerSeries] = [],
        counters: [NamedSeries] = []
    ) {
        self.host = host
        self.states = states
        self.ports = ports
        self.listeners = listeners
        self.counters = counters
    }
}

/// One listener's queues over time.
public struct ListenerSeries: Sendable, Equatable {
    public var port: Int
    /// The listen() backlog after the somaxconn clamp (the accept queue's limit is this + 1).
    public var backlog: Int
    public var recvQ: [Int]
    public var synRecv: [Int]
    public init(port: Int, backlog: Int, recvQ: [Int], synRecv: [Int]) {
        self.port = port
        self.backlog = backlog
        self.recvQ = recvQ
        self.synRecv = synRecv
    }
}

/// One workload's outcomes per interval.
public struct WorkloadSeries: Sendable, Equatable {
    public var workload: String
    /// Outcome key -> count in each interval, sorted by key.
    public var outcomes: [NamedSeries]
    public init(workload: String, outcomes: [NamedSeries]) {
        self.workload = workload
        self.outcomes = outcomes
    }
}

/// The ss state names in the order `ss` and the reports list them.
public let ssStateOrder = [
    "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK",
    "CLOSING", "LISTEN",
]
