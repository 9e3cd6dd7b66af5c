import LinuxTCP
import Scenario

/// Plain connect() calls (design.md `connect`): `concurrency` connections in flight or held,
/// each held for `hold` and then closed; or, with `fill`, connect one by one holding every
/// connection until a connect() fails, then close them all (lab-notes experiment s). `rounds`
/// repeats the whole thing, `interval` apart, and records successes per round.
final class ConnectClient: Workload, Application {
    let id: UInt32
    let host: Int
    let c: ConnectSpec
    private var round = 0
    private var launched = 0
    private var active = 0
    private var roundSuccesses = 0
    private var held: [SocketHandle] = []
    /// Per socket index: token of its hold/timeout timer, and when it started.
    private var tokens: [UInt32: (SocketHandle, UInt32, Nanos, Bool)] = [:]
    private var nextToken: UInt32 = 2
    private static let roundToken: UInt32 = 1

    init(id: UInt32, host: Int, index: Int, spec: WorkloadSpec, connect: ConnectSpec) {
        self.id = id
        self.host = host
        self.c = connect
        super.init(index: index, spec: spec)
    }

    override var inFlight: Int { active }

    func start(io: inout AppIO) { io.after(0, app: id, token: ConnectClient.roundToken) }

    private var bindRequest: BindRequest? {
        c.bind.map {
            BindRequest(address: $0.address, port: $0.port, noPort: $0.noPort, reuseAddress: $0.reuseAddress)
        }
    }

    private func beginRound(stack: inout HostStack, io: inout AppIO) {
        launched = 0
        roundSuccesses = 0
        held.removeAll()
        if c.fill {
            launch(stack: &stack, io: &io)
        } else {
            for _ in 0..<min(c.concurrency, c.count) { launch(stack: &stack, io: &io) }
        }
    }

    private func launch(stack: inout HostStack, io: inout AppIO) {
        guard launched < c.count else { return }
        launched += 1
        recorder.attempts += 1
        switch stack.connect(
            to: spec.to.address, port: spec.to.port, bind: bindRequest, app: id, now: io.now,
            out: &io.fx)
        {
        case .failure(let e):
            recorder.record(Recorder.code(e))
            if c.fill {
                endRound(stack: &stack, io: &io)
            } else {
                slotFree(stack: &stack, io: &io)
            }
        case .success(let h):
            active += 1
            let t = nextToken
            nextToken &+= 1
            tokens[h.index] = (h, t, io.now, false)
            if let to = c.timeout { io.after(to, app: id, token: t) }
        }
    }

    private func slotFree(stack: inout HostStack, io: inout AppIO) {
        if launched < c.count {
            launch(stack: &stack, io: &io)
        } else if active == 0 {
            endRound(stack: &stack, io: &io)
        }
    }

    private func endRound(stack: inout HostStack, io: inout AppIO) {
        for h in held {
            tokens[h.index] = nil
            stack.close(h, linger0: c.close == .linger0, now: io.now, out: &io.fx)
        }
        held.removeAll()
        active = tokens.count
        recorder.rounds[roundSuccesses, default: 0] += 1
        round += 1
        if round >= c.rounds {
            finish(io: &io)
        } else {
            io.after(c.interval, app: id, token: ConnectClient.roundToken)
        }
    }

    func handle(_ e: AppEvent, stack: inout HostStack, io: inout AppIO) {
        guard let entry = tokens[e.socket.index], entry.0 == e.socket else { return }
        switch e.kind {
        case .connected:
            recorder.record(Recorder.connected)
            recorder.latencies.append(io.now - entry.2)
            if let p = stack.localPort(e.socket) { recorder.ports.insert(p) }
            roundSuccesses += 1
            if c.fill {
                tokens[e.socket.index] = (entry.0, entry.1, entry.2, true)
                held.append(e.socket)
                active -= 1
                if held.count >= c.count {
                    endRound(stack: &stack, io: &io)
                } else {
                    launch(stack: &stack, io: &io)
                }
            } else if c.hold > 0 {
                let t = nextToken
                nextToken &+= 1
                tokens[e.socket.index] = (entry.0, t, entry.2, true)
                io.after(c.hold, app: id, token: t)
            } else {
                release(e.socket, stack: &stack, io: &io)
            }
        case .failed:
            tokens[e.socket.index] = nil
            if !entry.3 { recorder.record(Recorder.code(e.errno)) }
            active -= 1
            if c.fill {
                if !entry.3 { endRound(stack: &stack, io: &io) }
            } else {
                slotFree(stack: &stack, io: &io)
            }
        case .data, .eof, .acceptReady:
            break
        }
    }

    private func release(_ h: SocketHandle, stack: inout HostStack, io: inout AppIO) {
        tokens[h.index] = nil
        stack.close(h, linger0: c.close == .linger0, now: io.now, out: &io.fx)
        active -= 1
        slotFree(stack: &stack, io: &io)
    }

    func timer(_ t: UInt32, stack: inout HostStack, io: inout AppIO) {
        if t == ConnectClient.roundToken {
            beginRound(stack: &stack, io: &io)
            return
        }
        guard let (k, entry) = tokens.first(where: { $0.value.1 == t }) else { return }
        if entry.3 {
            release(entry.0, stack: &stack, io: &io)  // hold expired
        } else {
            // SO_SNDTIMEO: connect did not complete in time.
            tokens[k] = nil
            recorder.record(Recorder.code(.ETIMEDOUT))
            stack.close(entry.0, linger0: c.close == .linger0, now: io.now, out: &io.fx)
            active -= 1
            if c.fill { endRound(stack: &stack, io: &io) } else { slotFree(stack: &stack, io: &io) }
        }
    }
}
