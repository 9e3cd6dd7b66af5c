import HostInspect
import Prometheus

/// One namespace's part of a scrape: its inspection, or why it could not be read.
public struct NamespaceReading: Sendable {
    /// The `netns` label: the namespace's name under `/run/netns`, `""` for the exporter's own.
    public var netns: String
    public var inspection: Result<Inspection, InspectError>
    /// How long reading and analysing it took.
    public var seconds: Double

    public init(netns: String, inspection: Result<Inspection, InspectError>, seconds: Double) {
        self.netns = netns
        self.inspection = inspection
        self.seconds = seconds
    }
}

/// The Prometheus text exposition of inspections: every metric named `twlab_...`, with a
/// `netns` label, help text, gauges for what is a level now and counters (`_total`) for the
/// kernel's own counters, which Prometheus `rate()`s itself.
///
/// Label cardinality is bounded: at most `top` destinations and `maxListeners` listeners per
/// namespace (riskiest first), whatever the host holds.
public enum Metrics {
    /// The most listeners exported per namespace (fullest accept queue first).
    public static let maxListeners = 64

    /// A fresh registry filled from `readings` and emitted: nothing is kept between scrapes, so
    /// a destination that went away does not linger, and concurrent scrapes share no state.
    public static func exposition(_ readings: [NamespaceReading]) -> String {
        let registry = PrometheusCollectorRegistry()
        for reading in readings { add(reading, to: registry) }
        return registry.emitToString()
    }

    static func add(_ reading: NamespaceReading, to registry: PrometheusCollectorRegistry) {
        let ns = ("netns", reading.netns)
        registry.makeGauge(
            name: "twlab_scrape_duration_seconds", labels: [ns],
            help: "Time taken to read and analyse this namespace's sockets, counters and sysctls."
        ).set(reading.seconds)
        let up = registry.makeGauge(
            name: "twlab_up", labels: [ns], help: "1 if the namespace could be read, 0 if not.")
        guard case .success(let i) = reading.inspection else {
            up.set(Int64(0))
            return
        }
        up.set(Int64(1))

        for (state, count) in i.states.sorted(by: { $0.key < $1.key }) {
            registry.makeGauge(
                name: "twlab_sockets", labels: [ns, ("state", state)],
                help: "TCP sockets by ss state name (request sockets count as SYN-RECV)."
            ).set(Int64(count))
        }

        registry.makeGauge(
            name: "twlab_ephemeral_ports_usable", labels: [ns],
            help:
                "Ports one connect() scan can take toward one destination: ip_local_port_range less reserved and listening ports, with the parity rule (kernel-spec EP-1..EP-3)."
        ).set(Int64(i.usablePorts))
        registry.makeGauge(
            name: "twlab_destinations", labels: [ns],
            help:
                "Outbound (source IP, destination IP, destination port) groups; only the top ones are exported."
        ).set(Int64(i.destinationsTotal))
        registry.makeGauge(
            name: "twlab_inbound_time_wait", labels: [ns],
            help:
                "TIME-WAIT sockets whose local port is a listening port or outside the ephemeral range (no ephemeral port used)."
        ).set(Int64(i.inboundTimeWait))

        for d in i.destinations {
            let labels = [ns, ("src", d.source), ("dst", d.destination), ("dport", String(d.port))]
            registry.makeGauge(
                name: "twlab_destination_ports_held", labels: labels,
                help:
                    "Ephemeral ports held toward one destination: its sockets in every state, TIME-WAIT included."
            ).set(Int64(d.held))
            registry.makeGauge(
                name: "twlab_destination_time_wait", labels: labels,
                help: "TIME-WAIT sockets toward one destination."
            ).set(Int64(d.timeWait))
            registry.makeGauge(
                name: "twlab_destination_established", labels: labels,
                help: "ESTAB sockets toward one destination."
            ).set(Int64(d.established))
            registry.makeGauge(
                name: "twlab_destination_port_pressure_ratio", labels: labels,
                help:
                    "Ports held over usable ports toward one destination; at 1 connect() fails with EADDRNOTAVAIL."
            ).set(d.pressure)
            for (age, count) in zip(Inspection.TimeWaitAges.labels, d.timeWaitAges.counts) {
                registry.makeGauge(
                    name: "twlab_destination_time_wait_by_age", labels: labels + [("age_s", age)],
                    help:
                        "TIME-WAIT sockets toward one destination by age in seconds (60 s minus the timer left)."
                ).set(Int64(count))
            }
        }

        let listeners = i.listeners.sorted {
            let a = Double($0.recvQ) / Double(max($0.sendQ ?? 1, 1))
            let b = Double($1.recvQ) / Double(max($1.sendQ ?? 1, 1))
            return a != b ? a > b : ($0.port, $0.address) < ($1.port, $1.address)
        }.prefix(maxListeners)
        for l in listeners {
            let labels = [ns, ("addr", l.address), ("port", String(l.port))]
            registry.makeGauge(
                name: "twlab_listener_accept_queue", labels: labels,
                help: "Connections waiting in a listener's accept queue (ss Recv-Q)."
            ).set(Int64(l.recvQ))
            if let backlog = l.sendQ {  // unknown when the sockets came from /proc
                registry.makeGauge(
                    name: "twlab_listener_backlog", labels: labels,
                    help: "A listener's effective backlog, listen() clamped by somaxconn (ss Send-Q)."
                ).set(Int64(backlog))
            }
            registry.makeGauge(
                name: "twlab_listener_syn_recv", labels: labels,
                help: "Request sockets (SYN-RECV) waiting for the handshake's final ACK: the SYN queue."
            ).set(Int64(l.synRecv))
        }

        for name in Inspection.counterNames {
            guard let value = i.counters[name], value >= 0 else { continue }
            registry.makeCounter(
                name: "twlab_netstat_\(name)_total", labels: [ns],
                help: "The kernel counter \(name) as nstat names it (/proc/net/netstat, /proc/net/snmp)."
            ).increment(by: value)
        }

        registry.makeGauge(
            name: "twlab_memory_bytes", labels: [ns, ("kind", "time_wait")],
            help: "Kernel memory held by timewait and request sockets: count times slab object size."
        ).set(Int64(i.memory.timeWaitBytes))
        registry.makeGauge(
            name: "twlab_memory_bytes", labels: [ns, ("kind", "request")],
            help: "Kernel memory held by timewait and request sockets: count times slab object size."
        ).set(Int64(i.memory.requestBytes))
        if let limit = i.sysctls["net.ipv4.tcp_max_tw_buckets"].flatMap({ Int64($0) }) {
            registry.makeGauge(
                name: "twlab_time_wait_buckets_limit", labels: [ns],
                help:
                    "net.ipv4.tcp_max_tw_buckets: timewait sockets beyond it are not created (TCPTimeWaitOverflow)."
            ).set(limit)
        }
    }
}
