import Glibc
import LinuxTCP
import Scenario

/// Open-loop load with real sockets (mirrors the simulator's `RateClient`): connection k starts
/// at k/rate s (late ones start at once, whatever happened to the earlier ones), for
/// floor(duration × rate) connections; each sends one request, reads the response and closes.
/// Non-blocking sockets in one poll loop.
struct AgentRate {
    let name: String
    let to: Endpoint
    let spec: RateSpec
    let writer: AgentLineWriter
    let stop: AgentStopSignal

    private struct Conn {
        var startedAt: Nanos
        var deadline: Nanos?
        var connected = false
        var sent = 0
        var input: [UInt8] = []
    }

    func run() {
        let total = Int((Double(spec.duration) / 1e9 * spec.perSecond).rounded(.down))
        let request = AgentHTTP.request(spec.request, to: to.address, port: to.port)
        let start = POSIXClock.now()
        func arrival(_ k: Int) -> Nanos { start + Nanos((Double(k) * 1e9 / spec.perSecond).rounded()) }
        var arrivals = 0
        var conns: [Int32: Conn] = [:]
        var fds: [pollfd] = []
        let linger0 = spec.close == .linger0

        func end(
            _ fd: Int32, _ outcome: String, latency: Nanos? = nil, facts: ConnectionFacts? = nil, linger: Bool
        ) {
            conns[fd] = nil
            writer.attempt(name, outcome, latency: latency, facts: facts)
            POSIXSocket.close(fd, linger0: linger && linger0)
        }

        /// Sends the rest of the request; false when the connection ended.
        func sendRequest(_ fd: Int32, _ c: inout Conn) -> Bool {
            let n = POSIXSocket.send(fd, request, from: c.sent)
            if n < 0 {
                end(fd, POSIXErrno.name(Int32(-n)), linger: false)
                return false
            }
            c.sent += n
            return true
        }

        while true {
            var now = POSIXClock.now()
            while arrivals < total, arrival(arrivals) <= now {
                arrivals += 1
                let t0 = POSIXClock.now()
                let (fd, c) = POSIXSocket.openConnect(to: to.address, port: to.port)
                guard fd >= 0 else {
                    writer.attempt(name, POSIXErrno.name(c))
                    continue
                }
                var conn = Conn(startedAt: t0, deadline: spec.timeout.map { t0 + $0 })
                if c == 0 {
                    conn.connected = true
                    guard sendRequest(fd, &conn) else { continue }
                }
                conns[fd] = conn
                now = POSIXClock.now()
            }
            if arrivals >= total && conns.isEmpty { break }

            fds.removeAll(keepingCapacity: true)
            fds.append(stop.pollEntry)
            var deadline: Nanos? = arrivals < total ? arrival(arrivals) : nil
            for (fd, c) in conns {
                var ev = Int16(POLLIN)
                if !c.connected || c.sent < request.count { ev = Int16(POLLOUT) }
                fds.append(pollfd(fd: fd, events: ev, revents: 0))
                if let d = c.deadline { deadline = min(deadline ?? d, d) }
            }
            POSIXPoll.wait(&fds, until: deadline)
            if fds[0].revents != 0 || stop.isStopped {
                // Attempts still open when the run stops are pending, as the simulator says.
                for fd in conns.keys {
                    writer.attempt(name, "pending")
                    POSIXSocket.close(fd)
                }
                return
            }
            now = POSIXClock.now()
            for p in fds.dropFirst() where p.revents != 0 {
                let fd = p.fd
                guard var c = conns[fd] else { continue }
                if !c.connected {
                    let e = POSIXSocket.pendingError(fd)
                    if e != 0 {
                        end(fd, POSIXErrno.name(e), linger: false)
                        continue
                    }
                    c.connected = true
                }
                if c.sent < request.count {
                    guard sendRequest(fd, &c) else { continue }
                    conns[fd] = c
                    continue
                }
                switch POSIXSocket.receive(fd, into: &c.input) {
                case .wouldBlock:
                    conns[fd] = c
                case .eof:
                    end(fd, "ECONNRESET", linger: false)
                case .error(let e):
                    end(fd, POSIXErrno.name(e), linger: false)
                case .data:
                    switch AgentHTTP.parseResponse(c.input) {
                    case .incomplete:
                        conns[fd] = c
                    case .malformed:
                        end(fd, "EPROTO", linger: false)
                    case .complete(let status, _):
                        let t = POSIXClock.now()
                        end(
                            fd, String(status), latency: t - c.startedAt, facts: POSIXSocket.facts(fd),
                            linger: true)
                    }
                }
            }
            // Per-attempt timeouts.
            var expired: [Int32] = []
            for (fd, c) in conns {
                if let d = c.deadline, d <= now { expired.append(fd) }
            }
            for fd in expired { end(fd, "ETIMEDOUT", linger: true) }
        }
        writer.send(.finished(workload: name))
    }
}
