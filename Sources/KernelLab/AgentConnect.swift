import Glibc
import LinuxTCP
import Scenario

/// Plain connect() calls with real sockets (mirrors the simulator's `ConnectClient`):
/// `concurrency` non-blocking connects in flight or held, each held `hold` and then closed; or,
/// with `fill`, one by one holding every connection until a connect fails, then all closed.
/// `rounds` repeats it `interval` apart and reports `.round` with the successes per round
/// (when there are several rounds, or with `fill`).
struct AgentConnect {
    let name: String
    let to: Endpoint
    let spec: ConnectSpec
    let writer: AgentLineWriter
    let stop: AgentStopSignal

    private struct Slot {
        var startedAt: Nanos
        var deadline: Nanos?
        var established = false
        var holdUntil: Nanos? = nil
    }

    /// The state of one round.
    private struct Round {
        var launched = 0
        var successes = 0
        /// fd -> connection in flight, or held for `hold`.
        var slots: [Int32: Slot] = [:]
        /// `fill`: established connections (not in `slots`), closed when the round ends.
        var held: [Int32] = []
        /// Connects still to start now.
        var wanted = 0
        var ended = false
        /// `request`: the bytes each connection writes once connected.
        var request: [UInt8]? = nil
    }

    func run() {
        for round in 0..<spec.rounds {
            if round > 0 {
                guard stop.sleep(until: POSIXClock.now() + spec.interval) else { return }
            }
            guard let successes = runRound() else { return }
            if spec.rounds > 1 || spec.fill { writer.send(.round(workload: name, successes: successes)) }
        }
        writer.send(.finished(workload: name))
    }

    private func attempt(_ outcome: String, latency: Nanos? = nil, facts: ConnectionFacts? = nil) {
        writer.attempt(name, outcome, latency: latency, facts: facts)
    }

    /// One round; its successes, or nil when stopped (every socket is then closed).
    private func runRound() -> Int? {
        var r = Round()
        r.request = spec.request.map { AgentHTTP.request($0, to: to.address, port: to.port) }
        r.wanted = spec.fill ? 1 : min(spec.concurrency, spec.count)
        let wave = r.wanted
        let started = POSIXClock.now()
        var fds: [pollfd] = []
        while true {
            while r.wanted > 0, !r.ended, r.launched < spec.count {
                // A spaced initial wave: connect k of the first `concurrency` at k·spacing.
                if spec.spacing > 0 && r.launched < wave && !spec.fill {
                    guard stop.sleep(until: started + Nanos(r.launched) * spec.spacing) else {
                        for fd in r.slots.keys { POSIXSocket.close(fd) }
                        return nil
                    }
                }
                r.wanted -= 1
                launch(&r)
            }
            if r.launched >= spec.count && r.slots.isEmpty { r.ended = true }
            if r.ended { break }

            fds.removeAll(keepingCapacity: true)
            fds.append(stop.pollEntry)
            var deadline: Nanos? = nil
            for (fd, s) in r.slots {
                if !s.established {
                    fds.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0))
                    if let d = s.deadline { deadline = min(deadline ?? d, d) }
                } else if let h = s.holdUntil {
                    // Held: watch for a reset (POLLERR/POLLHUP are always reported).
                    fds.append(pollfd(fd: fd, events: 0, revents: 0))
                    deadline = min(deadline ?? h, h)
                }
            }
            POSIXPoll.wait(&fds, until: deadline)
            if fds[0].revents != 0 || stop.isStopped {
                // Connects still unanswered when the run stops are pending (held ones already
                // counted as connected), as the simulator says.
                for (fd, s) in r.slots {
                    if !s.established { attempt("pending") }
                    POSIXSocket.close(fd)
                }
                for fd in r.held { POSIXSocket.close(fd) }
                return nil
            }
            let now = POSIXClock.now()
            for p in fds.dropFirst() where p.revents != 0 {
                guard let s = r.slots[p.fd] else { continue }
                if s.established {
                    // A held connection failed (reset): gone, not recorded again.
                    r.slots[p.fd] = nil
                    POSIXSocket.close(p.fd)
                    if !spec.fill { r.wanted += 1 }
                    continue
                }
                let e = POSIXSocket.pendingError(p.fd)
                if e == 0 {
                    connected(p.fd, &r, now: now)
                } else {
                    r.slots[p.fd] = nil
                    POSIXSocket.close(p.fd)
                    attempt(POSIXErrno.name(e))
                    failed(&r)
                }
            }
            // Timers: connect timeouts (SO_SNDTIMEO), then ends of holds.
            var timedOut: [Int32] = []
            var holdsOver: [Int32] = []
            for (fd, s) in r.slots {
                if !s.established, let d = s.deadline, d <= now { timedOut.append(fd) }
                if s.established, let h = s.holdUntil, h <= now { holdsOver.append(fd) }
            }
            for fd in timedOut {
                r.slots[fd] = nil
                attempt("ETIMEDOUT")
                POSIXSocket.close(fd, linger0: spec.close == .linger0)
                failed(&r)
            }
            for fd in holdsOver {
                r.slots[fd] = nil
                POSIXSocket.close(fd, linger0: spec.close == .linger0)
                r.wanted += 1
            }
        }
        for fd in r.held { POSIXSocket.close(fd, linger0: spec.close == .linger0) }
        for fd in r.slots.keys { POSIXSocket.close(fd, linger0: spec.close == .linger0) }
        return r.successes
    }

    /// A failed connect: with `fill` the round ends, else the slot is free for the next one.
    private func failed(_ r: inout Round) {
        if spec.fill { r.ended = true } else { r.wanted += 1 }
    }

    private func launch(_ r: inout Round) {
        r.launched += 1
        let now = POSIXClock.now()
        let (fd, c) = POSIXSocket.openConnect(to: to.address, port: to.port) { fd in
            guard let b = spec.bind else { return 0 }
            if b.reuseAddress { POSIXSocket.setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1) }
            if b.noPort { POSIXSocket.setInt(fd, SOL_IP, Self.ipBindAddressNoPort, 1) }
            return POSIXSocket.bind(fd, address: b.address, port: b.port)
        }
        guard fd >= 0 else {
            attempt(POSIXErrno.name(c))
            failed(&r)
            return
        }
        r.slots[fd] = Slot(startedAt: now, deadline: spec.timeout.map { now + $0 })
        if c == 0 { connected(fd, &r, now: POSIXClock.now()) }
    }

    /// IP_BIND_ADDRESS_NO_PORT (linux/in.h; not in Glibc's headers everywhere).
    static let ipBindAddressNoPort: Int32 = 24

    private func connected(_ fd: Int32, _ r: inout Round, now: Nanos) {
        guard var s = r.slots[fd] else { return }
        attempt("connected", latency: now - s.startedAt, facts: POSIXSocket.facts(fd))
        r.successes += 1
        s.established = true
        // One request, written once (a short write into an empty send buffer cannot happen).
        if let request = r.request { _ = POSIXSocket.send(fd, request, from: 0) }
        if spec.fill {
            r.slots[fd] = nil
            r.held.append(fd)
            if r.held.count < spec.count { r.wanted += 1 }
        } else if spec.hold > 0 {
            s.holdUntil = now + spec.hold
            r.slots[fd] = s
        } else {
            r.slots[fd] = nil
            POSIXSocket.close(fd, linger0: spec.close == .linger0)
            r.wanted += 1
        }
    }
}
