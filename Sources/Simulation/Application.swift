import LinuxTCP
import Scenario

/// Everything an application may touch while it handles one event: its host's stack (passed
/// beside this), the effects buffer, and the engine's timer and completion queues.
struct AppIO {
    var now: Nanos = 0
    var fx = Effects()
    /// (time, application id, token, FIFO lane or -1)
    var timers: [(Nanos, UInt32, UInt32, Int)] = []
    /// Workloads that finished during this event.
    var finished: [Int] = []

    mutating func after(_ delay: Nanos, app: UInt32, token: UInt32) {
        timers.append((now + delay, app, token, -1))
    }

    /// A timer whose delay is the same every time for this lane, so its events stay in order.
    mutating func after(_ delay: Nanos, app: UInt32, token: UInt32, lane: Int) {
        timers.append((now + delay, app, token, lane))
    }
}

/// A process on a simulated host: an HTTP server or a client workload.
protocol Application: AnyObject {
    var id: UInt32 { get }
    var host: Int { get }
    func handle(_ e: AppEvent, stack: inout HostStack, io: inout AppIO)
    func timer(_ token: UInt32, stack: inout HostStack, io: inout AppIO)
}

/// How long after the kernel completes a connect() the client application acts on it: its
/// event loop's turn (poll wake-up, SO_ERROR, the first write). Over veth the server's answer to
/// the final ACK, such as the RST of `tcp_abort_on_overflow=1`, is processed in the same
/// softirq as the ACK, before any application runs; so the client reads that RST as the
/// connect's SO_ERROR (lab-notes k4: connect_ECONNRESET = the server's RSTs) or as wrk's
/// first write failing (k7: write errors), and never sends its request. The model's link
/// delay (50 µs each way in the seed scenarios) stands in for that softirq, so this must exceed
/// the model's round trip; a Python select() loop over a hundred sockets takes about this long.
let connectWakeup: Nanos = 200 * Nanos.nanosPerMicro

/// The HTTP messages carried in ``AppMessage``: kind 1 is a request, 2 a response.
enum HTTPMessage {
    static let requestKind: UInt8 = 1
    static let responseKind: UInt8 = 2
    /// Request bytes: `GET / HTTP/1.1`, Host, User-Agent, Accept (curl 7.88 sends 78).
    static let requestLength: UInt32 = 78
    /// Response bytes: an nginx-like 404 with a small body.
    static let responseLength: UInt32 = 200

    static func request(_ r: HTTPRequestSpec) -> AppMessage {
        AppMessage(kind: requestKind, arg: r.asksServerToClose ? 1 : 0)
    }
}

/// An nginx-like HTTP server behind one listener (CL-5): it answers every request with the
/// configured status; when the request asks to close (HTTP/1.0, `Connection: close`) the FIN
/// rides on the response (TCP_CORK + shutdown, so the server reliably closes first, lab-notes
/// method note), otherwise it keeps the connection until the client closes or the keep-alive
/// timeout passes.
final class HTTPServer: Application {
    let id: UInt32
    let host: Int
    let spec: ListenerSpec
    var listener: Int32 = -1
    /// The FIFO lane for this server's keep-alive timers (constant delay).
    var keepaliveLane = -1
    /// Open connections by socket slot: the handle, and when it goes idle-expired.
    private var conn: [SocketHandle?] = []
    private var idleDeadline: [Nanos] = []
    private var acceptTickArmed = false
    /// Token for accept timers; keep-alive tokens are socket slot + 1.
    private static let acceptToken: UInt32 = 0

    init(id: UInt32, host: Int, spec: ListenerSpec) {
        self.id = id
        self.host = host
        self.spec = spec
    }

    func handle(_ e: AppEvent, stack: inout HostStack, io: inout AppIO) {
        switch e.kind {
        case .acceptReady:
            switch spec.accept {
            case .never:
                break
            case .immediate(let delay):
                if delay == 0 {
                    acceptOne(stack: &stack, io: &io)
                } else {
                    io.after(delay, app: id, token: HTTPServer.acceptToken)
                }
            case .rate:
                armAcceptTick(io: &io)
            }
        case .data:
            guard spec.http != nil, e.message.kind == HTTPMessage.requestKind else { return }
            respond(e.socket, closes: e.message.arg & 1 == 1, stack: &stack, io: &io)
        case .eof:
            forget(e.socket)
            stack.close(e.socket, now: io.now, out: &io.fx)
        case .failed:
            forget(e.socket)
        case .connected:
            break
        }
    }

    func timer(_ token: UInt32, stack: inout HostStack, io: inout AppIO) {
        if token == HTTPServer.acceptToken {
            if case .rate = spec.accept {
                acceptTickArmed = false
                acceptOne(stack: &stack, io: &io)
                if stack.acceptQueueLength(listener) > 0 { armAcceptTick(io: &io) }
            } else {
                acceptOne(stack: &stack, io: &io)
            }
            return
        }
        // Keep-alive timeout: close the idle connection (the server closes first then). Stale
        // timers (the connection answered again since, or the slot holds another connection)
        // find a later deadline and do nothing.
        let slot = Int(token - 1)
        guard slot < conn.count, let h = conn[slot], idleDeadline[slot] <= io.now else { return }
        forget(h)
        stack.close(h, now: io.now, out: &io.fx)
    }

    private func forget(_ h: SocketHandle) {
        let slot = Int(h.index)
        if slot < conn.count, conn[slot] == h { conn[slot] = nil }
    }

    private func keepAlive(_ h: SocketHandle, io: inout AppIO) {
        guard let http = spec.http else { return }
        let slot = Int(h.index)
        conn.cover(slot, with: nil)
        idleDeadline.cover(slot, with: 0)
        conn[slot] = h
        idleDeadline[slot] = io.now + http.keepaliveTimeout
        io.after(http.keepaliveTimeout, app: id, token: UInt32(slot + 1), lane: keepaliveLane)
    }

    private func armAcceptTick(io: inout AppIO) {
        guard !acceptTickArmed, case .rate(let r) = spec.accept else { return }
        acceptTickArmed = true
        io.after(Nanos((1e9 / r).rounded()), app: id, token: HTTPServer.acceptToken)
    }

    private func acceptOne(stack: inout HostStack, io: inout AppIO) {
        guard let h = stack.accept(listener: listener, app: id, now: io.now, out: &io.fx) else { return }
        keepAlive(h, io: &io)
    }

    private func respond(_ h: SocketHandle, closes: Bool, stack: inout HostStack, io: inout AppIO) {
        let status = UInt16(spec.http?.status ?? 404)
        let msg = AppMessage(kind: HTTPMessage.responseKind, arg: status)
        if closes {
            stack.send(
                h, length: HTTPMessage.responseLength, message: msg, fin: true, now: io.now, out: &io.fx)
            forget(h)
            stack.close(h, now: io.now, out: &io.fx)
        } else {
            stack.send(h, length: HTTPMessage.responseLength, message: msg, now: io.now, out: &io.fx)
            keepAlive(h, io: &io)
        }
    }
}

/// Outcome counts, latencies, local ports and timestamp offsets of one workload.
struct Recorder {
    /// Outcome code -> count: HTTP status, 0 = connected, 1000 + errno, -1 = pending.
    var outcomes: [Int: Int] = [:]
    var latencies: [Nanos] = []
    var ports = PortSet()
    /// The distinct TS offsets of connections that negotiated timestamps.
    var tsOffsets = Set<UInt32>()
    var rounds: [Int: Int] = [:]
    var attempts = 0

    static let connected = 0
    static let pending = -1
    /// A flood's SYN, which never completes.
    static let sent = -2
    static func code(_ e: Errno) -> Int { 1000 + Int(e.rawValue) }

    mutating func record(_ code: Int) { outcomes[code, default: 0] += 1 }

    /// Notes a successful connection's local port and timestamp offset.
    mutating func note(_ h: SocketHandle, on stack: HostStack) {
        if let p = stack.localPort(h) { ports.insert(p) }
        if let o = stack.timestampOffset(h) { tsOffsets.insert(o) }
    }

    static func name(_ code: Int) -> String {
        switch code {
        case connected: return "connected"
        case pending: return "pending"
        case sent: return "sent"
        case 1000...: return Errno(rawValue: UInt8(code - 1000))?.name ?? "E?"
        default: return String(code)
        }
    }
}

/// The distinct local ports a workload used: a 65536-bit set, cheap to insert into.
struct PortSet {
    private var words = [UInt64](repeating: 0, count: 1024)
    mutating func insert(_ p: UInt16) { words[Int(p) >> 6] |= 1 << UInt64(p & 63) }
    var sorted: [Int] {
        var out: [Int] = []
        for (w, bits) in words.enumerated() where bits != 0 {
            var b = bits
            while b != 0 {
                out.append(w << 6 | b.trailingZeroBitCount)
                b &= b - 1
            }
        }
        return out
    }
}

/// A client workload: an application that records outcomes and tells the engine when done.
class Workload {
    let index: Int
    let spec: WorkloadSpec
    var recorder = Recorder()
    var finishedAt: Nanos? = nil
    init(index: Int, spec: WorkloadSpec) {
        self.index = index
        self.spec = spec
    }

    /// Attempts that have not ended (reported as "pending" if the run stops first).
    var inFlight: Int { 0 }

    /// Begins the workload on its host's stack (each kind overrides this).
    func start(stack: inout HostStack, io: inout AppIO) {}

    func finish(io: inout AppIO) {
        guard finishedAt == nil else { return }
        finishedAt = io.now
        io.finished.append(index)
    }
}

extension Array {
    /// Makes index `i` valid, filling new places with `value`; grows at least twofold, so
    /// arrays indexed by socket slot reach their size in a few steps.
    mutating func cover(_ i: Int, with value: Element) {
        guard i >= count else { return }
        append(contentsOf: repeatElement(value, count: Swift.max(i + 1, count * 2) - count))
    }
}
