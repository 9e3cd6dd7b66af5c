import LinuxTCP
import Results

/// A scenario file, decoded and validated: hosts, workloads, observations (design.md, schema 1).
///
/// Every name is resolved and every value checked when it is built, so the engines never meet
/// a dangling host or an unknown sysctl.
public struct Scenario: Sendable {
    public var name: String
    public var description: String
    /// The simulator's kernel profile.
    public var kernel: KernelProfile
    /// Same file + same seed gives an identical simulator result.
    public var seed: UInt64
    /// Optional hard stop; attempts still running then count as outcome "pending".
    public var duration: Nanos?
    /// Default link between every pair of hosts.
    public var network: NetworkSpec
    /// Hosts in file order.
    public var hosts: [HostSpec]
    /// Workloads in file order.
    public var workloads: [WorkloadSpec]
    /// Snapshot points; `end` is the moment the last workload finishes.
    public var observe: [ObservePoint]
    /// Time-series sampling period (issue 7); nil when not asked for.
    public var sampleEvery: Nanos?
    /// What the real kernel produced for this scenario, checked by `twlab run --check` and tests.
    public var expect: [Expectation]
    /// Where the scenario came from, for messages (a path, or "catalogue:NAME").
    public var source: String

    public init(
        name: String, description: String = "", kernel: KernelProfile = .newest, seed: UInt64 = 1,
        duration: Nanos? = nil, network: NetworkSpec = NetworkSpec(), hosts: [HostSpec],
        workloads: [WorkloadSpec], observe: [ObservePoint] = [.end], sampleEvery: Nanos? = nil,
        expect: [Expectation] = [], source: String = "<memory>"
    ) {
        self.name = name
        self.description = description
        self.kernel = kernel
        self.seed = seed
        self.duration = duration
        self.network = network
        self.hosts = hosts
        self.workloads = workloads
        self.observe = observe
        self.sampleEvery = sampleEvery
        self.expect = expect
        self.source = source
    }

    /// The host called `name`.
    public func host(named name: String) -> HostSpec? { hosts.first { $0.name == name } }
}

/// One-way delay and loss for a link.
public struct NetworkSpec: Sendable, Equatable {
    /// One-way delay.
    public var delay: Nanos
    /// Probability in [0, 1) that a segment is lost.
    public var loss: Double
    public init(delay: Nanos = 100_000, loss: Double = 0) {
        self.delay = delay
        self.loss = loss
    }
}

/// A host (one network namespace on the kernel engine).
public struct HostSpec: Sendable {
    public var name: String
    /// First address is the primary one, used as the source of connect().
    public var addresses: [IPv4Address]
    /// Time since boot at the start of the run (timestamp clock base); default 1 day.
    public var uptime: Nanos
    /// The sysctls after applying the scenario's overrides to the profile defaults.
    public var sysctls: Sysctls
    /// Only the names the scenario set, with their values as written (for reports).
    public var sysctlOverrides: [(name: String, value: String)]
    public var listeners: [ListenerSpec]
    /// Set when this host is a NAT gateway for other hosts (design.md `nat:`).
    public var nat: NATSpec?

    public init(
        name: String, addresses: [IPv4Address], uptime: Nanos = 86_400 * Nanos.nanosPerSecond,
        sysctls: Sysctls, sysctlOverrides: [(name: String, value: String)] = [],
        listeners: [ListenerSpec] = [], nat: NATSpec? = nil
    ) {
        self.name = name
        self.addresses = addresses
        self.uptime = uptime
        self.sysctls = sysctls
        self.sysctlOverrides = sysctlOverrides
        self.listeners = listeners
        self.nat = nat
    }
}

/// A NAT gateway (kernel-spec §7): traffic from the `inside` hosts to the outside hosts passes
/// through it and leaves from its first address (masquerade), with the source port chosen by
/// netfilter's SNAT from `ports` (NAT-2). Who reaches whom: ``NATTopology``. Conntrack's timers
/// are the gateway's `net.netfilter.nf_conntrack_tcp_timeout_*` sysctls (NAT-1).
public struct NATSpec: Sendable, Equatable {
    public enum Mode: String, Sendable { case masquerade }
    /// Hosts behind the gateway, by name.
    public var inside: [String]
    /// `masquerade to :LOW-HIGH`; nil keeps the source port when it is free (1024–65535 class
    /// range otherwise, NAT-2).
    public var ports: ClosedRange<UInt16>?
    public var mode: Mode

    public init(inside: [String], ports: ClosedRange<UInt16>? = nil, mode: Mode = .masquerade) {
        self.inside = inside
        self.ports = ports
        self.mode = mode
    }
}

/// A listening socket and the application behind it.
public struct ListenerSpec: Sendable, Equatable {
    public var port: UInt16
    /// The listen() argument, before the somaxconn clamp (LQ-1).
    public var backlog: Int
    /// nil: a bare listener that never reads or writes (queue experiments).
    public var http: HTTPServerSpec?
    public var accept: AcceptSpec

    public init(
        port: UInt16, backlog: Int = 511, http: HTTPServerSpec? = HTTPServerSpec(),
        accept: AcceptSpec = .immediate(delay: 0)
    ) {
        self.port = port
        self.backlog = backlog
        self.http = http
        self.accept = accept
    }
}

/// An nginx-like HTTP server: status code for every request, keep-alive rules of CL-5.
public struct HTTPServerSpec: Sendable, Equatable {
    public var status: Int
    /// Idle keep-alive connections are closed by the server after this long (nginx: 75 s).
    public var keepaliveTimeout: Nanos
    public init(status: Int = 404, keepaliveTimeout: Nanos = 75 * Nanos.nanosPerSecond) {
        self.status = status
        self.keepaliveTimeout = keepaliveTimeout
    }
}

/// How the server application calls accept().
public enum AcceptSpec: Sendable, Equatable {
    /// accept() as soon as a child is queued, after `delay`.
    case immediate(delay: Nanos)
    /// Never accept (queue experiments).
    case never
    /// One accept() every 1/rate seconds.
    case rate(perSecond: Double)
}

/// Where a workload connects to.
public struct Endpoint: Sendable, Equatable {
    /// The host name as written (or nil when an address was written).
    public var host: String?
    public var address: IPv4Address
    public var port: UInt16
    public init(host: String?, address: IPv4Address, port: UInt16) {
        self.host = host
        self.address = address
        self.port = port
    }
}

/// When a workload starts.
public enum StartSpec: Sendable, Equatable {
    /// At a time since the start of the run.
    case at(Nanos)
    /// When the named workload has finished.
    case after(String)
}

/// HTTP version a client speaks; with 1.0 the server closes first (CL-5).
public enum HTTPVersion: String, Sendable, Equatable {
    case v1_0 = "1.0"
    case v1_1 = "1.1"
}

/// How a client closes its socket.
public enum CloseMode: String, Sendable, Equatable {
    /// close(): FIN, the active closer gets TIME_WAIT (TW-1).
    case fin
    /// SO_LINGER {1, 0}: RST, no TIME_WAIT, TCPAbortOnData (CL-3).
    case linger0
}

/// The HTTP side of a client request.
public struct HTTPRequestSpec: Sendable, Equatable {
    public var version: HTTPVersion
    /// Extra request headers, in file order (`Connection: close` changes who closes first).
    public var headers: [HTTPHeader]
    public init(version: HTTPVersion = .v1_1, headers: [HTTPHeader] = []) {
        self.version = version
        self.headers = headers
    }

    /// Whether the request asks the server to close after the response (CL-5).
    public var asksServerToClose: Bool {
        let conn = headers.last { $0.name.lowercased() == "connection" }?.value.lowercased()
        switch version {
        case .v1_1: return conn == "close"
        case .v1_0: return conn != "keep-alive"
        }
    }
}

public struct HTTPHeader: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// bind() before connect() (EP-7, EP-8).
public struct BindSpec: Sendable, Equatable {
    /// The local address; nil binds the wildcard.
    public var address: IPv4Address?
    /// 0 lets the kernel choose (bind(0), EP-7).
    public var port: UInt16
    /// IP_BIND_ADDRESS_NO_PORT: keep only the address; the port is chosen at connect() (EP-8).
    public var noPort: Bool
    /// SO_REUSEADDR on the socket (EP-10).
    public var reuseAddress: Bool
    public init(
        address: IPv4Address? = nil, port: UInt16 = 0, noPort: Bool = false, reuseAddress: Bool = false
    ) {
        self.address = address
        self.port = port
        self.noPort = noPort
        self.reuseAddress = reuseAddress
    }
}

/// A client workload.
public struct WorkloadSpec: Sendable {
    public var name: String
    /// The client host's name.
    public var from: String
    public var to: Endpoint
    public var start: StartSpec
    public var kind: WorkloadKind

    public init(name: String, from: String, to: Endpoint, start: StartSpec = .at(0), kind: WorkloadKind) {
        self.name = name
        self.from = from
        self.to = to
        self.start = start
        self.kind = kind
    }
}

/// The workload kinds of design.md that the simulator runs.
public enum WorkloadKind: Sendable {
    case curl(CurlSpec)
    case connect(ConnectSpec)
    case rate(RateSpec)
    case wrk(WrkSpec)
    case synflood(SynFloodSpec)

    /// The kind's name as written in a scenario.
    public var name: String {
        switch self {
        case .curl: "curl"
        case .connect: "connect"
        case .rate: "rate"
        case .wrk: "wrk"
        case .synflood: "synflood"
        }
    }
}

/// A shell loop of curl: one process, hence one new connection, per request.
public struct CurlSpec: Sendable, Equatable {
    public var count: Int
    /// Pause between one curl exiting and the next starting (`sleep`).
    public var interval: Nanos
    public var request: HTTPRequestSpec
    public var close: CloseMode
    /// `--max-time`; expiry counts as ETIMEDOUT.
    public var timeout: Nanos?
    /// Time from one curl process exiting to the next one's connect(): fork, exec, setup.
    /// Extension of design.md. Default 13 ms: lab-notes b took 0.2–0.5 s for 20 curls, and the
    /// tw_reuse threshold zones of n1 (sleep 0.05 → 14–17 ok) and n2 (pause 0.8 → 4–8 of 11)
    /// put one loop iteration of the seed-lab curl loop at 11–14 ms.
    public var startup: Nanos
    /// One curl process fetching the URL `count` times over one kept-alive connection
    /// (`curl URL URL ...`). Extension of design.md, for lab-notes experiment f2.
    public var reuseConnection: Bool

    public init(
        count: Int, interval: Nanos = 0, request: HTTPRequestSpec = HTTPRequestSpec(),
        close: CloseMode = .fin,
        timeout: Nanos? = nil, startup: Nanos = CurlSpec.defaultStartup, reuseConnection: Bool = false
    ) {
        self.count = count
        self.interval = interval
        self.request = request
        self.close = close
        self.timeout = timeout
        self.startup = startup
        self.reuseConnection = reuseConnection
    }

    public static let defaultStartup: Nanos = 13 * Nanos.nanosPerMilli
}

/// Plain TCP connect() calls without HTTP.
public struct ConnectSpec: Sendable, Equatable {
    public var count: Int
    /// How many connects are in flight or held at once.
    public var concurrency: Int
    /// Time each connection is held open before it is closed.
    public var hold: Nanos
    public var close: CloseMode
    public var bind: BindSpec?
    /// Connect one by one, holding every connection, until a connect() fails; then close them
    /// all. `count` is then an upper bound. Extension of design.md, for lab-notes experiment s.
    public var fill: Bool
    /// Repeat the whole workload this many times; the result gets a histogram of successes
    /// per round. Extension of design.md.
    public var rounds: Int
    /// Pause between rounds.
    public var interval: Nanos
    /// `timeout` for each connect (SO_SNDTIMEO); nil waits for the kernel's SYN retries.
    public var timeout: Nanos?
    /// Time between the launches of the first `concurrency` connects (0: all at once). A
    /// Python loop of non-blocking connects over veth finishes each handshake before the next
    /// (lab-notes k2), which spacing reproduces. Extension of design.md.
    public var spacing: Nanos = 0
    /// Once connected, write one HTTP request and wait (never reading): lab-notes k3–k5's
    /// `cli.py flood`. Against a slowly accepting server the unanswered request is what the
    /// client retransmits, and each retransmission is another try at the server's final ACK.
    /// Extension of design.md.
    public var request: HTTPRequestSpec? = nil

    public init(
        count: Int, concurrency: Int = 1, hold: Nanos = 0, close: CloseMode = .fin, bind: BindSpec? = nil,
        fill: Bool = false, rounds: Int = 1, interval: Nanos = 0, timeout: Nanos? = nil
    ) {
        self.count = count
        self.concurrency = concurrency
        self.hold = hold
        self.close = close
        self.bind = bind
        self.fill = fill
        self.rounds = rounds
        self.interval = interval
        self.timeout = timeout
    }
}

/// Open loop: `rate` new connections per second for `duration`, one request each.
public struct RateSpec: Sendable, Equatable {
    public var perSecond: Double
    public var duration: Nanos
    public var request: HTTPRequestSpec
    public var close: CloseMode
    public var timeout: Nanos?

    public init(
        perSecond: Double, duration: Nanos, request: HTTPRequestSpec = HTTPRequestSpec(),
        close: CloseMode = .fin, timeout: Nanos? = nil
    ) {
        self.perSecond = perSecond
        self.duration = duration
        self.request = request
        self.close = close
        self.timeout = timeout
    }
}

/// wrk 4.2 (`wrk -c N -d D --timeout T URL`): `connections` kept busy, each sending its next
/// request as soon as the response arrives (keep-alive), or reconnecting when the response
/// closes the connection (`Connection: close`, HTTP/1.0). Ends after `duration`, or, as an
/// extension of design.md, after `requests` responses.
public struct WrkSpec: Sendable, Equatable {
    public var connections: Int
    public var duration: Nanos?
    public var requests: Int?
    public var request: HTTPRequestSpec
    public var close: CloseMode
    /// `--timeout`: a response slower than this counts as a timeout error (wrk's default 2 s).
    public var timeout: Nanos
    /// Time between opening one connection and the next at the start (0: all at once). wrk
    /// opens them in a tight loop, but over veth each handshake completes inside connect()
    /// (lab-notes k2), which spacing reproduces on the model. Extension of design.md.
    public var spacing: Nanos = 0

    public init(
        connections: Int, duration: Nanos? = nil, requests: Int? = nil,
        request: HTTPRequestSpec = HTTPRequestSpec(), close: CloseMode = .fin,
        timeout: Nanos = WrkSpec.defaultTimeout
    ) {
        self.connections = connections
        self.duration = duration
        self.requests = requests
        self.request = request
        self.close = close
        self.timeout = timeout
    }

    public static let defaultTimeout: Nanos = 2 * Nanos.nanosPerSecond
}

/// SYNs that never complete, like `hping3 -S` with the replies dropped: bare SYNs (no TCP
/// options) from source ports counting up from a random base, while the host drops the SYN-ACKs
/// that come back (design.md `synflood`).
public struct SynFloodSpec: Sendable, Equatable {
    /// SYNs to send; nil when `duration` says how long.
    public var count: Int?
    public var perSecond: Double
    public var duration: Nanos?

    public init(count: Int? = nil, perSecond: Double = 10_000, duration: Nanos? = nil) {
        self.count = count
        self.perSecond = perSecond
        self.duration = duration
    }

    /// How many SYNs the flood sends.
    public var total: Int { count ?? Int((Double(duration ?? 0) / 1e9 * perSecond).rounded(.down)) }
}

/// A snapshot point.
public enum ObservePoint: Sendable, Equatable, Hashable {
    /// The moment the last workload finishes.
    case end
    /// A time since the start of the run.
    case at(Nanos)
    /// The moment the named workload finishes (extension of design.md: `- after: NAME`).
    case after(String)

    /// The label used in results ("end", "65s", "1.5s", or the workload's name).
    public var label: String {
        switch self {
        case .end: return "end"
        case .at(let t): return formatDuration(t)
        case .after(let w): return w
        }
    }
}

/// Renders a duration the way scenario files write them: "65s", "1.5s", "250ms", "100us".
public func formatDuration(_ t: Nanos) -> String {
    if t % Nanos.nanosPerSecond == 0 { return "\(t / Nanos.nanosPerSecond)s" }
    if t % Nanos.nanosPerMilli == 0 {
        if t >= Nanos.nanosPerSecond { return "\(trimmed(Double(t) / 1e9))s" }
        return "\(t / Nanos.nanosPerMilli)ms"
    }
    if t % 1000 == 0 {
        if t >= Nanos.nanosPerMilli { return "\(trimmed(Double(t) / 1e6))ms" }
        return "\(t / 1000)us"
    }
    return "\(t)ns"
}

private func trimmed(_ v: Double) -> String {
    var s = String(v)
    if s.hasSuffix(".0") { s.removeLast(2) }
    return s
}

extension Scenario {
    /// Per host, the outbound destination groups ("SRC>DST:PORT") its workloads connect to: the
    /// `ports` keys of both engines' time series. A SYN flood holds no ports.
    public var seriesPortGroups: [[String]] {
        hosts.map { h in
            var groups = Set<String>()
            for w in workloads where w.from == h.name {
                if case .synflood = w.kind { continue }
                var source = h.addresses[0]
                if w.to.address.isLoopback {
                    source = w.to.address
                } else if case .connect(let c) = w.kind, let a = c.bind?.address, a.value != 0 {
                    source = a
                }
                groups.insert(
                    SeriesBuilder.portGroup(
                        source: "\(source)", destination: "\(w.to.address)", port: Int(w.to.port)))
            }
            return groups.sorted()
        }
    }
}
