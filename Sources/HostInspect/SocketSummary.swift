/// What `ss -ant` state counts and `ss -lnt` show.
public struct SocketSummary: Sendable, Equatable {
    /// `ss` state name -> count; zero counts are absent, and so is `"CLOSE"`.
    public var states: [String: Int]
    /// LISTEN sockets, sorted by port, then address.
    public var listeners: [ListenerQueue]

    public init(_ sockets: [DiagSocket]) {
        var listeners: [ListenerQueue] = []
        for socket in sockets {
            if socket.state == TCPState.listen {
                listeners.append(
                    ListenerQueue(
                        address: socket.localAddress, port: socket.localPort,
                        recvQ: socket.recvQ, sendQ: socket.sendQ))
            }
        }
        listeners.sort {
            ($0.port, $0.address, $0.recvQ, $0.sendQ) < ($1.port, $1.address, $1.recvQ, $1.sendQ)
        }
        self.states = Self.stateCounts(sockets)
        self.listeners = listeners
    }

    /// ``states`` alone: `ss` state name -> count, without zero counts and `"CLOSE"`.
    public static func stateCounts(_ sockets: [DiagSocket]) -> [String: Int] {
        var states: [String: Int] = [:]
        for socket in sockets where socket.state != TCPState.close {
            states[socket.ssName, default: 0] += 1
        }
        return states
    }
}

/// One row of `ss -lnt`: a LISTEN socket's accept queue.
public struct ListenerQueue: Sendable, Equatable {
    public var address: String
    public var port: Int
    /// Current accept-queue length (connections completed but not yet accepted).
    public var recvQ: Int
    /// Backlog after the somaxconn clamp (0 when read from `/proc`).
    public var sendQ: Int

    public init(address: String, port: Int, recvQ: Int, sendQ: Int) {
        self.address = address
        self.port = port
        self.recvQ = recvQ
        self.sendQ = sendQ
    }
}
