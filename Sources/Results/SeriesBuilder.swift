/// Builds a ``Series`` from raw samples, the same way for both engines: counters and outcomes
/// arrive as running totals and leave as deltas per interval. States, counters and port groups
/// are fixed key sets (every ss state; the model's counters; the scenario's destination groups),
/// so both engines' series have the same keys whatever timing catches; outcomes have the keys
/// that occurred.
public struct SeriesBuilder: Sendable {
    /// One host at one sample, as observed.
    public struct HostSample: Sendable {
        public var states: [String: Int]
        /// Ports held per "SRC>DST:PORT" group.
        public var ports: [String: Int]
        /// Listener port -> (backlog, Recv-Q, SYN-RECV).
        public var listeners: [Int: (backlog: Int, recvQ: Int, synRecv: Int)]
        /// Absolute counter values.
        public var counters: [String: Int64]

        public init(
            states: [String: Int], ports: [String: Int],
            listeners: [Int: (backlog: Int, recvQ: Int, synRecv: Int)],
            counters: [String: Int64]
        ) {
            self.states = states
            self.ports = ports
            self.listeners = listeners
            self.counters = counters
        }
    }

    let hosts: [String]
    let workloads: [String]
    /// Counters sampled, nstat names.
    let counterNames: [String]
    /// Per host, the destination groups to report ports for.
    let portGroups: [[String]]
    /// Counter values at the start of the run, per host (the first interval's baseline).
    let baseline: [[String: Int64]]
    var times: [Double] = []
    var samples: [[HostSample]] = []
    var outcomeTotals: [[String: [String: Int]]] = []

    /// The time of the latest sample.
    public var lastTime: Double? { times.last }

    public init(
        hosts: [String], workloads: [String], baseline: [[String: Int64]], counterNames: [String],
        portGroups: [[String]]
    ) {
        self.hosts = hosts
        self.workloads = workloads
        self.counterNames = counterNames
        self.portGroups = portGroups
        self.baseline = baseline
    }

    /// Adds the sample taken at `time` s: each host's observation in `hosts` order, and each
    /// workload's outcome totals so far.
    public mutating func add(time: Double, hosts: [HostSample], outcomes: [String: [String: Int]]) {
        times.append((time * 1e6).rounded() / 1e6)
        samples.append(hosts)
        outcomeTotals.append(outcomes)
    }

    public func build() -> Series {
        guard !times.isEmpty else { return Series() }
        var hostSeries: [HostSeries] = []
        for (h, name) in hosts.enumerated() {
            let column = samples.map { $0[h] }
            let states = ssStateOrder.map { s in NamedSeries(s, column.map { $0.states[s] ?? 0 }) }
            let portNames = h < portGroups.count ? portGroups[h] : []
            let ports = portNames.map { p in NamedSeries(p, column.map { $0.ports[p] ?? 0 }) }
            let listenerPorts = Set(column.flatMap(\.listeners.keys)).sorted()
            let listeners = listenerPorts.map { port -> ListenerSeries in
                let backlog = column.compactMap { $0.listeners[port]?.backlog }.first ?? 0
                return ListenerSeries(
                    port: port, backlog: backlog, recvQ: column.map { $0.listeners[port]?.recvQ ?? 0 },
                    synRecv: column.map { $0.listeners[port]?.synRecv ?? 0 })
            }
            let base = h < baseline.count ? baseline[h] : [:]
            var counters: [NamedSeries] = []
            for c in counterNames.sorted() {
                var previous = base[c] ?? 0
                var deltas: [Int] = []
                for s in column {
                    let v = s.counters[c] ?? previous
                    deltas.append(Int(v - previous))
                    previous = v
                }
                counters.append(NamedSeries(c, deltas))
            }
            hostSeries.append(
                HostSeries(host: name, states: states, ports: ports, listeners: listeners, counters: counters)
            )
        }
        let workloadSeries = workloads.map { w -> WorkloadSeries in
            let keys = Set(outcomeTotals.flatMap { ($0[w] ?? [:]).keys }).sorted()
            let outcomes = keys.map { k -> NamedSeries in
                var previous = 0
                var deltas: [Int] = []
                for totals in outcomeTotals {
                    let v = totals[w]?[k] ?? previous
                    deltas.append(v - previous)
                    previous = v
                }
                return NamedSeries(k, deltas)
            }
            return WorkloadSeries(workload: w, outcomes: outcomes)
        }
        return Series(time: times, hosts: hostSeries, workloads: workloadSeries)
    }

    /// The name of a destination group in ``HostSeries/ports``.
    public static func portGroup(source: String, destination: String, port: Int) -> String {
        "\(source)>\(destination):\(port)"
    }
}
