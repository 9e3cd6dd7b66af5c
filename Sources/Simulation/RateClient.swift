import LinuxTCP
import Scenario

/// Open-loop load (design.md `rate`): a new connection every 1/rate seconds for `duration`,
/// one HTTP request each, whatever happened to the earlier ones. Per-attempt state is kept in
/// arrays indexed by socket slot, so the hot path allocates nothing.
final class RateClient: Workload, Application {
    let id: UInt32
    let host: Int
    let r: RateSpec
    private let total: Int
    private var arrivals = 0
    private var active = 0
    private var startTime: Nanos = 0
    private var startedAt: [Nanos] = []
    private var generation: [UInt32] = []
    private var live: [Bool] = []

    init(id: UInt32, host: Int, index: Int, spec: WorkloadSpec, rate: RateSpec) {
        self.id = id
        self.host = host
        self.r = rate
        self.total = Int((Double(rate.duration) / 1e9 * rate.perSecond).rounded(.down))
        super.init(index: index, spec: spec)
    }

    override var inFlight: Int { active }

    override func start(stack: inout HostStack, io: inout AppIO) {
        startTime = io.now
        if total == 0 { finish(io: &io) } else { io.after(0, app: id, token: 0) }
    }

    private func arrivalTime(_ k: Int) -> Nanos {
        startTime + Nanos((Double(k) * 1e9 / r.perSecond).rounded())
    }

    func timer(_ t: UInt32, stack: inout HostStack, io: inout AppIO) {
        if t == 0 {
            arrivals += 1
            launch(stack: &stack, io: &io)
            if arrivals < total {
                io.timers.append((arrivalTime(arrivals), id, 0, -1))
            } else if active == 0 {
                finish(io: &io)
            }
            return
        }
        // Per-attempt timeout: token = slot + 1 (generation checked).
        let slot = Int(t - 1) & 0xFFFFF
        // The slot may hold a later attempt by now: only the attempt this timer was armed for,
        // i.e. one started `timeout` ago, times out.
        guard slot < live.count, live[slot], let to = r.timeout, startedAt[slot] + to <= io.now else {
            return
        }
        let h = SocketHandle(index: UInt32(slot), generation: generation[slot])
        guard stack.state(h) != nil else { return }
        recorder.record(Recorder.code(.ETIMEDOUT))
        stack.close(h, linger0: r.close == .linger0, now: io.now, out: &io.fx)
        end(slot, io: &io)
    }

    private func launch(stack: inout HostStack, io: inout AppIO) {
        recorder.attempts += 1
        switch stack.connect(to: spec.to.address, port: spec.to.port, app: id, now: io.now, out: &io.fx) {
        case .failure(let e):
            recorder.record(Recorder.code(e))
        case .success(let h):
            let s = Int(h.index)
            startedAt.cover(s, with: 0)
            generation.cover(s, with: 0)
            live.cover(s, with: false)
            startedAt[s] = io.now
            generation[s] = h.generation
            live[s] = true
            active += 1
            if let to = r.timeout { io.after(to, app: id, token: UInt32(s + 1)) }
        }
    }

    private func end(_ slot: Int, io: inout AppIO) {
        live[slot] = false
        active -= 1
        if arrivals >= total && active == 0 { finish(io: &io) }
    }

    func handle(_ e: AppEvent, stack: inout HostStack, io: inout AppIO) {
        let s = Int(e.socket.index)
        guard s < live.count, live[s], generation[s] == e.socket.generation else { return }
        switch e.kind {
        case .connected:
            stack.send(
                e.socket, length: HTTPMessage.requestLength, message: HTTPMessage.request(r.request),
                now: io.now, out: &io.fx)
        case .data:
            guard e.message.kind == HTTPMessage.responseKind else { return }
            recorder.record(Int(e.message.arg))
            recorder.latencies.append(io.now - startedAt[s])
            recorder.note(e.socket, on: stack)
            stack.close(e.socket, linger0: r.close == .linger0, now: io.now, out: &io.fx)
            end(s, io: &io)
        case .eof:
            recorder.record(Recorder.code(.ECONNRESET))
            stack.close(e.socket, now: io.now, out: &io.fx)
            end(s, io: &io)
        case .failed:
            recorder.record(Recorder.code(e.errno))
            end(s, io: &io)
        case .acceptReady:
            break
        }
    }
}
