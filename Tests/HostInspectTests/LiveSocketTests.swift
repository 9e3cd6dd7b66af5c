import Glibc
import HostInspect
import Testing

/// Tests on this process's own network namespace: sockets on loopback, filtered by the ports
/// they create. Serialized so the counter test sees only its own connect().
@Suite("Live namespace (loopback)", .serialized)
struct LiveSocketTests {
    @Test("listen(4) with 3 unaccepted clients: LISTEN 3/4 and 3+3 ESTAB")
    func listenerQueue() throws {
        let listener = Loopback.listen4(backlog: 4)
        defer { close(listener.fd) }
        let clients = (0..<3).map { _ in Loopback.connect4(port: listener.port) }
        defer { for client in clients { close(client.fd) } }
        let clientPorts = Set(clients.map(\.port))

        let mine = try SocketDiag.dumpTCP(from: .netlink).touching([listener.port])

        let listening = mine.filter { $0.state == TCPState.listen }
        #expect(
            listening == [
                DiagSocket(
                    family: 4, state: 10, ssName: "LISTEN", localAddress: "127.0.0.1",
                    localPort: listener.port, remoteAddress: "0.0.0.0", remotePort: 0,
                    recvQ: 3, sendQ: 4, timer: 0, expiresMs: 0,
                    inode: listening.first?.inode ?? 0, uid: getuid())
            ])
        #expect(listening.first.map { $0.inode > 0 } == true)

        let established = mine.filter { $0.ssName == "ESTAB" }
        #expect(established.count == 6)
        let serverSide = established.filter { $0.localPort == listener.port }
        let clientSide = established.filter { $0.remotePort == listener.port }
        #expect(Set(serverSide.map(\.remotePort)) == clientPorts)
        #expect(Set(clientSide.map(\.localPort)) == clientPorts)
        #expect(serverSide.count == 3 && clientSide.count == 3)
        for socket in established {
            #expect(socket.family == 4)
            #expect(socket.localAddress == "127.0.0.1" && socket.remoteAddress == "127.0.0.1")
            #expect(socket.recvQ == 0 && socket.sendQ == 0)
        }
        // Children still in the accept queue have no file, hence no inode; the clients do.
        #expect(serverSide.allSatisfy { $0.inode == 0 })
        #expect(clientSide.allSatisfy { $0.inode > 0 })

        let summary = SocketSummary(mine)
        #expect(summary.states == ["LISTEN": 1, "ESTAB": 6])
        #expect(
            summary.listeners == [
                ListenerQueue(address: "127.0.0.1", port: listener.port, recvQ: 3, sendQ: 4)
            ])

        // The default entry point (netlink with /proc fallback) sees the same sockets.
        let viaDefault = try SocketDiag.dumpTCP().touching([listener.port])
        #expect(Set(viaDefault.map(PortTriple.init)) == Set(mine.map(PortTriple.init)))
    }

    @Test("Client closes first, then server: TIME-WAIT on the client's 4-tuple, ~60 s left")
    func timeWait() throws {
        let listener = Loopback.listen4(backlog: 4)
        defer { close(listener.fd) }
        let client = Loopback.connect4(port: listener.port)
        let server = Loopback.accept(listener.fd)

        close(client.fd)
        let sawCloseWait = try Loopback.waitUntil {
            try SocketDiag.dumpTCP(from: .netlink).contains {
                $0.localPort == listener.port && $0.remotePort == client.port && $0.ssName == "CLOSE-WAIT"
            }
        }
        #expect(sawCloseWait)
        close(server)

        var timeWait: DiagSocket?
        _ = try Loopback.waitUntil {
            timeWait = try SocketDiag.dumpTCP(from: .netlink).first {
                $0.localPort == client.port && $0.remotePort == listener.port && $0.state == TCPState.timeWait
            }
            return timeWait != nil
        }
        let socket = try #require(timeWait)
        #expect(socket.ssName == "TIME-WAIT")
        #expect(socket.family == 4)
        #expect(socket.localAddress == "127.0.0.1" && socket.remoteAddress == "127.0.0.1")
        #expect(socket.timer == 3)
        #expect(socket.expiresMs > 55_000 && socket.expiresMs <= 62_100)
        #expect(socket.inode == 0 && socket.uid == 0)
        #expect(socket.recvQ == 0 && socket.sendQ == 0)

        // The passive closer went through LAST-ACK to CLOSE: nothing is left on its side.
        let serverSide = try SocketDiag.dumpTCP(from: .netlink).filter {
            $0.localPort == listener.port && $0.remotePort == client.port
        }
        #expect(serverSide.isEmpty)

        let fromProc = try SocketDiag.dumpTCP(from: .proc).first {
            $0.localPort == client.port && $0.remotePort == listener.port
        }
        #expect(fromProc?.state == TCPState.timeWait)
        #expect(fromProc?.timer == 3)
        #expect(fromProc.map { $0.expiresMs > 55_000 && $0.expiresMs <= 62_100 } == true)
    }

    @Test("netlink and /proc agree on (state, local port, remote port) for our sockets")
    func netlinkMatchesProc() throws {
        let listener = Loopback.listen4(backlog: 8)
        defer { close(listener.fd) }
        let first = Loopback.connect4(port: listener.port)
        defer { close(first.fd) }
        let server = Loopback.accept(listener.fd)  // the first connection's child gets an inode
        defer { close(server) }
        let second = Loopback.connect4(port: listener.port)  // its child stays queued
        defer { close(second.fd) }
        let closing = Loopback.connect4(port: listener.port)
        // Client: orphaned FIN_WAIT2, i.e. a timewait socket in substate FIN-WAIT-2;
        // its queued child: CLOSE-WAIT.
        close(closing.fd)

        var ports: Set<Int> = [listener.port]
        var listener6: (fd: Int32, port: Int)?
        var clients6: [Int32] = []
        if let dual = Loopback.listen6DualStack(backlog: 8) {
            listener6 = dual
            ports.insert(dual.port)
            let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]
            let loopback6: [UInt8] = Array(repeating: 0, count: 15) + [1]
            for address in [mapped, loopback6] {
                if let client = Loopback.connect6(address: address, port: dual.port) {
                    clients6.append(client.fd)
                }
            }
        }
        defer {
            for fd in clients6 { close(fd) }
            if let listener6 { close(listener6.fd) }
        }

        let expectedStates = try Loopback.waitUntil {
            let states = try SocketDiag.dumpTCP(from: .netlink).touching([listener.port]).map(\.ssName)
            return states.contains("CLOSE-WAIT") && states.contains("FIN-WAIT-2")
        }
        #expect(expectedStates)

        // /proc is read a page at a time and can skip rows while other sockets of the namespace
        // come and go; take a fresh pair of dumps if the first pair disagrees.
        var netlink: [DiagSocket] = []
        var proc: [DiagSocket] = []
        for _ in 0..<3 {
            netlink = try SocketDiag.dumpTCP(from: .netlink).touching(ports)
            proc = try SocketDiag.dumpTCP(from: .proc).touching(ports)
            if Set(netlink.map(PortTriple.init)) == Set(proc.map(PortTriple.init)) { break }
        }
        #expect(Set(netlink.map(PortTriple.init)) == Set(proc.map(PortTriple.init)))
        #expect(netlink.count == proc.count)
        #expect(netlink.count == 7 + (listener6 == nil ? 0 : 1 + 2 * clients6.count))

        // Same addresses and queues, except the backlog that /proc cannot show.
        func key(_ socket: DiagSocket) -> String {
            "\(socket.family) \(socket.state) \(socket.localAddress):\(socket.localPort) "
                + "\(socket.remoteAddress):\(socket.remotePort) \(socket.recvQ) \(socket.inode) \(socket.uid)"
        }
        #expect(Set(netlink.map(key)) == Set(proc.map(key)))
        #expect(proc.filter { $0.state == TCPState.listen }.allSatisfy { $0.sendQ == 0 })
    }

    @Test("IPv6 addresses: ::ffff:127.0.0.1 for a mapped connection, ::1 for loopback")
    func ipv6Addresses() throws {
        guard let listener = Loopback.listen6DualStack(backlog: 8) else {
            print("skipped: no IPv6 in this namespace")
            return
        }
        defer { close(listener.fd) }
        let mappedBytes: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]
        let mapped = try #require(Loopback.connect6(address: mappedBytes, port: listener.port))
        defer { close(mapped.fd) }

        let mine = try SocketDiag.dumpTCP(from: .netlink).touching([listener.port])
        let listening = try #require(mine.first { $0.state == TCPState.listen })
        #expect(listening.family == 6)
        #expect(listening.localAddress == "::" && listening.remoteAddress == "::")
        #expect(listening.recvQ == 1 && listening.sendQ == 8)
        let client = try #require(mine.first { $0.localPort == mapped.port })
        #expect(client.family == 6)
        #expect(client.localAddress == "::ffff:127.0.0.1" && client.remoteAddress == "::ffff:127.0.0.1")

        if let loopback = Loopback.connect6(
            address: Array(repeating: 0, count: 15) + [1], port: listener.port)
        {
            defer { close(loopback.fd) }
            let socket = try #require(
                try SocketDiag.dumpTCP(from: .netlink).first {
                    $0.localPort == loopback.port && $0.remotePort == listener.port
                })
            #expect(socket.localAddress == "::1" && socket.remoteAddress == "::1")
        }
    }

    @Test("ProcCounters.read: TcpActiveOpens rises by exactly 1 per connect()")
    func activeOpens() throws {
        let listener = Loopback.listen4(backlog: 8)
        defer { close(listener.fd) }
        let first = try ProcCounters.read()
        #expect(first["TcpActiveOpens"] != nil)
        #expect(first["TcpExtTW"] != nil)
        #expect(first["TcpPassiveOpens"] != nil)
        #expect(first["TcpMaxConn"] == -1)

        // Other processes may share this namespace: a connect() of theirs between the two reads
        // would add to the delta, so retry (for up to ~2 s of someone else's burst); our own
        // connect() always adds 1.
        var deltas: [Int64] = []
        for attempt in 0..<100 {
            if attempt > 0 { usleep(20_000) }
            let before = try ProcCounters.read()["TcpActiveOpens"] ?? -1
            let client = Loopback.connect4(port: listener.port)
            let after = try ProcCounters.read()["TcpActiveOpens"] ?? -1
            close(client.fd)
            close(Loopback.accept(listener.fd))
            deltas.append(after - before)
            if after - before == 1 { break }
        }
        #expect(deltas.last == 1, "deltas: \(deltas)")
        #expect(deltas.allSatisfy { $0 >= 1 })
    }
}
