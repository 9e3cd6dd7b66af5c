/// TCP states, with the names `ss` prints.
public enum TCPState: UInt8, Sendable, CaseIterable, BitwiseCopyable {
    case closed, listen, synSent, synRecv, established, finWait1, finWait2, closeWait, closing, lastAck,
        timeWait

    /// The state name as `ss` prints it.
    public var ssName: String {
        switch self {
        case .closed: "CLOSED"
        case .listen: "LISTEN"
        case .synSent: "SYN-SENT"
        case .synRecv: "SYN-RECV"
        case .established: "ESTAB"
        case .finWait1: "FIN-WAIT-1"
        case .finWait2: "FIN-WAIT-2"
        case .closeWait: "CLOSE-WAIT"
        case .closing: "CLOSING"
        case .lastAck: "LAST-ACK"
        case .timeWait: "TIME-WAIT"
        }
    }
}

/// Error numbers a socket call or a connection can end with.
public enum Errno: UInt8, Error, Sendable, CaseIterable, BitwiseCopyable {
    case none, EADDRNOTAVAIL, EADDRINUSE, ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE

    public var name: String { String(describing: self) }
}

/// An application's reference to a full socket; stale after the socket is freed.
public struct SocketHandle: Sendable, BitwiseCopyable, Equatable, Hashable {
    public var index: UInt32
    public var generation: UInt32
    public init(index: UInt32, generation: UInt32) {
        self.index = index
        self.generation = generation
    }
}

/// bind() before connect() (EP-7, EP-8).
public struct BindRequest: Sendable, Equatable {
    public var address: IPv4Address?
    public var port: UInt16
    public var noPort: Bool
    public var reuseAddress: Bool
    public init(address: IPv4Address?, port: UInt16, noPort: Bool, reuseAddress: Bool) {
        self.address = address
        self.port = port
        self.noPort = noPort
        self.reuseAddress = reuseAddress
    }
}

/// A full socket (`tcp_sock`) in any state but TIME_WAIT and request.
struct FullSocket: SlabSlot {
    var tuple: FourTuple
    var state: TCPState = .closed
    var generation: UInt32 = 0
    var live = false
    /// The owning application; 0 for orphans and children not yet accepted.
    var app: UInt32 = 0
    var autobound = false
    var holdsDestBit = false
    var reuseAddress = false
    var bindOwnerID: UInt32 = 0
    var destination: Int32 = -1
    var listener: Int32 = -1
    var inAcceptQueue = false
    var tsOK = false
    var finSent = false
    /// close() queued the FIN behind data that an RTO already retransmitted: with cwnd at 1
    /// (`tcp_enter_loss`) `tcp_write_xmit` keeps it until that data is acknowledged.
    var finQueued = false
    var ackPending = false
    var ackDirty = false
    /// An ACK is owed by the delayed-ACK timer (`tcp_send_delayed_ack`); anything sent first
    /// carries it.
    var delayedAck = false
    var delayedAckGeneration: UInt32 = 0
    /// In-order data has arrived, so `icsk_ack.ato` is TCP_ATO_MIN (`tcp_event_data_recv`).
    var receivedData = false
    /// close() was called (SOCK_DEAD / RCV_SHUTDOWN).
    var closedByApp = false
    var hadRTTSample = false
    var iss: UInt32 = 0
    var sndUna: UInt32 = 0
    var sndNxt: UInt32 = 0
    var rcvNxt: UInt32 = 0
    var tsOffset: UInt32 = 0
    var tsRecent: UInt32 = 0
    var tsRecentStamp: Int64 = 0
    var synTSval: UInt32 = 0
    var retransmits: Int = 0
    var totalRTO: Int = 0
    var rto: Nanos = Nanos.nanosPerSecond
    /// When the oldest unacknowledged segment was first sent (`retrans_stamp`).
    var retransStamp: Nanos = 0
    var timerGeneration: UInt32 = 0
    var timerArmed = false
    /// The armed timer is a tail loss probe (`ICSK_TIME_LOSS_PROBE`), not the RTO.
    var probeArmed = false
    var srtt: Nanos = 0
    var sentAt: Nanos = 0
    /// Unacknowledged payload, for retransmission.
    var outLength: UInt32 = 0
    var outMessage: AppMessage = .none
    /// Received data the application has not read (CL-2), with its last message.
    var unreadBytes: UInt32 = 0
    var pendingMessage: AppMessage = .none
    var eofPending = false

    init(tuple: FourTuple) { self.tuple = tuple }

    /// The generations survive slot reuse, so a dead socket's handles and timers can never act
    /// on the slot's next occupant.
    mutating func inherit(from previous: FullSocket) {
        generation = previous.generation &+ 1
        timerGeneration = previous.timerGeneration &+ 1
        delayedAckGeneration = previous.delayedAckGeneration &+ 1
    }
}

/// A timewait socket (`tcp_timewait_sock`, TW-2): what is left of a connection after close.
struct TimeWaitSocket: SlabSlot {
    var tuple: FourTuple
    var generation: UInt32 = 0
    var live = false
    /// FIN_WAIT2 substate (orphan waiting for the peer's FIN, TW-9) instead of TIME_WAIT.
    var finWait2 = false
    /// Last scheduled for ≤4 s (tcp_tw_recycle, short FIN_WAIT2): on the death row (≤4.2) the
    /// recycle calendar reaps it and counts `TWKilled`, not `TW` (TW-7, TR-2).
    var shortLived = false
    var rcvNxt: UInt32 = 0
    var sndNxt: UInt32 = 0
    var tsOffset: UInt32 = 0
    var tsRecent: UInt32 = 0
    /// Seconds; 0 when the connection did not use timestamps (TWR-2.1).
    var tsRecentStamp: Int64 = 0
    var entry: Nanos = 0
    /// `tw_timeout`, chosen by `tcp_time_wait()` at creation: 3.5·RTO when tcp_tw_recycle's
    /// per-peer cache vouched for the peer (`recycle_ok`, TR-2), else `TCP_TIMEWAIT_LEN`. The
    /// FIN_WAIT2 → TIME_WAIT move re-arms to it when the cache vouches again.
    var twTimeout: Nanos = 60 * Nanos.nanosPerSecond
    var expiry: Nanos = 0
    var lastAck: Nanos = Int64.min / 2
    var autobound = false
    var holdsDestBit = false
    var reuseAddress = false
    var bindOwnerID: UInt32 = 0
    var destination: Int32 = -1

    init(tuple: FourTuple) { self.tuple = tuple }
}

/// A request socket in SYN_RECV (`tcp_request_sock`, LQ-4).
struct RequestSock: SlabSlot {
    var tuple: FourTuple
    var generation: UInt32 = 0
    var live = false
    var listener: Int32 = -1
    var iss: UInt32 = 0
    var rcvNxt: UInt32 = 0
    var tsOK = false
    var tsOffset: UInt32 = 0
    var tsRecent: UInt32 = 0
    /// Expiries of the SYN-ACK timer so far (`num_timeout`): the backoff exponent, and the
    /// request is "young" while it is 0.
    var numTimeout = 0
    /// SYN-ACKs retransmitted, by the timer or for a retransmitted SYN (`num_retrans`).
    var numRetrans = 0
    /// The final ACK arrived but the accept queue was full (LQ-7).
    var acked = false
    /// `last_oow_ack_time`: the 32-bit jiffies of the last answer to an out-of-window segment or
    /// retransmitted SYN (`tcp_oow_rate_limited`); 0 = never. SYN-ACKs from the timer leave it.
    var lastOOWAck: UInt32 = 0
    var sentAt: Nanos = 0
    /// Bumped whenever the SYN-ACK timer is re-armed (`mod_timer`), so only the last one fires.
    var timerGeneration: UInt32 = 0

    init(tuple: FourTuple) { self.tuple = tuple }

    /// Both generations survive slot reuse, so a freed request's timers never fire on the
    /// slot's next occupant.
    mutating func inherit(from previous: RequestSock) {
        generation = previous.generation &+ 1
        timerGeneration = previous.timerGeneration &+ 1
    }
}

/// A listening socket with its accept queue (LQ-1, LQ-2).
struct Listener {
    var address: IPv4Address
    var port: UInt16
    /// `sk_max_ack_backlog`: the listen() backlog after the somaxconn clamp.
    var backlog: Int
    var app: UInt32
    var reuseAddress: Bool
    var acceptQueue: [UInt32] = []
    var head = 0
    /// Requests in SYN_RECV (`qlen`).
    var qlen = 0
    /// Requests whose SYN-ACK timer has not expired yet (`young`, `num_timeout == 0`), for the
    /// pruning rule of LQ-9.
    var young = 0
    /// Last time a cookie was sent (`tcp_synq_overflow`), for LQ-8.
    var lastOverflow: Nanos = Int64.min / 2
    var bindOwnerID: UInt32 = 0

    var acceptQueueLength: Int { acceptQueue.count - head }
}

/// What a timer is for.
public enum TimerKind: UInt8, Sendable, BitwiseCopyable, CaseIterable {
    /// A full socket's retransmission timer (SYN, data, FIN).
    case retransmit
    /// A timewait socket's expiry.
    case timeWaitExpire
    /// The moment a TIME_WAIT becomes reusable by connect() (TWR-2).
    case timeWaitReusable
    /// A request socket's SYN-ACK timer (LQ-9).
    case requestTimer
    /// A full socket's delayed-ACK timer (`tcp_delack_timer`).
    case delayedAck
}

/// A timer the stack wants: the engine calls ``HostStack/fire(_:now:out:)`` at `time`.
public struct TimerRequest: Sendable, BitwiseCopyable {
    public var time: Nanos
    public var kind: TimerKind
    public var index: UInt32
    public var generation: UInt32
    /// A 60 s TIME_WAIT timer: its expiries only grow, so the engine may keep them in a FIFO.
    public var isTimeWaitLength: Bool
    public init(time: Nanos, kind: TimerKind, index: UInt32, generation: UInt32, isTimeWaitLength: Bool) {
        self.time = time
        self.kind = kind
        self.index = index
        self.generation = generation
        self.isTimeWaitLength = isTimeWaitLength
    }
}

/// Something an application must hear about.
public struct AppEvent: Sendable, BitwiseCopyable {
    public enum Kind: UInt8, Sendable, BitwiseCopyable {
        /// connect() completed.
        case connected
        /// The connection failed or was reset; the handle is dead.
        case failed
        /// Data arrived (already read).
        case data
        /// The peer's FIN arrived (read returned 0).
        case eof
        /// A child is waiting in the listener's accept queue.
        case acceptReady
    }
    public var app: UInt32
    public var kind: Kind
    public var socket: SocketHandle
    public var listener: Int32
    public var errno: Errno
    public var message: AppMessage
}

/// Output of one call into a stack: segments to send, timers to arm, events for applications.
public struct Effects: Sendable {
    public var segments: [Segment] = []
    public var timers: [TimerRequest] = []
    public var events: [AppEvent] = []
    public init() {}
    public mutating func removeAll() {
        if !segments.isEmpty { segments.removeAll(keepingCapacity: true) }
        if !timers.isEmpty { timers.removeAll(keepingCapacity: true) }
        if !events.isEmpty { events.removeAll(keepingCapacity: true) }
    }
}
