/// The SNMP and Linux MIB counters the model keeps, named as `nstat` prints them (CT-2).
public enum Counter: Int, CaseIterable, Sendable {
    case activeOpens, passiveOpens, attemptFails, estabResets, outRsts, retransSegs
    case tw, twKilled, twRecycled, timeWaitOverflow
    case pawsActive, pawsEstab, pawsTimewait
    case listenOverflows, listenDrops, reqQFullDrop, reqQFullDoCookies
    case syncookiesSent, syncookiesRecv, syncookiesFailed, embryonicRsts
    case abortOnData, abortOnClose, abortOnTimeout
    case timeouts, synRetrans, lossProbes, challengeACK, synChallenge
    case ackSkippedTimeWait, ackSkippedSynRecv, ackSkippedFinWait2
    /// SYNs dropped by tcp_tw_recycle's per-peer timestamp check (TR-3, ≤4.11 only).
    case pawsPassive

    /// The `nstat` name: `Tcp…` for /proc/net/snmp, `TcpExt…` for /proc/net/netstat.
    public var nstatName: String {
        switch self {
        case .activeOpens: "TcpActiveOpens"
        case .passiveOpens: "TcpPassiveOpens"
        case .attemptFails: "TcpAttemptFails"
        case .estabResets: "TcpEstabResets"
        case .outRsts: "TcpOutRsts"
        case .retransSegs: "TcpRetransSegs"
        case .tw: "TcpExtTW"
        case .twKilled: "TcpExtTWKilled"
        case .twRecycled: "TcpExtTWRecycled"
        case .timeWaitOverflow: "TcpExtTCPTimeWaitOverflow"
        case .pawsActive: "TcpExtPAWSActive"
        case .pawsEstab: "TcpExtPAWSEstab"
        case .pawsTimewait: "TcpExtPAWSTimewait"
        case .pawsPassive: "TcpExtPAWSPassive"
        case .listenOverflows: "TcpExtListenOverflows"
        case .listenDrops: "TcpExtListenDrops"
        case .reqQFullDrop: "TcpExtTCPReqQFullDrop"
        case .reqQFullDoCookies: "TcpExtTCPReqQFullDoCookies"
        case .syncookiesSent: "TcpExtSyncookiesSent"
        case .syncookiesRecv: "TcpExtSyncookiesRecv"
        case .syncookiesFailed: "TcpExtSyncookiesFailed"
        case .embryonicRsts: "TcpExtEmbryonicRsts"
        case .abortOnData: "TcpExtTCPAbortOnData"
        case .abortOnClose: "TcpExtTCPAbortOnClose"
        case .abortOnTimeout: "TcpExtTCPAbortOnTimeout"
        case .timeouts: "TcpExtTCPTimeouts"
        case .synRetrans: "TcpExtTCPSynRetrans"
        case .lossProbes: "TcpExtTCPLossProbes"
        case .challengeACK: "TcpExtTCPChallengeACK"
        case .synChallenge: "TcpExtTCPSYNChallenge"
        case .ackSkippedTimeWait: "TcpExtTCPACKSkippedTimeWait"
        case .ackSkippedSynRecv: "TcpExtTCPACKSkippedSynRecv"
        case .ackSkippedFinWait2: "TcpExtTCPACKSkippedFinWait2"
        }
    }
}

/// One namespace's counters, all starting at zero, so every value is a delta over the run.
public struct Counters: Sendable, Equatable {
    @usableFromInline var values: [Int64]
    public init() { values = Array(repeating: 0, count: Counter.allCases.count) }

    @inlinable public subscript(_ c: Counter) -> Int64 {
        get { values[c.rawValue] }
        set { values[c.rawValue] = newValue }
    }

    @inlinable public mutating func bump(_ c: Counter, by n: Int64 = 1) { values[c.rawValue] &+= n }

    /// Non-zero counters as (nstat name, value), sorted by name.
    public var nonZero: [(name: String, value: Int64)] {
        Counter.allCases.filter { self[$0] != 0 }.map { ($0.nstatName, self[$0]) }.sorted {
            $0.name < $1.name
        }
    }
}
