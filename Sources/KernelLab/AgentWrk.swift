import Glibc
import LinuxTCP
import Results
import Scenario

/// wrk 4.2 with real sockets (mirrors the simulator's `WrkClient`, whose doc lists what each
/// error class means): `connections` non-blocking sockets in one poll loop, each sending its
/// next request when a response completes, reconnecting when the response closes the
/// connection or the socket fails. wrk never reads `SO_ERROR`, so its first write reports a
/// failed connect; the agent reads `SO_ERROR` when the socket turns writable and counts that
/// error as the write error wrk would have had.
struct AgentWrk {
    let name: String
    let to: Endpoint
    let spec: WrkSpec
    let writer: AgentLineWriter
    let stop: AgentStopSignal

    private struct Conn {
        var fd: Int32 = -1
        var established = false
        var sent = 0
        var sentAt: Nanos? = nil
        var input: [UInt8] = []
        /// Read once the connection is established, reported with each response.
        var facts: ConnectionFacts? = nil
    }

    func run() {
        let request = AgentHTTP.request(spec.request, to: to.address, port: to.port)
        let start = POSIXClock.now()
        let end = spec.duration.map { start + $0 }
        let linger0 = spec.close == .linger0
        var conns = [Conn](repeating: Conn(), count: spec.connections)
        var errors = [0, 0, 0, 0]  // connect, read, write, timeout
        var responses = 0
        var committed = 0  // requests written and not failed; at most `requests`
        var fds: [pollfd] = []
        var index: [Int32: Int] = [:]
        /// Connections given a new socket in this poll round: the round's events are not theirs
        /// (the new socket may have reused a closed one's descriptor number).
        var reopened = Set<Int>()

        func record(_ outcome: String, latency: Nanos? = nil, facts: ConnectionFacts? = nil) {
            writer.attempt(name, outcome, latency: latency, facts: facts)
        }
        func open(_ c: Int) {
            reopened.insert(c)
            conns[c] = Conn()
            let (fd, rc) = POSIXSocket.openConnect(to: to.address, port: to.port)
            guard fd >= 0 else {
                // wrk's connect_socket: counted, and the connection is never tried again.
                errors[0] += 1
                record(POSIXErrno.name(rc))
                return
            }
            conns[c].fd = fd
            index[fd] = c
        }
        func close(_ c: Int) {
            let fd = conns[c].fd
            guard fd >= 0 else { return }
            index[fd] = nil
            POSIXSocket.close(fd, linger0: linger0)
            conns[c].fd = -1
        }
        func reconnect(_ c: Int) {
            if conns[c].sentAt != nil, spec.requests != nil { committed -= 1 }
            close(c)
            open(c)
        }
        /// Writes the next request (if `requests` allows one) or the rest of the current one;
        /// false when the write failed (and c reconnected).
        func write(_ c: Int) -> Bool {
            if conns[c].sentAt == nil {
                conns[c].sent = 0
                if let r = spec.requests {
                    guard committed < r else { return true }
                    committed += 1
                }
                conns[c].sentAt = POSIXClock.now()
            }
            let n = POSIXSocket.send(conns[c].fd, request, from: conns[c].sent)
            if n < 0 {
                errors[2] += 1
                record(POSIXErrno.name(Int32(-n)))
                reconnect(c)
                return false
            }
            conns[c].sent += n
            return true
        }
        func finish() {
            for c in conns.indices { close(c) }
            writer.send(
                .socketErrors(
                    workload: name,
                    errors: Dictionary(
                        uniqueKeysWithValues: zip(WorkloadResult.socketErrorClasses, errors))))
        }

        for c in conns.indices {
            if spec.spacing > 0 {
                guard stop.sleep(until: start + Nanos(c) * spec.spacing) else {
                    finish()
                    return
                }
            }
            open(c)
        }
        while true {
            if let r = spec.requests, responses >= r,
                !conns.contains(where: { $0.fd >= 0 && !$0.established })
            {
                break
            }
            if let end, POSIXClock.now() >= end { break }
            // A request given back by a connection that then died at connect() is taken up by
            // an idle one, so `requests` are all written.
            if let r = spec.requests {
                for c in conns.indices
                where committed < r && conns[c].fd >= 0 && conns[c].established
                    && conns[c].sentAt == nil
                {
                    _ = write(c)
                }
            }
            fds.removeAll(keepingCapacity: true)
            fds.append(stop.pollEntry)
            for c in conns where c.fd >= 0 {
                let writing = !c.established || (c.sentAt != nil && c.sent < request.count)
                let ev = writing ? Int16(POLLOUT | POLLIN) : Int16(POLLIN)
                fds.append(pollfd(fd: c.fd, events: ev, revents: 0))
            }
            if fds.count == 1 && end == nil { break }  // every connection is dead
            POSIXPoll.wait(&fds, until: end)
            if fds[0].revents != 0 || stop.isStopped {
                finish()
                return
            }
            reopened.removeAll(keepingCapacity: true)
            for p in fds.dropFirst() where p.revents != 0 {
                guard let c = index[p.fd], !reopened.contains(c) else { continue }
                if !conns[c].established {
                    // wrk's socket_connected, then socket_writeable in the same turn.
                    let e = POSIXSocket.pendingError(p.fd)
                    if e != 0 {
                        errors[2] += 1
                        record(POSIXErrno.name(e))
                        reconnect(c)
                        continue
                    }
                    conns[c].established = true
                    conns[c].facts = POSIXSocket.facts(p.fd)
                    guard write(c) else { continue }
                    if p.revents & Int16(POLLIN) == 0 { continue }
                } else if conns[c].sentAt != nil && conns[c].sent < request.count {
                    guard write(c) else { continue }
                    if p.revents & Int16(POLLIN) == 0 { continue }
                }
                switch POSIXSocket.receive(p.fd, into: &conns[c].input) {
                case .wouldBlock:
                    break
                case .eof:
                    reconnect(c)  // wrk: remote side closed, reconnect without an error
                case .error(let e):
                    errors[1] += 1
                    record(POSIXErrno.name(e))
                    reconnect(c)
                case .data:
                    let status: Int
                    let length: Int
                    switch AgentHTTP.parseResponse(conns[c].input) {
                    case .incomplete:
                        continue
                    case .malformed:
                        errors[1] += 1
                        record("EPROTO")
                        reconnect(c)
                        continue
                    case .complete(let s, let n):
                        (status, length) = (s, n)
                    }
                    guard let sentAt = conns[c].sentAt else {
                        conns[c].input.removeFirst(length)  // not an answer to a request of ours
                        continue
                    }
                    responses += 1
                    let latency = POSIXClock.now() - sentAt
                    if latency >= spec.timeout { errors[3] += 1 }
                    record(
                        String(status), latency: latency >= spec.timeout ? nil : latency,
                        facts: conns[c].facts)
                    conns[c].input.removeFirst(length)
                    conns[c].sent = 0
                    conns[c].sentAt = nil
                    if spec.request.asksServerToClose {
                        reconnect(c)
                    } else {
                        _ = write(c)
                    }
                }
            }
        }
        finish()
        writer.send(.finished(workload: name))
    }
}
