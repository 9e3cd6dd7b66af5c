/// What `twlab inspect` reports about one host or namespace (design.md, "Inspection"): socket
/// states, ephemeral-port pressure per destination, TIME-WAIT ages, listen queues, counters,
/// memory, sysctls. A plain value: `advise` and the exporter read the same fields.
///
/// Built from one ``HostSample``, or two taken an interval apart for rates and counter deltas,
/// by ``init(sample:previous:netns:top:)``; ``jsonText()`` gives the JSON contract.
public struct Inspection: Sendable, Equatable {
    /// The namespace read (`--netns`), nil for the caller's own.
    public var netns: String?
    /// `MAJOR.MINOR.PATCH` of the running kernel, e.g. `"6.18.44"` (empty if unknown).
    public var kernel: String
    /// The whole `uname -r`, e.g. `"6.18.44-fc-v657"`.
    public var kernelRelease: String
    /// Seconds between the two samples; 0 with one sample (then every rate is nil).
    public var intervalSeconds: Double
    /// Where the socket table came from.
    public var socketSource: SocketDiag.Source
    /// `ss` state name -> sockets, as `ss -ant | awk '{print $1}' | sort | uniq -c` counts them
    /// (request sockets are `SYN-RECV`; zero counts and `CLOSE` left out).
    public var states: [String: Int]
    /// The namespace's ephemeral range and reserved ports (the default range if unreadable).
    public var ports: EphemeralPorts
    /// Candidates one connect() scan can take toward any one destination
    /// (``EphemeralPorts/usableCandidates(kernel:boundPorts:)``, listening ports excluded).
    public var usablePorts: Int
    /// Outbound 4-tuple groups, highest pressure first, at most `top` of them.
    public var destinations: [Destination]
    /// How many outbound groups there were before the `top` cut.
    public var destinationsTotal: Int
    /// TIME-WAITs that hold no ephemeral port: local port a listening port or outside the range
    /// (this host closed first as the server).
    public var inboundTimeWait: Int
    /// LISTEN sockets, by port then address.
    public var listeners: [Listener]
    /// Selected counters (``counterNames``) with nstat names: deltas over the interval with two
    /// samples, absolute values (since the namespace was created) with one.
    public var counters: [String: Int64]
    /// ``counters`` per second over the interval; nil with one sample.
    public var counterRates: [String: Double]?
    /// Kernel memory held by timewait and request sockets.
    public var memory: Memory
    /// `/proc/net/sockstat`'s TCP line.
    public var sockstat: [String: Int]
    /// ``Sysctls/inspected`` that exist, values as `sysctl` prints them.
    public var sysctls: [String: String]

    /// Memberwise; ``init(sample:previous:netns:top:)`` is the usual way in.
    public init(
        netns: String?, kernel: String, kernelRelease: String, intervalSeconds: Double,
        socketSource: SocketDiag.Source, states: [String: Int], ports: EphemeralPorts, usablePorts: Int,
        destinations: [Destination], destinationsTotal: Int, inboundTimeWait: Int, listeners: [Listener],
        counters: [String: Int64], counterRates: [String: Double]?, memory: Memory, sockstat: [String: Int],
        sysctls: [String: String]
    ) {
        self.netns = netns
        self.kernel = kernel
        self.kernelRelease = kernelRelease
        self.intervalSeconds = intervalSeconds
        self.socketSource = socketSource
        self.states = states
        self.ports = ports
        self.usablePorts = usablePorts
        self.destinations = destinations
        self.destinationsTotal = destinationsTotal
        self.inboundTimeWait = inboundTimeWait
        self.listeners = listeners
        self.counters = counters
        self.counterRates = counterRates
        self.memory = memory
        self.sockstat = sockstat
        self.sysctls = sysctls
    }

    /// One outbound (source IP, destination IP, destination port) group: the unit the kernel
    /// exhausts (EP-6).
    public struct Destination: Sendable, Equatable {
        public var source: String
        public var destination: String
        public var port: Int
        /// ESTAB sockets of the group.
        public var established: Int
        /// TIME-WAIT sockets (the TIME_WAIT substate).
        public var timeWait: Int
        /// Every socket of the group in any state (SYN-SENT, ESTAB, FIN-WAIT-*, CLOSE-WAIT,
        /// TIME-WAIT, ...): each holds one port of the range toward this destination.
        public var held: Int
        /// Candidates one connect() scan can take (the namespace's ``Inspection/usablePorts``).
        public var usablePorts: Int
        /// `held / usablePorts` (1 when no port is usable at all).
        public var pressure: Double
        /// 4-tuples of the group present in the second sample but not in the first, per second
        /// of the interval; nil with one sample. Connections opened and reset within the
        /// interval leave no trace and are not counted.
        public var newPerSecond: Double?
        /// ``PortPressure/secondsToExhaustion(usable:held:rate:timeWaitRemaining:)`` at
        /// ``newPerSecond``; nil with one sample or when that rate never exhausts the range.
        public var exhaustionSeconds: Double?
        /// Ages of the group's TIME-WAITs.
        public var timeWaitAges: TimeWaitAges
        /// Connections of the group whose tcp_info was read (``DiagSocket/timestamps``) that
        /// negotiated TCP timestamps (TS-2), and that did not; both 0 without tcp_info.
        public var withTimestamps: Int
        public var withoutTimestamps: Int

        public init(
            source: String, destination: String, port: Int, established: Int, timeWait: Int, held: Int,
            usablePorts: Int, pressure: Double, newPerSecond: Double?, exhaustionSeconds: Double?,
            timeWaitAges: TimeWaitAges, withTimestamps: Int = 0, withoutTimestamps: Int = 0
        ) {
            self.source = source
            self.destination = destination
            self.port = port
            self.established = established
            self.timeWait = timeWait
            self.held = held
            self.usablePorts = usablePorts
            self.pressure = pressure
            self.newPerSecond = newPerSecond
            self.exhaustionSeconds = exhaustionSeconds
            self.timeWaitAges = timeWaitAges
            self.withTimestamps = withTimestamps
            self.withoutTimestamps = withoutTimestamps
        }
    }

    /// TIME-WAIT ages in three buckets, from the dump's expiry field: a TIME-WAIT lives
    /// `TCP_TIMEWAIT_LEN` = 60 s (TW-3), so age = 60 s − time left, clamped to 0...60 (the timer
    /// wheel can add up to ~2 s, making the first seconds read as age 0).
    public struct TimeWaitAges: Sendable, Equatable {
        /// Age in [0, 10) s.
        public var under10: Int
        /// Age in [10, 30) s.
        public var from10To30: Int
        /// Age in [30, 60] s.
        public var from30To60: Int

        public init(under10: Int = 0, from10To30: Int = 0, from30To60: Int = 0) {
            self.under10 = under10
            self.from10To30 = from10To30
            self.from30To60 = from30To60
        }

        /// The JSON keys, youngest first.
        public static let labels = ["0-10", "10-30", "30-60"]

        /// The counts in ``labels`` order.
        public var counts: [Int] { [under10, from10To30, from30To60] }

        /// Age in seconds of a TIME-WAIT whose timer fires in `remainingMs`.
        public static func age(remainingMs: Int) -> Double {
            min(
                max(PortPressure.timeWaitSeconds - Double(remainingMs) / 1000, 0),
                PortPressure.timeWaitSeconds)
        }

        /// Counts one TIME-WAIT with `remainingMs` left.
        public mutating func add(remainingMs: Int) {
            let age = Self.age(remainingMs: remainingMs)
            if age < 10 {
                under10 += 1
            } else if age < 30 {
                from10To30 += 1
            } else {
                from30To60 += 1
            }
        }
    }

    /// One LISTEN socket, as `ss -lnt` shows it, with its SYN queue and the queue counters.
    public struct Listener: Sendable, Equatable {
        public var address: String
        public var port: Int
        /// Accept queue length (`sk_ack_backlog`).
        public var recvQ: Int
        /// Effective backlog (`sk_max_ack_backlog`: listen()'s argument after the somaxconn
        /// clamp, LQ-1); nil when read from `/proc`, which does not show it.
        public var sendQ: Int?
        /// Request sockets (SYN-RECV) for this listener: its SYN queue.
        public var synRecv: Int
        /// `sk_acceptq_is_full`: Recv-Q > Send-Q, the accept queue holds backlog + 1 (LQ-2);
        /// false when the backlog is unknown.
        public var acceptQueueFull: Bool
        /// The namespace's listen-queue counters per second, when they can be laid at this
        /// listener's door (see ``Inspection/init(sample:previous:netns:top:)``); else nil.
        public var rates: QueueRates?

        public init(
            address: String, port: Int, recvQ: Int, sendQ: Int?, synRecv: Int, acceptQueueFull: Bool,
            rates: QueueRates?
        ) {
            self.address = address
            self.port = port
            self.recvQ = recvQ
            self.sendQ = sendQ
            self.synRecv = synRecv
            self.acceptQueueFull = acceptQueueFull
            self.rates = rates
        }
    }

    /// Listen-queue counters per second (LQ-4, LQ-7, CT-1). The kernel counts them per
    /// namespace (`NET_INC_STATS(sock_net(sk), ...)` in `tcp_conn_request` and
    /// `tcp_v4_syn_recv_sock`), never per socket.
    public struct QueueRates: Sendable, Equatable {
        /// `TcpExtListenOverflows`: SYNs or final ACKs dropped on a full accept queue.
        public var overflows: Double
        /// `TcpExtListenDrops`: every listener drop (a superset of overflows).
        public var drops: Double
        /// `TcpExtTCPReqQFullDrop`: SYNs dropped on a full SYN queue without cookies.
        public var reqQFullDrops: Double
        /// `TcpExtTCPReqQFullDoCookies`: SYNs answered with a cookie on a full SYN queue.
        public var reqQFullCookies: Double
        /// `TcpExtSyncookiesSent`.
        public var syncookiesSent: Double

        public init(
            overflows: Double, drops: Double, reqQFullDrops: Double, reqQFullCookies: Double,
            syncookiesSent: Double
        ) {
            self.overflows = overflows
            self.drops = drops
            self.reqQFullDrops = reqQFullDrops
            self.reqQFullCookies = reqQFullCookies
            self.syncookiesSent = syncookiesSent
        }
    }

    /// Kernel memory of timewait and request sockets (MEM-1): count × slab object stride.
    public struct Memory: Sendable, Equatable {
        /// Timewait sockets (`timer` 3: TIME-WAIT and the FIN-WAIT-2 substate, TW-9).
        public var timeWaitSockets: Int
        /// Request sockets (SYN-RECV).
        public var requestSockets: Int
        public var timeWaitBytes: Int
        public var requestBytes: Int
        /// The object sizes used.
        public var objectSizes: SlabSizes

        public init(
            timeWaitSockets: Int, requestSockets: Int, timeWaitBytes: Int, requestBytes: Int,
            objectSizes: SlabSizes
        ) {
            self.timeWaitSockets = timeWaitSockets
            self.requestSockets = requestSockets
            self.timeWaitBytes = timeWaitBytes
            self.requestBytes = requestBytes
            self.objectSizes = objectSizes
        }
    }

    /// The counters inspection and the exporter report, with nstat names: TIME-WAIT creation,
    /// reuse and overflow (TW-6, TW-7, TWR-2), PAWS rejects (TS-5), listen and SYN queue drops and
    /// cookies (LQ-*), aborts (CL-2, CL-3, CL-6) and the Tcp totals. Counters this kernel does not
    /// have (e.g. `PAWSPassive` after 4.12, `PAWSTimewait` before 6.18) are left out.
    public static let counterNames: [String] = [
        "TcpActiveOpens",
        "TcpAttemptFails",
        "TcpEstabResets",
        "TcpExtEmbryonicRsts",
        "TcpExtListenDrops",
        "TcpExtListenOverflows",
        "TcpExtPAWSActive",
        "TcpExtPAWSEstab",
        "TcpExtPAWSPassive",
        "TcpExtPAWSTimewait",
        "TcpExtSyncookiesFailed",
        "TcpExtSyncookiesRecv",
        "TcpExtSyncookiesSent",
        "TcpExtTCPACKSkippedTimeWait",
        "TcpExtTCPAbortFailed",
        "TcpExtTCPAbortOnClose",
        "TcpExtTCPAbortOnData",
        "TcpExtTCPAbortOnLinger",
        "TcpExtTCPAbortOnMemory",
        "TcpExtTCPAbortOnTimeout",
        "TcpExtTCPReqQFullDoCookies",
        "TcpExtTCPReqQFullDrop",
        "TcpExtTCPTimeWaitOverflow",
        "TcpExtTW",
        "TcpExtTWKilled",
        "TcpExtTWRecycled",
        "TcpOutRsts",
        "TcpPassiveOpens",
    ]
}
