/// What differs between kernel versions, gathered in one value (kernel-spec §0.2).
///
/// Only the 6.18 profile exists so far; every behaviour that the version timeline says changed
/// is a field here, so older profiles (issue 5) add values, not branches scattered in the model.
public struct KernelProfile: Sendable {
    /// The name used in scenario files (`kernel: "6.18"`).
    public let name: String
    /// `CONFIG_HZ`: the jiffy is 1/hz s (timer-wheel rounding, `TCP_TIMEOUT_MIN`).
    public let hz: Int64
    /// Sysctl defaults of a fresh network namespace on this version and a 24 GiB machine.
    public let defaults: Sysctls
    /// SYN-queue "full" test (LQ-4.2): `qlen > backlog` (≥6.13) versus `qlen >= backlog`.
    public let synQueueFullWhenGreater: Bool
    /// SYN retransmissions are linear (1 s) for the first `tcp_syn_linear_timeouts` (≥6.5, LQ-10).
    public let hasSynLinearTimeouts: Bool
    /// A SYN_SENT socket re-arms its SYN timer to 2 jiffies after answering a bogus ACK with RST
    /// (≈5.6+, TW-13).
    public let synSentFastRetry: Bool

    /// The duration of one jiffy.
    @inlinable public var jiffy: Nanos { Nanos.nanosPerSecond / hz }

    /// Linux 6.18.44 as run on this machine (HZ=250, 24 GiB: ehash 262144).
    public static let linux6_18 = KernelProfile(
        name: "6.18", hz: 250,
        defaults: Sysctls(
            portRangeLow: 32768, portRangeHigh: 60999, reservedPorts: [],
            tcpTwReuse: 2, tcpTwReuseDelayMs: 1000, tcpTimestamps: 1,
            tcpMaxTwBuckets: 131072, tcpFinTimeoutSeconds: 60, tcpRfc1337: 0,
            somaxconn: 4096, tcpMaxSynBacklog: 2048, tcpSyncookies: 1, tcpAbortOnOverflow: 0,
            tcpSynRetries: 6, tcpSynackRetries: 5, tcpSynLinearTimeouts: 4, tcpOrphanRetries: 0,
            ipAutobindReuse: 0),
        synQueueFullWhenGreater: true, hasSynLinearTimeouts: true, synSentFastRetry: true)

    /// Every profile the simulator has, newest last.
    public static let all: [KernelProfile] = [linux6_18]

    /// The profile a scenario gets when it names none.
    public static var newest: KernelProfile { all[all.count - 1] }

    /// Looks a profile up by its scenario name.
    public static func named(_ name: String) -> KernelProfile? { all.first { $0.name == name } }
}
