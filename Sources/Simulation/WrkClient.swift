import LinuxTCP
import Scenario

/// wrk 4.2 (design.md `wrk`): `connections` sockets opened at once, each sending its next
/// request as soon as a response completes. What wrk counts, from its `wrk.c`:
/// - **connect**: `connect()` failing at once (EADDRNOTAVAIL). wrk never retries that
///   connection: it is dead for the rest of the run.
/// - **write**: the first write after the connection became writable failed. wrk does not read
///   `SO_ERROR`; a connect that failed later (ECONNREFUSED, ETIMEDOUT) or was reset before
///   wrk wrote shows up here. wrk then reconnects.
/// - **read**: a read error (ECONNRESET after the request went out); wrk reconnects. A clean
///   EOF before a response is not an error: wrk just reconnects.
/// - **timeout**: a response that took `--timeout` or longer (`stats_record` refuses it); it still
///   counts as a response. wrk 4.2 has no timer for requests never answered: they count nothing.
/// A response that closes the connection (`Connection: close`, HTTP/1.0) makes wrk reconnect.
/// The run stops after `duration` (or `requests` responses, an extension), closing everything;
/// requests still outstanding then are not counted, as in wrk. With `requests`, exactly that many
/// requests are written (a failed one is written again), and the run ends once every response
/// is in and no connection is still connecting.
///
/// wrk hears of an established connection ``connectWakeup`` after the kernel completes it and
/// writes then, so a reset that came back with the handshake (lab-notes k7, abort on overflow)
/// is a write error, as on the kernel.
final class WrkClient: Workload, Application {
    let id: UInt32
    let host: Int
    let wrk: WrkSpec
    /// Per wrk connection: its current socket, whether wrk has seen it established, and when its
    /// outstanding request was written (nil: none outstanding).
    private var socket: [SocketHandle?]
    private var established: [Bool]
    private var sentAt: [Nanos?]
    /// When the kernel completed the current socket's connect (wrk acts ``connectWakeup`` later).
    private var connectedAt: [Nanos?]
    /// Socket slot -> wrk connection + 1 (0: not ours).
    private var owner: [Int] = []
    private var responses = 0
    private var stopped = false
    /// Connections opened for the first time so far (all of them at once, or `spacing` apart).
    private var launched = 0
    /// Requests written and not yet failed: with `requests`, no more than that are written.
    private var committed = 0
    /// connect, read, write, timeout.
    private(set) var errors = [0, 0, 0, 0]

    private static let openToken: UInt32 = 0
    private static let stopToken: UInt32 = 1
    /// Tokens from here open connection `token - firstConnectionToken` (with `spacing`).
    private static let firstConnectionToken: UInt32 = 2
    /// Tokens from here: connection `token - firstWriteToken` notices its connect and writes.
    private var firstWriteToken: UInt32 { WrkClient.firstConnectionToken + UInt32(wrk.connections) }

    init(id: UInt32, host: Int, index: Int, spec: WorkloadSpec, wrk: WrkSpec) {
        self.id = id
        self.host = host
        self.wrk = wrk
        socket = Array(repeating: nil, count: wrk.connections)
        established = Array(repeating: false, count: wrk.connections)
        sentAt = Array(repeating: nil, count: wrk.connections)
        connectedAt = Array(repeating: nil, count: wrk.connections)
        super.init(index: index, spec: spec)
    }

    override func start(stack: inout HostStack, io: inout AppIO) {
        io.after(0, app: id, token: WrkClient.openToken)
        if let d = wrk.duration { io.after(d, app: id, token: WrkClient.stopToken) }
    }

    func timer(_ t: UInt32, stack: inout HostStack, io: inout AppIO) {
        guard !stopped else { return }
        if t == WrkClient.openToken {
            if wrk.spacing == 0 {
                for c in 0..<wrk.connections {
                    launched += 1
                    open(c, stack: &stack, io: &io)
                }
                stopIfDone(stack: &stack, io: &io)
            } else {
                for c in 0..<wrk.connections {
                    io.after(
                        Nanos(c) * wrk.spacing, app: id, token: WrkClient.firstConnectionToken + UInt32(c))
                }
            }
        } else if t >= firstWriteToken {
            let c = Int(t - firstWriteToken)
            guard let h = socket[c], !established[c], let at = connectedAt[c], at + connectWakeup <= io.now
            else { return }
            established[c] = true
            write(c, h, stack: &stack, io: &io)
            stopIfDone(stack: &stack, io: &io)
        } else if t >= WrkClient.firstConnectionToken {
            launched += 1
            open(Int(t - WrkClient.firstConnectionToken), stack: &stack, io: &io)
            stopIfDone(stack: &stack, io: &io)
        } else {
            stop(stack: &stack, io: &io)
        }
    }

    private func open(_ c: Int, stack: inout HostStack, io: inout AppIO) {
        established[c] = false
        sentAt[c] = nil
        connectedAt[c] = nil
        socket[c] = nil
        switch stack.connect(to: spec.to.address, port: spec.to.port, app: id, now: io.now, out: &io.fx) {
        case .failure(let e):
            fail(errorClass: 0, errno: e)
        case .success(let h):
            socket[c] = h
            let s = Int(h.index)
            owner.cover(s, with: 0)
            owner[s] = c + 1
        }
    }

    private func fail(errorClass: Int, errno: Errno) {
        errors[errorClass] += 1
        recorder.attempts += 1
        recorder.record(Recorder.code(errno))
    }

    private func release(_ h: SocketHandle) {
        let s = Int(h.index)
        if s < owner.count { owner[s] = 0 }
    }

    /// Closes connection `c`'s socket and opens a new one (wrk's `reconnect_socket`).
    private func reconnect(_ c: Int, stack: inout HostStack, io: inout AppIO) {
        if let h = socket[c] {
            release(h)
            stack.close(h, linger0: wrk.close == .linger0, now: io.now, out: &io.fx)
        }
        open(c, stack: &stack, io: &io)
    }

    private func write(_ c: Int, _ h: SocketHandle, stack: inout HostStack, io: inout AppIO) {
        if let r = wrk.requests {
            guard committed < r else { return }
            committed += 1
        }
        sentAt[c] = io.now
        stack.send(
            h, length: HTTPMessage.requestLength, message: HTTPMessage.request(wrk.request), now: io.now,
            out: &io.fx)
    }

    /// With `requests`: every response is in and no connection is still connecting (the last
    /// reconnects complete before wrk exits, so the run ends the same on both engines), or
    /// every connection died at connect() and nothing is left to wait for.
    private func stopIfDone(stack: inout HostStack, io: inout AppIO) {
        guard !stopped, let r = wrk.requests else { return }
        // A request given back by a connection that died at connect() goes to an idle one.
        for c in socket.indices where committed < r && established[c] && sentAt[c] == nil {
            if let h = socket[c] { write(c, h, stack: &stack, io: &io) }
        }
        let allDead = launched == wrk.connections && socket.allSatisfy { $0 == nil }
        guard responses >= r || (allDead && wrk.duration == nil) else { return }
        for c in socket.indices where socket[c] != nil && !established[c] { return }
        stop(stack: &stack, io: &io)
    }

    private func stop(stack: inout HostStack, io: inout AppIO) {
        stopped = true
        for c in socket.indices {
            guard let h = socket[c] else { continue }
            release(h)
            socket[c] = nil
            stack.close(h, linger0: wrk.close == .linger0, now: io.now, out: &io.fx)
        }
        finish(io: &io)
    }

    func handle(_ e: AppEvent, stack: inout HostStack, io: inout AppIO) {
        let s = Int(e.socket.index)
        guard !stopped, s < owner.count, owner[s] > 0 else { return }
        let c = owner[s] - 1
        guard socket[c] == e.socket else { return }
        switch e.kind {
        case .connected:
            connectedAt[c] = io.now
            io.after(connectWakeup, app: id, token: firstWriteToken + UInt32(c))
        case .data:
            guard e.message.kind == HTTPMessage.responseKind, let t0 = sentAt[c] else { return }
            responses += 1
            recorder.attempts += 1
            recorder.record(Int(e.message.arg))
            recorder.note(e.socket, on: stack)
            if io.now - t0 >= wrk.timeout { errors[3] += 1 } else { recorder.latencies.append(io.now - t0) }
            sentAt[c] = nil
            if wrk.request.asksServerToClose {
                reconnect(c, stack: &stack, io: &io)
            } else {
                write(c, e.socket, stack: &stack, io: &io)
            }
            stopIfDone(stack: &stack, io: &io)
        case .eof:
            // The server closed: wrk reconnects without counting an error.
            if sentAt[c] != nil, wrk.requests != nil { committed -= 1 }
            reconnect(c, stack: &stack, io: &io)
            stopIfDone(stack: &stack, io: &io)
        case .failed:
            if sentAt[c] != nil, wrk.requests != nil { committed -= 1 }
            release(e.socket)
            socket[c] = nil
            fail(errorClass: established[c] ? 1 : 2, errno: e.errno)
            open(c, stack: &stack, io: &io)
            stopIfDone(stack: &stack, io: &io)
        case .acceptReady:
            break
        }
    }
}
