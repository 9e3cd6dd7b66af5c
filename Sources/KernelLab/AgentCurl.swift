import Glibc
import LinuxTCP
import Scenario

/// A shell loop of curl with real sockets (mirrors the simulator's `CurlClient`): `startup`
/// before each connect(), one new connection per request, `interval + startup` between
/// attempts; with `reuseConnection`, `count` requests over one kept-alive connection.
///
/// Outcomes: the response's status; the errno of a failed connect; ECONNRESET when the server
/// closes before a whole response; ETIMEDOUT when `timeout` (from connect(), like `--max-time`
/// for the whole process) expires. Latency is from connect() (or, on a reused connection, from
/// the previous response) to the whole response.
struct AgentCurl {
    let name: String
    let to: Endpoint
    let curl: CurlSpec
    let writer: AgentLineWriter
    let stop: AgentStopSignal

    private enum Step {
        case ok
        case failed(String, linger: Bool)
        case stopped
    }

    func run() {
        var done = 0
        guard stop.sleep(until: POSIXClock.now() + curl.startup) else { return }
        let request = AgentHTTP.request(curl.request, to: to.address, port: to.port)
        while done < curl.count {
            guard let n = connection(request: request, remaining: curl.count - done) else { return }
            done += n
            if done >= curl.count { break }
            guard stop.sleep(until: POSIXClock.now() + curl.interval + curl.startup) else { return }
        }
        writer.send(.finished(workload: name))
    }

    private func attempt(_ outcome: String, latency: Nanos? = nil, facts: ConnectionFacts? = nil) {
        writer.attempt(name, outcome, latency: latency, facts: facts)
    }

    /// One curl process: a connection and one request (or, reusing it, up to `remaining`).
    /// The number of attempts it made, or nil when stopped.
    private func connection(request: [UInt8], remaining: Int) -> Int? {
        let t0 = POSIXClock.now()
        let (fd, c) = POSIXSocket.openConnect(to: to.address, port: to.port)
        guard fd >= 0 else {
            attempt(POSIXErrno.name(c))
            return 1
        }
        let deadline = curl.timeout.map { t0 + $0 }
        let linger0 = curl.close == .linger0
        var attempts = 0
        func end(_ step: Step) -> Int? {
            switch step {
            case .ok:
                POSIXSocket.close(fd, linger0: linger0)
            case .failed(let outcome, let linger):
                attempts += 1
                attempt(outcome)
                POSIXSocket.close(fd, linger0: linger && linger0)
            case .stopped:
                // The run stopped with this request open: pending, as the simulator says.
                attempt("pending")
                POSIXSocket.close(fd)
                return nil
            }
            return attempts
        }

        if c == EINPROGRESS {
            let s = waitFor(fd, Int16(POLLOUT), until: deadline)
            if case .ok = s {} else { return end(s) }
            let e = POSIXSocket.pendingError(fd)
            if e != 0 { return end(.failed(POSIXErrno.name(e), linger: false)) }
        }
        let facts = POSIXSocket.facts(fd)
        var startedAt = t0
        var input: [UInt8] = []
        while true {
            var sent = 0
            while sent < request.count {
                let n = POSIXSocket.send(fd, request, from: sent)
                if n < 0 { return end(.failed(POSIXErrno.name(Int32(-n)), linger: false)) }
                sent += n
                if sent < request.count {
                    let s = waitFor(fd, Int16(POLLOUT), until: deadline)
                    if case .ok = s {} else { return end(s) }
                }
            }
            var status = 0
            read: while true {
                switch AgentHTTP.parseResponse(input) {
                case .complete(let st, let length):
                    status = st
                    input.removeFirst(length)
                    break read
                case .malformed:
                    return end(.failed("EPROTO", linger: false))
                case .incomplete:
                    break
                }
                let s = waitFor(fd, Int16(POLLIN), until: deadline)
                if case .ok = s {} else { return end(s) }
                switch POSIXSocket.receive(fd, into: &input) {
                case .data, .wouldBlock: continue
                // "Empty reply from server": the simulator's eof before a response.
                case .eof: return end(.failed("ECONNRESET", linger: false))
                case .error(let e): return end(.failed(POSIXErrno.name(e), linger: false))
                }
            }
            let now = POSIXClock.now()
            attempts += 1
            attempt(String(status), latency: now - startedAt, facts: facts)
            guard curl.reuseConnection, attempts < remaining, !curl.request.asksServerToClose else {
                return end(.ok)
            }
            startedAt = now
        }
    }

    /// Waits for `events` on `fd`; ETIMEDOUT at `deadline`, `.stopped` on stop.
    private func waitFor(_ fd: Int32, _ events: Int16, until deadline: Nanos?) -> Step {
        var fds = [stop.pollEntry, pollfd(fd: fd, events: events, revents: 0)]
        while true {
            if stop.isStopped { return .stopped }
            if let d = deadline, POSIXClock.now() >= d { return .failed("ETIMEDOUT", linger: true) }
            fds[0].revents = 0
            fds[1].revents = 0
            POSIXPoll.wait(&fds, until: deadline)
            if fds[0].revents != 0 { return .stopped }
            if fds[1].revents != 0 { return .ok }
        }
    }
}
