import LinuxTCP
import Scenario

/// Plain connect() calls (design.md `connect`): `concurrency` connections in flight or held,
/// each held for `hold` and then closed; or, with `fill`, connect one by one holding every
/// connection until a connect() fails, then close them all (lab-notes experiment s). `rounds`
/// repeats the whole thing, `interval` apart, and records successes per round. With `request`,
/// each connection writes one HTTP request once connected and never reads.
///
/// Per-connection state lives in arrays indexed by socket slot; a timer's token names the slot
/// and the timer's kind, so finding its connection is O(1).
final class ConnectClient: Workload, Application {
    let id: UInt32
    let host: Int
    let c: ConnectSpec
    private var round = 0
    private var launched = 0
    /// Connections opened and not yet closed (in flight or held).
    private var open = 0
    private var roundSuccesses = 0
    private var held: [SocketHandle] = []

    private struct Slot {
        var handle: SocketHandle
        var startedAt: Nanos
        var established = false
        var holdUntil: Nanos = .max
        /// When the kernel completed the connect (the application hears of it `wakeup` later).
        var connectedAt: Nanos? = nil
    }
    private var slots: [Slot?] = []
    private static let roundToken: UInt32 = 1
    /// One launch of a spaced initial wave.
    private static let launchToken: UInt32 = 0

    private enum SlotTimer: UInt32 {
        case timeout = 0
        case hold = 1
        case notice = 2
    }
    private static func token(_ slot: Int, _ kind: SlotTimer) -> UInt32 {
        (UInt32(slot) << 2 | kind.rawValue) + 2
    }

    init(id: UInt32, host: Int, index: Int, spec: WorkloadSpec, connect: ConnectSpec) {
        self.id = id
        self.host = host
        self.c = connect
        super.init(index: index, spec: spec)
    }

    /// Connects not yet answered; held connections already counted as `connected`.
    override var inFlight: Int { slots.reduce(0) { $0 + ($1.map { $0.established ? 0 : 1 } ?? 0) } }

    override func start(stack: inout HostStack, io: inout AppIO) {
        io.after(0, app: id, token: ConnectClient.roundToken)
    }

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
            if !launch(stack: &stack, io: &io) { endRound(stack: &stack, io: &io) }
        } else if c.spacing > 0 {
            for k in 0..<min(c.concurrency, c.count) {
                io.after(Nanos(k) * c.spacing, app: id, token: ConnectClient.launchToken)
            }
        } else {
            for _ in 0..<min(c.concurrency, c.count) { startNext(stack: &stack, io: &io) }
            endRoundIfDone(stack: &stack, io: &io)
        }
    }

    /// One connect() call; false when it failed at once (EADDRNOTAVAIL, EADDRINUSE).
    private func launch(stack: inout HostStack, io: inout AppIO) -> Bool {
        guard launched < c.count else { return false }
        launched += 1
        recorder.attempts += 1
        let r = stack.connect(
            to: spec.to.address, port: spec.to.port, bind: bindRequest, app: id, now: io.now, out: &io.fx)
        switch r {
        case .failure(let e):
            recorder.record(Recorder.code(e))
            return false
        case .success(let h):
            let s = Int(h.index)
            slots.cover(s, with: nil)
            slots[s] = Slot(handle: h, startedAt: io.now)
            open += 1
            if let to = c.timeout { io.after(to, app: id, token: Self.token(s, .timeout)) }
            return true
        }
    }

    /// Fills one slot: connects until one is in flight or the count is used up. A loop, not
    /// recursion: an exhausted port range fails thousands of connects in a row.
    private func startNext(stack: inout HostStack, io: inout AppIO) {
        while launched < c.count {
            if launch(stack: &stack, io: &io) { return }
        }
    }

    private func endRoundIfDone(stack: inout HostStack, io: inout AppIO) {
        if launched >= c.count && open == 0 { endRound(stack: &stack, io: &io) }
    }

    /// A connection ended: start the next one, or end the round when none is left.
    private func slotFree(stack: inout HostStack, io: inout AppIO) {
        startNext(stack: &stack, io: &io)
        endRoundIfDone(stack: &stack, io: &io)
    }

    private func endRound(stack: inout HostStack, io: inout AppIO) {
        for h in held { close(h, stack: &stack, io: &io) }
        held.removeAll()
        recorder.rounds[roundSuccesses, default: 0] += 1
        round += 1
        if round >= c.rounds {
            finish(io: &io)
        } else {
            io.after(c.interval, app: id, token: ConnectClient.roundToken)
        }
    }

    private func close(_ h: SocketHandle, stack: inout HostStack, io: inout AppIO) {
        slots[Int(h.index)] = nil
        open -= 1
        stack.close(h, linger0: c.close == .linger0, now: io.now, out: &io.fx)
    }

    func handle(_ e: AppEvent, stack: inout HostStack, io: inout AppIO) {
        let s = Int(e.socket.index)
        guard s < slots.count, let slot = slots[s], slot.handle == e.socket else { return }
        switch e.kind {
        case .connected:
            slots[s]!.connectedAt = io.now
            io.after(connectWakeup, app: id, token: Self.token(s, .notice))
        case .failed:
            slots[s] = nil
            open -= 1
            if let k = held.firstIndex(of: e.socket) { held.remove(at: k) }
            if !slot.established { recorder.record(Recorder.code(e.errno)) }
            if c.fill {
                if !slot.established { endRound(stack: &stack, io: &io) }
            } else {
                slotFree(stack: &stack, io: &io)
            }
        case .data, .eof, .acceptReady:
            break
        }
    }

    /// The application learns that slot `s` connected: it counts it, writes its request, then
    /// holds or closes it.
    private func noticeConnected(_ s: Int, stack: inout HostStack, io: inout AppIO) {
        guard let slot = slots[s] else { return }
        let h = slot.handle
        recorder.record(Recorder.connected)
        recorder.latencies.append((slot.connectedAt ?? io.now) - slot.startedAt)
        recorder.note(h, on: stack)
        roundSuccesses += 1
        slots[s]!.established = true
        if let r = c.request {
            stack.send(
                h, length: HTTPMessage.requestLength, message: HTTPMessage.request(r), now: io.now,
                out: &io.fx)
        }
        if c.fill {
            held.append(h)
            if held.count >= c.count || !launch(stack: &stack, io: &io) {
                endRound(stack: &stack, io: &io)
            }
        } else if c.hold > 0 {
            slots[s]!.holdUntil = io.now + c.hold
            io.after(c.hold, app: id, token: Self.token(s, .hold))
        } else {
            close(h, stack: &stack, io: &io)
            slotFree(stack: &stack, io: &io)
        }
    }

    func timer(_ t: UInt32, stack: inout HostStack, io: inout AppIO) {
        if t == ConnectClient.roundToken {
            beginRound(stack: &stack, io: &io)
            return
        }
        if t == ConnectClient.launchToken {
            startNext(stack: &stack, io: &io)
            endRoundIfDone(stack: &stack, io: &io)
            return
        }
        let s = Int((t - 2) >> 2)
        guard s < slots.count, let slot = slots[s], let kind = SlotTimer(rawValue: (t - 2) & 3) else {
            return
        }
        switch kind {
        case .notice:
            guard !slot.established, let at = slot.connectedAt, at + connectWakeup <= io.now else { return }
            noticeConnected(s, stack: &stack, io: &io)
        case .hold:
            guard slot.established, slot.holdUntil <= io.now else { return }
            close(slot.handle, stack: &stack, io: &io)
            slotFree(stack: &stack, io: &io)
        case .timeout:
            // SO_SNDTIMEO: the connect did not complete in time (one the kernel completed counts,
            // even before the application has looked).
            guard slot.connectedAt == nil, let to = c.timeout, slot.startedAt + to <= io.now else { return }
            recorder.record(Recorder.code(.ETIMEDOUT))
            close(slot.handle, stack: &stack, io: &io)
            if c.fill { endRound(stack: &stack, io: &io) } else { slotFree(stack: &stack, io: &io) }
        }
    }
}
