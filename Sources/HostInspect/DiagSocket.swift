/// One TCP socket as sock_diag (INET_DIAG) reports it.
///
/// TIME_WAIT sockets carry their substate: an orphaned FIN_WAIT2 that the kernel turned into a
/// timewait socket reports `state` 5 (`"FIN-WAIT-2"`) with `timer` 3, inode 0 and uid 0.
/// Request sockets (the SYN queue) report `state` 3 (`"SYN-RECV"`) with `timer` 1 and inode 0.
public struct DiagSocket: Sendable, Equatable {
    /// 4 or 6. Dual-stack IPv6 sockets talking IPv4 are 6, with `::ffff:a.b.c.d` addresses.
    public var family: Int
    /// Kernel TCP state number (1 ESTABLISHED … 10 LISTEN, 11 CLOSING).
    public var state: Int
    /// The `ss` name of `state`: `"ESTAB"`, `"SYN-SENT"`, `"SYN-RECV"`, `"FIN-WAIT-1"`,
    /// `"FIN-WAIT-2"`, `"TIME-WAIT"`, `"CLOSE"`, `"CLOSE-WAIT"`, `"LAST-ACK"`, `"LISTEN"`,
    /// `"CLOSING"`.
    public var ssName: String
    public var localAddress: String
    public var localPort: Int
    public var remoteAddress: String
    public var remotePort: Int
    /// `idiag_rqueue`: unread bytes; for LISTEN the current accept-queue length.
    public var recvQ: Int
    /// `idiag_wqueue`: unacknowledged bytes; for LISTEN the backlog after the somaxconn clamp
    /// (the `/proc/net/tcp` fallback cannot see the backlog and reports 0).
    public var sendQ: Int
    /// `idiag_timer`: 0 none, 1 retransmit (also SYN-ACK timer of a request), 2 keepalive,
    /// 3 TIME_WAIT, 4 zero-window probe.
    public var timer: Int
    /// `idiag_expires`: milliseconds until `timer` fires (10 ms resolution from `/proc`).
    public var expiresMs: Int
    /// Socket inode; 0 for TIME_WAIT and request sockets and for unaccepted children.
    public var inode: UInt64
    public var uid: UInt32
    /// Whether the connection negotiated TCP timestamps (tcp_info's TCPI_OPT_TIMESTAMPS), for
    /// connected sockets from netlink; nil when unknown (listeners, TIME_WAIT and request
    /// sockets, `/proc`).
    /// `tcp_tw_reuse` can only reuse a TIME_WAIT that recorded a timestamp (TWR-1).
    public var timestamps: Bool?

    public init(
        family: Int, state: Int, ssName: String? = nil,
        localAddress: String, localPort: Int, remoteAddress: String, remotePort: Int,
        recvQ: Int = 0, sendQ: Int = 0, timer: Int = 0, expiresMs: Int = 0,
        inode: UInt64 = 0, uid: UInt32 = 0, timestamps: Bool? = nil
    ) {
        self.family = family
        self.state = state
        self.ssName = ssName ?? TCPState.ssName(state)
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.recvQ = recvQ
        self.sendQ = sendQ
        self.timer = timer
        self.expiresMs = expiresMs
        self.inode = inode
        self.uid = uid
        self.timestamps = timestamps
    }
}

/// Kernel TCP state numbers (`include/net/tcp_states.h`) and their `ss` names.
public enum TCPState {
    public static let established = 1
    public static let synSent = 2
    public static let synRecv = 3
    public static let finWait1 = 4
    public static let finWait2 = 5
    public static let timeWait = 6
    public static let close = 7
    public static let closeWait = 8
    public static let lastAck = 9
    public static let listen = 10
    public static let closing = 11
    /// A request socket internally; sock_diag and `/proc/net/tcp` report it as `synRecv`.
    public static let newSynRecv = 12
    /// ≥ 6.8: bound, neither listening nor connecting (only with `ss -B`; not dumped here).
    public static let boundInactive = 13

    private static let names = [
        "UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
        "CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING", "NEW-SYN-RECV", "BOUND-INACTIVE",
    ]

    /// The name `ss` prints for a kernel state number (`"UNKNOWN"` outside 1...13).
    public static func ssName(_ state: Int) -> String {
        state > 0 && state < names.count ? names[state] : "UNKNOWN"
    }
}
