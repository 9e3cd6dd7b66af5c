/// What differs between kernel versions, gathered in one value (kernel-spec §0.2).
///
/// Every behaviour the version timeline says changed is a field here, so the model asks the
/// profile instead of branching on version numbers. A profile describes the kernel tree the spec
/// was read from (kernel-spec §0.1: e.g. "4.19" is 4.19.108, "5.4" is 5.4.214 with the 2022
/// port-selection backports) on a 24 GiB machine (ehash 262144 entries).
public struct KernelProfile: Sendable {
    /// The name used in scenario files (`kernel: "6.18"`).
    public let name: String
    /// The tree the profile follows (kernel-spec §0.1).
    public let release: String
    /// `CONFIG_HZ`: the jiffy is 1/hz s (timer-wheel rounding, `TCP_TIMEOUT_MIN`, and the TS
    /// clock before 4.13). RHEL/CentOS kernels (2.6.32, 3.10) use 1000, Debian/Ubuntu 250.
    public let hz: Int64
    /// Sysctl defaults of a fresh network namespace on this version and a 24 GiB machine (§0.3).
    public let defaults: Sysctls

    /// connect() autobind (EP-3, EP-4).
    public let portSelection: PortSelection
    /// The TS option's offset (TS-3).
    public let tsOffset: TimestampOffset
    /// The TS option clock ticks per second: HZ up to 4.12, 1000 since 4.13 (`TCP_TS_HZ`, TS-3).
    public let tsHz: Int64
    /// `ts_recent` older than this is stale and PAWS is skipped: 24 days up to 6.6,
    /// `TCP_PAWS_WRAP` ≈ 2147 s since 6.7 (TS-5).
    public let pawsStaleSeconds: Int64
    /// PAWS rejects in TIME_WAIT count as `PAWSTimewait` (2025, in 6.18) instead of `PAWSEstab` (TW-12).
    public let hasPAWSTimewaitCounter: Bool
    /// TIME_WAIT timers: the two-level death row (≤4.2) or one timer per socket (4.3+, TW-3).
    public let timeWaitTimer: TimeWaitTimer
    /// The timer wheel that delays long timers by up to 12.5% (≥4.8, checklist 44); older
    /// kernels fire timers on their jiffy.
    public let hasTimerWheelSlack: Bool
    /// SYN-queue sizing (LQ-4, LQ-5).
    public let synQueue: SynQueue
    /// A SYN meeting a full accept queue is dropped only when more than one young request
    /// exists (≤4.14; the condition was removed in ~4.15, checklist 25).
    public let synDropNeedsYoungRequests: Bool
    /// `TCP_TIMEOUT_INIT`: the first SYN and SYN-ACK RTO, 3 s before 3.1 (§0.3).
    public let initialRTO: Nanos
    /// SYN retransmissions are linear (1 s) for the first `tcp_syn_linear_timeouts` (≥6.5, LQ-10).
    public let hasSynLinearTimeouts: Bool
    /// A SYN_SENT socket re-arms its SYN timer to 2 jiffies after answering a bogus ACK with RST
    /// (≈5.6+, TW-13).
    public let synSentFastRetry: Bool
    /// How old a TIME_WAIT must be before tcp_tw_reuse takes it over (TWR-3).
    public let twReuseAge: TimeWaitReuseAge
    /// A TIME_WAIT still in the FIN_WAIT2 substate is never reused (2024: 6.1.166, 6.6+, TWR-3).
    public let twReuseSkipsFinWait2: Bool
    /// `tcp_tw_recycle` exists, with its per-peer timestamp cache (TR-1..TR-4, ≤4.11). The
    /// same code looked the route up only for recycle, so the last-quarter rule's
    /// `tcp_peer_is_proven()` never saw one and proved no peer (LQ-6) until 4.12.
    public let hasTwRecycle: Bool
    /// `TCPTimeWaitOverflow`, `TCPReqQFullDrop` and `TCPReqQFullDoCookies` exist (by 3.2;
    /// 2.6.32 only logs a TIME_WAIT overflow, TW-6).
    public let countsDropsByName: Bool
    /// A SYN the listener drops counts `ListenDrops` (LQ-4 steps 2, 3 and 5, TR-3), and a full
    /// accept queue `ListenOverflows` too (CT-2): 3.10's `tcp_v4_conn_request` and 4.x's
    /// `tcp_conn_request` count at their `drop:` label. 2.6.32's `tcp_v4_conn_request` returns
    /// there without counting, so its SYN-time drops count nothing (LQ-4.3), the tw_recycle drop
    /// only `PAWSPassive`.
    public let countsSynDrops: Bool
    /// TR-3: tcp_tw_recycle's per-peer check runs only for a SYN that carries a timestamp. In
    /// 2.6.32 and 3.10 `tcp_v4_conn_request` enters it on `tmp_opt.saw_tstamp &&
    /// sysctl_tw_recycle && …`, so a SYN without TS takes its `else` branch, the last-quarter
    /// rule (TR-6). 4.x `tcp_conn_request` enters it on the sysctl alone and hands `saw_tstamp` to
    /// `tcp_peer_is_proven()`, which drops a TS-less SYN while the peer's entry is under 60 s
    /// old; with tcp_tw_recycle=1 its last-quarter rule never runs. False where the sysctl is gone.
    public let recycleNeedsSynTimestamp: Bool

    /// EP-3/EP-4 eras of `__inet_hash_connect`.
    public enum PortSelection: Sendable, Equatable {
        /// 2.6.32–4.5 (RFC 6056 alg. 3): offset = global hint + F(saddr, daddr, dport), all
        /// parities, `hint += i` on success.
        case globalHint
        /// 4.6–5.11: the same hint, `low`'s parity first in steps of 2, `hint += i + 2`.
        case globalHintParity
        /// 5.18+ and the 2022 stable backports: `table_perturb[2^16]`, 10-s time salt,
        /// random increments (EP-3).
        case perturbTable
    }

    /// TS-3 offset schemes.
    public enum TimestampOffset: Sendable, Equatable {
        /// ≤4.9: TSval is the raw clock, leaking uptime; equal for every connection of a host.
        case none
        /// 4.11 to early 2026: one offset per (saddr, daddr) pair.
        case perHostPair
        /// 6.18.17+ (and 4.10): per 4-tuple, deterministic for one 4-tuple.
        case perFourTuple
    }

    /// TW-3 timer schemes.
    public enum TimeWaitTimer: Sendable, Equatable {
        /// ≤4.2: `INET_TWDR_TWKILL_SLOTS` = 8 slots of 7.5 s reaped by one periodic timer, so a
        /// TIME_WAIT lives (52.5, 60] s; `TW` is counted when it is reaped.
        case deathRow
        /// 4.3+: one timer per TIME_WAIT; `TW`/`TWKilled` counted when it is scheduled (TW-7).
        case perSocket
    }

    /// LQ-4/LQ-5 SYN-queue limits.
    public enum SynQueue: Sendable, Equatable {
        /// ≤4.3: a hash table of `roundup_pow_of_two(max(min(backlog, max_syn_backlog), 8) + 1)`
        /// entries, full when qlen reaches it (LQ-5: 256 for backlog 128).
        case powerOfTwo
        /// 4.4+: the listen backlog; full when `qlen >= backlog`, or `qlen > backlog` since 6.13
        /// and its stable backports (LQ-4.2).
        case backlog(fullWhenGreater: Bool)
    }

    /// TWR-3 age tests.
    public enum TimeWaitReuseAge: Sendable, Equatable {
        /// ≤4.18: `get_seconds() - ts_recent_stamp > 1`.
        case moreThanOneSecond
        /// 4.19–6.13: `ktime_get_seconds() > ts_recent_stamp`.
        case nextSecond
        /// 6.14+: `tcp_tw_reuse_delay` ms after the TIME_WAIT was entered.
        case delayMs
    }

    /// The duration of one jiffy.
    @inlinable public var jiffy: Nanos { Nanos.nanosPerSecond / hz }

    /// The SYN-queue full test of 4.4+ (`inet_csk_reqsk_queue_is_full`).
    public var synQueueFullWhenGreater: Bool {
        if case .backlog(let g) = synQueue { return g }
        return false
    }

    // MARK: the profiles

    /// Sysctl defaults shared by every profile; each profile changes what its version changed.
    static let modernDefaults = Sysctls(
        portRangeLow: 32768, portRangeHigh: 60999, reservedPorts: [],
        tcpTwReuse: 2, tcpTwReuseDelayMs: 1000, tcpTimestamps: 1,
        tcpMaxTwBuckets: 131072, tcpFinTimeoutSeconds: 60, tcpRfc1337: 0,
        somaxconn: 4096, tcpMaxSynBacklog: 2048, tcpSyncookies: 1, tcpAbortOnOverflow: 0,
        tcpSynRetries: 6, tcpSynackRetries: 5, tcpSynLinearTimeouts: 4, tcpOrphanRetries: 0,
        ipAutobindReuse: 0)

    /// Defaults before 5.4: somaxconn 128 and `tcp_max_syn_backlog` 1024, which is `tcp_init()`'s
    /// max(128, ehash/256) for the profiles' 262144-entry ehash (§0.1), and 2.6.32's fixed value
    /// for a machine of that size (LQ-5); a scenario sets another machine's value by sysctl.
    static func olderDefaults(twReuse: Int, portHigh: UInt16 = 60999, synRetries: Int = 6) -> Sysctls {
        var s = modernDefaults
        s.tcpTwReuse = twReuse
        s.portRangeHigh = portHigh
        s.somaxconn = 128
        s.tcpMaxSynBacklog = 1024
        s.tcpSynRetries = synRetries
        return s
    }

    /// Linux 2.6.32 (RHEL 6): 3 s initial RTO, 5 SYN retries, ports 32768–61000 all used,
    /// death-row TIME_WAITs, tcp_tw_recycle, max_tw_buckets 180000, no overflow counter, and
    /// SYN drops that count nothing.
    public static let linux2_6_32: KernelProfile = {
        var d = olderDefaults(twReuse: 0, portHigh: 61000, synRetries: 5)
        d.tcpMaxTwBuckets = 180000
        return KernelProfile(
            name: "2.6.32", release: "2.6.32.9", hz: 1000, defaults: d, portSelection: .globalHint,
            tsOffset: .none, tsHz: 1000, pawsStaleSeconds: 24 * 86400, hasPAWSTimewaitCounter: false,
            timeWaitTimer: .deathRow, hasTimerWheelSlack: false, synQueue: .powerOfTwo,
            synDropNeedsYoungRequests: true, initialRTO: 3 * Nanos.nanosPerSecond,
            hasSynLinearTimeouts: false, synSentFastRetry: false, twReuseAge: .moreThanOneSecond,
            twReuseSkipsFinWait2: false, hasTwRecycle: true, countsDropsByName: false, countsSynDrops: false,
            recycleNeedsSynTimestamp: true)
    }()

    /// Linux 3.10 (RHEL 7): as 2.6.32 with a 1 s initial RTO, 6 SYN retries, the overflow
    /// counter and counted SYN drops.
    public static let linux3_10 = KernelProfile(
        name: "3.10", release: "3.10.105", hz: 1000, defaults: olderDefaults(twReuse: 0, portHigh: 61000),
        portSelection: .globalHint, tsOffset: .none, tsHz: 1000, pawsStaleSeconds: 24 * 86400,
        hasPAWSTimewaitCounter: false, timeWaitTimer: .deathRow, hasTimerWheelSlack: false,
        synQueue: .powerOfTwo, synDropNeedsYoungRequests: true, initialRTO: Nanos.nanosPerSecond,
        hasSynLinearTimeouts: false, synSentFastRetry: false, twReuseAge: .moreThanOneSecond,
        twReuseSkipsFinWait2: false, hasTwRecycle: true, countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: true)

    /// Linux 4.4 (Ubuntu 16.04): per-socket TIME_WAIT timers, the listener rewrite (SYN queue =
    /// backlog), ports 32768–60999, still the all-parity hint and raw-jiffies timestamps.
    public static let linux4_4 = KernelProfile(
        name: "4.4", release: "4.4.121", hz: 250, defaults: olderDefaults(twReuse: 0),
        portSelection: .globalHint, tsOffset: .none, tsHz: 250, pawsStaleSeconds: 24 * 86400,
        hasPAWSTimewaitCounter: false, timeWaitTimer: .perSocket, hasTimerWheelSlack: false,
        synQueue: .backlog(fullWhenGreater: false), synDropNeedsYoungRequests: true,
        initialRTO: Nanos.nanosPerSecond, hasSynLinearTimeouts: false, synSentFastRetry: false,
        twReuseAge: .moreThanOneSecond, twReuseSkipsFinWait2: false, hasTwRecycle: true,
        countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: false)

    /// Linux 4.9 (Debian 9): connect() prefers `low`'s parity (4.6), the timer wheel (4.8);
    /// timestamps still without offset, tcp_tw_recycle still present.
    public static let linux4_9 = KernelProfile(
        name: "4.9", release: "4.9.45", hz: 250, defaults: olderDefaults(twReuse: 0),
        portSelection: .globalHintParity, tsOffset: .none, tsHz: 250, pawsStaleSeconds: 24 * 86400,
        hasPAWSTimewaitCounter: false, timeWaitTimer: .perSocket, hasTimerWheelSlack: true,
        synQueue: .backlog(fullWhenGreater: false), synDropNeedsYoungRequests: true,
        initialRTO: Nanos.nanosPerSecond, hasSynLinearTimeouts: false, synSentFastRetry: false,
        twReuseAge: .moreThanOneSecond, twReuseSkipsFinWait2: false, hasTwRecycle: true,
        countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: false)

    /// Linux 4.19 (Debian 10): tcp_tw_recycle gone (4.12), per host-pair TS offsets and a 1 ms
    /// TS clock (4.11, 4.13), tcp_tw_reuse default 2 (4.18), next-second reuse age (4.19).
    public static let linux4_19 = KernelProfile(
        name: "4.19", release: "4.19.108", hz: 250, defaults: olderDefaults(twReuse: 2),
        portSelection: .globalHintParity, tsOffset: .perHostPair, tsHz: 1000,
        pawsStaleSeconds: 24 * 86400, hasPAWSTimewaitCounter: false, timeWaitTimer: .perSocket,
        hasTimerWheelSlack: true, synQueue: .backlog(fullWhenGreater: false),
        synDropNeedsYoungRequests: false, initialRTO: Nanos.nanosPerSecond,
        hasSynLinearTimeouts: false, synSentFastRetry: false, twReuseAge: .nextSecond,
        twReuseSkipsFinWait2: false, hasTwRecycle: false, countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: false)

    /// Linux 5.4 (Ubuntu 20.04, 5.4.214): somaxconn 4096, max_syn_backlog ehash/128, and the
    /// 2022 port-selection backport (EP-3).
    public static let linux5_4 = KernelProfile(
        name: "5.4", release: "5.4.214", hz: 250, defaults: modernDefaults, portSelection: .perturbTable,
        tsOffset: .perHostPair, tsHz: 1000, pawsStaleSeconds: 24 * 86400, hasPAWSTimewaitCounter: false,
        timeWaitTimer: .perSocket, hasTimerWheelSlack: true, synQueue: .backlog(fullWhenGreater: false),
        synDropNeedsYoungRequests: false, initialRTO: Nanos.nanosPerSecond, hasSynLinearTimeouts: false,
        synSentFastRetry: false, twReuseAge: .nextSecond, twReuseSkipsFinWait2: false,
        hasTwRecycle: false, countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: false)

    /// Linux 5.10 (Debian 11, 5.10.13): the fast SYN retry after a bogus ACK (≈5.6); the
    /// hint-based port choice (before 5.12 and before the 2022 backport).
    public static let linux5_10 = KernelProfile(
        name: "5.10", release: "5.10.13", hz: 250, defaults: modernDefaults,
        portSelection: .globalHintParity, tsOffset: .perHostPair, tsHz: 1000,
        pawsStaleSeconds: 24 * 86400, hasPAWSTimewaitCounter: false, timeWaitTimer: .perSocket,
        hasTimerWheelSlack: true, synQueue: .backlog(fullWhenGreater: false),
        synDropNeedsYoungRequests: false, initialRTO: Nanos.nanosPerSecond,
        hasSynLinearTimeouts: false, synSentFastRetry: true, twReuseAge: .nextSecond,
        twReuseSkipsFinWait2: false, hasTwRecycle: false, countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: false)

    /// Linux 5.15 (Ubuntu 22.04, 5.15.100): the EP-3 port selection.
    public static let linux5_15 = KernelProfile(
        name: "5.15", release: "5.15.100", hz: 250, defaults: modernDefaults,
        portSelection: .perturbTable, tsOffset: .perHostPair, tsHz: 1000, pawsStaleSeconds: 24 * 86400,
        hasPAWSTimewaitCounter: false, timeWaitTimer: .perSocket, hasTimerWheelSlack: true,
        synQueue: .backlog(fullWhenGreater: false), synDropNeedsYoungRequests: false,
        initialRTO: Nanos.nanosPerSecond, hasSynLinearTimeouts: false, synSentFastRetry: true,
        twReuseAge: .nextSecond, twReuseSkipsFinWait2: false, hasTwRecycle: false,
        countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: false)

    /// Linux 6.1 (Debian 12, 6.1.166): the 2024–25 stable backports (FIN_WAIT2 TIME_WAITs not
    /// reused; SYN queue full only when `qlen > backlog`).
    public static let linux6_1 = KernelProfile(
        name: "6.1", release: "6.1.166", hz: 250, defaults: modernDefaults, portSelection: .perturbTable,
        tsOffset: .perHostPair, tsHz: 1000, pawsStaleSeconds: 24 * 86400, hasPAWSTimewaitCounter: false,
        timeWaitTimer: .perSocket, hasTimerWheelSlack: true, synQueue: .backlog(fullWhenGreater: true),
        synDropNeedsYoungRequests: false, initialRTO: Nanos.nanosPerSecond, hasSynLinearTimeouts: false,
        synSentFastRetry: true, twReuseAge: .nextSecond, twReuseSkipsFinWait2: true,
        hasTwRecycle: false, countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: false)

    /// Linux 6.6: linear SYN timeouts (6.5).
    public static let linux6_6 = KernelProfile(
        name: "6.6", release: "6.6 (late stable)", hz: 250, defaults: modernDefaults,
        portSelection: .perturbTable, tsOffset: .perHostPair, tsHz: 1000, pawsStaleSeconds: 24 * 86400,
        hasPAWSTimewaitCounter: false, timeWaitTimer: .perSocket, hasTimerWheelSlack: true,
        synQueue: .backlog(fullWhenGreater: true), synDropNeedsYoungRequests: false,
        initialRTO: Nanos.nanosPerSecond, hasSynLinearTimeouts: true, synSentFastRetry: true,
        twReuseAge: .nextSecond, twReuseSkipsFinWait2: true, hasTwRecycle: false,
        countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: false)

    /// Linux 6.12: `TCP_PAWS_WRAP` (6.7) for stale ts_recent.
    public static let linux6_12 = KernelProfile(
        name: "6.12", release: "6.12 (late stable)", hz: 250, defaults: modernDefaults,
        portSelection: .perturbTable, tsOffset: .perHostPair, tsHz: 1000, pawsStaleSeconds: 2147,
        hasPAWSTimewaitCounter: false, timeWaitTimer: .perSocket, hasTimerWheelSlack: true,
        synQueue: .backlog(fullWhenGreater: true), synDropNeedsYoungRequests: false,
        initialRTO: Nanos.nanosPerSecond, hasSynLinearTimeouts: true, synSentFastRetry: true,
        twReuseAge: .nextSecond, twReuseSkipsFinWait2: true, hasTwRecycle: false,
        countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: false)

    /// Linux 6.18.44 as run on this machine: `tcp_tw_reuse_delay` (6.14), `PAWSTimewait`, and
    /// per-4-tuple TS offsets (6.18.17+).
    public static let linux6_18 = KernelProfile(
        name: "6.18", release: "6.18.44", hz: 250, defaults: modernDefaults, portSelection: .perturbTable,
        tsOffset: .perFourTuple, tsHz: 1000, pawsStaleSeconds: 2147, hasPAWSTimewaitCounter: true,
        timeWaitTimer: .perSocket, hasTimerWheelSlack: true, synQueue: .backlog(fullWhenGreater: true),
        synDropNeedsYoungRequests: false, initialRTO: Nanos.nanosPerSecond, hasSynLinearTimeouts: true,
        synSentFastRetry: true, twReuseAge: .delayMs, twReuseSkipsFinWait2: true, hasTwRecycle: false,
        countsDropsByName: true, countsSynDrops: true,
        recycleNeedsSynTimestamp: false)

    /// Every profile the simulator has, oldest first.
    public static let all: [KernelProfile] = [
        linux2_6_32, linux3_10, linux4_4, linux4_9, linux4_19, linux5_4, linux5_10, linux5_15, linux6_1,
        linux6_6, linux6_12, linux6_18,
    ]

    /// The profile a scenario gets when it names none.
    public static var newest: KernelProfile { all[all.count - 1] }

    /// Looks a profile up by its scenario name.
    public static func named(_ name: String) -> KernelProfile? { all.first { $0.name == name } }

    // MARK: sysctls by version

    /// Sysctls that appeared or disappeared within the profiles' span (kernel-spec §0.2, §0.3).
    static let sysctlLifetimes: [(name: String, added: String?, removed: String?)] = [
        ("net.ipv4.ip_local_reserved_ports", "2.6.35", nil),
        ("net.ipv4.tcp_tw_recycle", nil, "4.12"),
        ("net.ipv4.ip_autobind_reuse", "5.7", nil),
        ("net.ipv4.tcp_syn_linear_timeouts", "6.5", nil),
        ("net.ipv4.tcp_tw_reuse_delay", "6.14", nil),
    ]

    /// Values whose meaning came later: `tcp_syncookies=2` (~3.12) and `tcp_tw_reuse=2` (4.18).
    /// Older kernels took any nonzero value as "on", which is not what a scenario writing 2
    /// means, so these are errors. `tcp_timestamps=2` is not: before 4.10 a nonzero value
    /// meant "on, without offset" (TS-1), exactly what 2 means since.
    static let sysctlValueSince: [(name: String, value: String, since: String)] = [
        ("net.ipv4.tcp_syncookies", "2", "3.12"),
        ("net.ipv4.tcp_tw_reuse", "2", "4.18"),
    ]

    /// nil if `name` exists on this version, else why not (naming the version that added or
    /// removed it), fit for one error line.
    public func sysctlUnavailable(_ name: String) -> String? {
        guard let l = Self.sysctlLifetimes.first(where: { $0.name == name }) else { return nil }
        if let a = l.added, Self.compare(self.name, a) < 0 {
            return "\(name) does not exist on kernel \(self.name): it was added in \(a)"
        }
        if let r = l.removed, Self.compare(self.name, r) >= 0 {
            return "\(name) does not exist on kernel \(self.name): it was removed in \(r)"
        }
        return nil
    }

    /// nil if `value` is valid for `name` on this version, else why not.
    public func sysctlValueUnavailable(_ name: String, _ value: String) -> String? {
        for v in Self.sysctlValueSince where v.name == name && v.value == value {
            if Self.compare(self.name, v.since) < 0 {
                return
                    "\(name)=\(value) is not valid on kernel \(self.name): the value exists since \(v.since)"
            }
        }
        return nil
    }

    /// Orders dotted versions numerically ("4.9" < "4.12").
    public static func compare(_ a: String, _ b: String) -> Int {
        let x = a.split(separator: ".").map { Int($0) ?? 0 }
        let y = b.split(separator: ".").map { Int($0) ?? 0 }
        for k in 0..<max(x.count, y.count) {
            let p = k < x.count ? x[k] : 0
            let q = k < y.count ? y[k] : 0
            if p != q { return p < q ? -1 : 1 }
        }
        return 0
    }
}
