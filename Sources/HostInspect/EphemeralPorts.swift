/// The ephemeral port range of a namespace and how many of its ports one connect() can pick
/// toward one destination (kernel-spec EP-1, EP-2, EP-3, EP-6).
///
/// connect() without a prior bind chooses its port in `__inet_hash_connect`
/// (`net/ipv4/inet_hashtables.c`). Ports are shared across destinations (EP-6): a port is
/// exhausted per (source IP, destination IP, destination port), so the number that matters is
/// how many candidates one scan can visit, the same for every destination of the namespace.
public struct EphemeralPorts: Sendable, Equatable {
    /// `net.ipv4.ip_local_port_range`, inclusive at both ends.
    public var low: Int
    public var high: Int
    /// `net.ipv4.ip_local_reserved_ports`, as ranges (single ports are one-port ranges).
    public var reserved: [ClosedRange<Int>]

    public init(low: Int, high: Int, reserved: [ClosedRange<Int>] = []) {
        self.low = low
        self.high = high
        self.reserved = reserved
    }

    /// The kernel's default range since 4.4 (EP-1), used when the sysctl cannot be read.
    public static let linuxDefault = EphemeralPorts(low: 32768, high: 60999)

    /// From the two sysctls' text: `"32768 60999"` (tabs as the kernel writes them are fine) and
    /// `"8080,9000-9100"` (empty or nil: none). nil when either does not parse, or when the range
    /// is not `1 <= low <= high <= 65535`.
    public init?(range: String, reserved: String?) {
        let bounds = range.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]),
            1 <= low, low <= high, high <= 65535,
            let ports = EphemeralPorts.parseReserved(reserved ?? "")
        else { return nil }
        self.init(low: low, high: high, reserved: ports)
    }

    /// `ip_local_reserved_ports` syntax: a comma-separated list of ports and `a-b` ranges, as
    /// `proc_do_large_bitmap` reads and prints it. Whitespace is ignored; nil on anything else.
    public static func parseReserved(_ text: String) -> [ClosedRange<Int>]? {
        var ranges: [ClosedRange<Int>] = []
        let compact = String(text.filter { !$0.isWhitespace })
        if compact.isEmpty { return [] }
        for item in compact.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = item.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 1 || ends.count == 2,
                let first = Int(ends[0]), let last = Int(ends[ends.count - 1]),
                0 <= first, first <= last, last <= 65535
            else { return nil }
            ranges.append(first...last)
        }
        return ranges
    }

    /// The number of ports in the range: `high - low + 1`.
    public var size: Int { high - low + 1 }

    public func contains(_ port: Int) -> Bool { low <= port && port <= high }

    /// EP-2: connect() and bind(0) skip reserved ports (`inet_is_local_reserved_port`).
    public func isReserved(_ port: Int) -> Bool { reserved.contains { $0.contains(port) } }

    /// The ports one connect() scan toward one destination can end up taking: the range, less
    /// reserved ports (EP-2), less ports whose bind bucket was made by bind() or listen()
    /// (`boundPorts`: `__inet_hash_connect` skips a bucket with `fastreuse >= 0`; bind buckets
    /// are per port, so a listener on any address removes its port for every destination).
    ///
    /// From 4.6 on (EP-1, EP-3) the scan visits `remaining` ports: `high - low + 1` rounded down
    /// to even (left alone when it is 1), first the ports of `low`'s parity from an even offset in
    /// steps of 2, wrapping by `remaining`, then the other parity. With an odd-sized range the
    /// ends have the same parity, and the first pass visits all of that parity but one: `low`
    /// when the offset is not 0 (the wrap lands on `low + 2`), `high` when it is. Which one moves
    /// with the offset, so this counts the worst case: one candidate fewer, unless both ends are
    /// excluded anyway (with 3 ports the offset is always 0, so only `high` can be lost).
    /// Before 4.6 every port of the range was a candidate (RFC 6056 alg. 3).
    ///
    /// A per-socket `IP_LOCAL_PORT_RANGE` (6.3+) scans with step 1 and no rounding; inspection
    /// cannot see it. Ports taken by bind()-then-connect sockets look like any connected port in
    /// a socket dump and are not subtracted.
    ///
    /// - Complexity: O(size of the range × reserved ranges).
    public func usableCandidates(kernel: KernelVersion?, boundPorts: Set<Int> = []) -> Int {
        func excluded(_ port: Int) -> Bool { isReserved(port) || boundPorts.contains(port) }
        var available = 0
        for port in low...high where !excluded(port) { available += 1 }
        let paritySplit = kernel.map { $0 >= KernelVersion(4, 6) } ?? true
        guard paritySplit, size > 1, size % 2 == 1 else { return available }
        // Offset 0 skips `high`; any other offset (there is one from 5 ports up) skips `low`.
        let lost = size == 3 ? !excluded(high) : !(excluded(low) && excluded(high))
        return lost ? available - 1 : available
    }

    /// `"32768 60999"`, as the sysctl prints it (with a space).
    public var rangeText: String { "\(low) \(high)" }
}

/// How close one destination is to `EADDRNOTAVAIL` (kernel-spec EP-5, EP-6, TW-3).
public enum PortPressure {
    /// How long a closed connection keeps its port: `TCP_TIMEWAIT_LEN`, 60 s (TW-3). The timer
    /// wheel adds up to 2 s; that slack is left out (the estimate errs toward sooner).
    public static let timeWaitSeconds = 60.0

    /// Seconds until connect() toward one destination fails with EADDRNOTAVAIL if new
    /// connections keep coming at `rate` per second; nil when that rate never exhausts the ports
    /// (or `rate` is 0 and ports are left), 0 when they are already gone.
    ///
    /// Ports held now: `held` (connected sockets and TIME-WAITs of this 4-tuple group). Each
    /// TIME-WAIT frees its port when its timer fires (`timeWaitRemaining`, seconds, from the
    /// dump's expiry field); each new connection is assumed to close at once and hold its port
    /// for 60 s in TIME-WAIT, the active closer's case (TW-1). So until 60 s from now the count is
    /// `held + rate·t − (TIME-WAITs expired by t)`, and after 60 s it can only fall (new ports
    /// free up as fast as they are taken), so the answer, if any, lies within 60 s.
    ///
    /// - Complexity: O(n log n) in the number of TIME-WAITs.
    public static func secondsToExhaustion(
        usable: Int, held: Int, rate: Double, timeWaitRemaining: [Double]
    ) -> Double? {
        if held >= usable { return 0 }
        guard rate > 0, rate.isFinite else { return nil }
        var expired = 0
        var start = 0.0
        for expiry in timeWaitRemaining.sorted() where expiry < timeWaitSeconds {
            let at = Double(usable - held + expired) / rate
            if at < expiry { return max(at, start) }
            expired += 1
            start = max(start, expiry)
        }
        let at = Double(usable - held + expired) / rate
        return at <= timeWaitSeconds ? max(at, start) : nil
    }
}

/// Which sockets of a sample took their local port from connect()'s autobind (EP-3): not a
/// listener nor a request, local port in the ephemeral range, and no LISTEN socket on that port
/// (a listener's port is bound, so connect() never picks it). The unit ``Inspection`` groups and
/// ``Advisor`` reasons about.
public struct OutboundSockets: Sendable {
    public let ports: EphemeralPorts
    /// Local ports of the LISTEN sockets.
    public let listening: Set<Int>

    public init(ports: EphemeralPorts, listening: Set<Int>) {
        self.ports = ports
        self.listening = listening
    }

    /// Collects the listening ports of `sockets`.
    public init(ports: EphemeralPorts, sockets: [DiagSocket]) {
        var listening = Set<Int>()
        for socket in sockets where socket.state == TCPState.listen { listening.insert(socket.localPort) }
        self.init(ports: ports, listening: listening)
    }

    /// Whether `socket` holds an ephemeral port that connect() picked.
    public func contains(_ socket: DiagSocket) -> Bool {
        socket.state != TCPState.listen && socket.state != TCPState.synRecv && socket.state != TCPState.close
            && ports.contains(socket.localPort) && !listening.contains(socket.localPort)
    }
}
