import LinuxTCP
import Scenario

/// A shell loop of curl (design.md `curl`): one process, so one new connection, per request;
/// `startup` models fork+exec before each connect(), `interval` the `sleep` between runs.
/// With `reuseConnection`, one curl process fetches the URL `count` times over one connection.
final class CurlClient: Workload, Application {
    let id: UInt32
    let host: Int
    let curl: CurlSpec
    private var done = 0
    private var current: SocketHandle? = nil
    private var startedAt: Nanos = 0
    private var token: UInt32 = 1
    private var gotResponse = false

    init(id: UInt32, host: Int, index: Int, spec: WorkloadSpec, curl: CurlSpec) {
        self.id = id
        self.host = host
        self.curl = curl
        super.init(index: index, spec: spec)
    }

    override func start(stack: inout HostStack, io: inout AppIO) { io.after(curl.startup, app: id, token: 0) }

    override var inFlight: Int { current == nil ? 0 : 1 }

    private func launch(stack: inout HostStack, io: inout AppIO) {
        recorder.attempts += 1
        gotResponse = false
        switch stack.connect(to: spec.to.address, port: spec.to.port, app: id, now: io.now, out: &io.fx) {
        case .failure(let e):
            recorder.record(Recorder.code(e))
            attemptDone(stack: &stack, io: &io)
        case .success(let h):
            current = h
            startedAt = io.now
            token &+= 1
            if let t = curl.timeout { io.after(t, app: id, token: token) }
        }
    }

    private func attemptDone(stack: inout HostStack, io: inout AppIO) {
        done += 1
        current = nil
        if done >= curl.count {
            finish(io: &io)
        } else {
            io.after(curl.interval + curl.startup, app: id, token: 0)
        }
    }

    func handle(_ e: AppEvent, stack: inout HostStack, io: inout AppIO) {
        guard let h = current, h == e.socket else { return }
        switch e.kind {
        case .connected:
            stack.send(
                h, length: HTTPMessage.requestLength, message: HTTPMessage.request(curl.request), now: io.now,
                out: &io.fx)
        case .data:
            guard e.message.kind == HTTPMessage.responseKind else { return }
            gotResponse = true
            recorder.record(Int(e.message.arg))
            recorder.latencies.append(io.now - startedAt)
            recorder.note(h, on: stack)
            if curl.reuseConnection && done + 1 < curl.count && !curl.request.asksServerToClose {
                // The next URL on the same connection.
                done += 1
                recorder.attempts += 1
                startedAt = io.now
                gotResponse = false
                stack.send(
                    h, length: HTTPMessage.requestLength, message: HTTPMessage.request(curl.request),
                    now: io.now, out: &io.fx)
                return
            }
            stack.close(h, linger0: curl.close == .linger0, now: io.now, out: &io.fx)
            attemptDone(stack: &stack, io: &io)
        case .eof:
            // The server closed before answering: curl's "Empty reply from server".
            if !gotResponse {
                recorder.record(Recorder.code(.ECONNRESET))
                stack.close(h, now: io.now, out: &io.fx)
                attemptDone(stack: &stack, io: &io)
            }
        case .failed:
            recorder.record(Recorder.code(e.errno))
            attemptDone(stack: &stack, io: &io)
        case .acceptReady:
            break
        }
    }

    func timer(_ t: UInt32, stack: inout HostStack, io: inout AppIO) {
        if t == 0 {
            launch(stack: &stack, io: &io)
            return
        }
        // --max-time expired with the attempt still open.
        guard t == token, let h = current else { return }
        recorder.record(Recorder.code(.ETIMEDOUT))
        stack.close(h, linger0: curl.close == .linger0, now: io.now, out: &io.fx)
        attemptDone(stack: &stack, io: &io)
    }
}
