#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One reading of a namespace: its TCP sockets, counters, socket gauges and sysctls, as
/// ``Inspection`` turns one or two of them into the report.
///
/// Everything is read on the calling thread, so in the calling thread's network namespace
/// (``NetworkNamespace/run(in:_:)`` moves a thread first).
public struct HostSample: Sendable {
    /// `CLOCK_MONOTONIC` seconds when the socket dump ended: rates divide by differences of it.
    public var time: Double
    /// Every TCP socket, IPv4 and IPv6, all states (``SocketDiag/dumpTCP()``).
    public var sockets: [DiagSocket]
    /// Where ``sockets`` came from: netlink, or `/proc/net/tcp{,6}` if netlink failed.
    public var source: SocketDiag.Source
    /// Absolute Tcp/TcpExt/... counters with nstat names (``ProcCounters``).
    public var counters: [String: Int64]
    /// `/proc/net/sockstat`'s TCP line (``SockStat``).
    public var sockstat: [String: Int]
    /// ``Sysctls/inspected``, as far as they exist.
    public var sysctls: [String: String]
    /// Object sizes for the memory estimate (global, from `/proc/slabinfo` when readable).
    public var slab: SlabSizes
    /// `uname -r` of the running kernel, e.g. `6.18.44-fc-v657`.
    public var kernelRelease: String

    public init(
        time: Double, sockets: [DiagSocket], source: SocketDiag.Source = .netlink,
        counters: [String: Int64] = [:], sockstat: [String: Int] = [:], sysctls: [String: String] = [:],
        slab: SlabSizes = .defaults, kernelRelease: String = ""
    ) {
        self.time = time
        self.sockets = sockets
        self.source = source
        self.counters = counters
        self.sockstat = sockstat
        self.sysctls = sysctls
        self.slab = slab
        self.kernelRelease = kernelRelease
    }

    /// Reads the calling thread's namespace. Only the socket dump can fail (netlink and then
    /// `/proc` both unreadable); the counter files, sysctls and slab sizes that cannot be read are
    /// left empty (or defaulted), so that an unprivileged user still gets the socket picture.
    ///
    /// - Parameters:
    ///   - withTCPInfo: also read each connection's tcp_info (``SocketDiag/dump(withTCPInfo:)``).
    ///   - host: the host-wide part, when the caller has read it already (nil: read it here).
    public static func read(withTCPInfo: Bool = false, host: HostWide? = nil) throws(InspectError)
        -> HostSample
    {
        let (sockets, source) = try SocketDiag.dump(withTCPInfo: withTCPInfo)
        let time = monotonicSeconds()
        let host = host ?? .read()
        return HostSample(
            time: time, sockets: sockets, source: source,
            counters: (try? ProcCounters.read()) ?? [:], sockstat: SockStat.read(),
            sysctls: Sysctls.read(), slab: host.slab, kernelRelease: host.kernelRelease)
    }

    /// `CLOCK_MONOTONIC` in seconds.
    public static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

/// What every network namespace of the host shares, read once per inspection or scrape rather
/// than once per sample: the slab object sizes (`/proc/slabinfo` is global) and the kernel
/// release (`/proc/sys/kernel/osrelease` belongs to the UTS namespace, which entering a network
/// namespace does not change).
public struct HostWide: Sendable, Equatable {
    public var slab: SlabSizes
    /// `uname -r`, empty when unreadable.
    public var kernelRelease: String

    public init(slab: SlabSizes, kernelRelease: String) {
        self.slab = slab
        self.kernelRelease = kernelRelease
    }

    /// ``SlabSizes/read()`` and ``KernelVersion/runningRelease()``.
    public static func read() -> HostWide {
        HostWide(slab: SlabSizes.read(), kernelRelease: KernelVersion.runningRelease() ?? "")
    }
}
