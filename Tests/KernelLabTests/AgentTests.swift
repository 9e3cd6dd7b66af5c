import Glibc
import LinuxTCP
import Scenario
import Synchronization
import Testing

@testable import KernelLab

/// The agent with real sockets over 127.0.0.1 in the test's own namespace (no root): each test
/// runs `Agent.run` on a thread with pipes for its input and output, on ports of its own.
@Suite struct AgentTests {
    @Test func curlFiveRequestsGet404AndTheClientHoldsTheTimeWait() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p, workloads: "- { name: w, from: srv, to: \"127.0.0.1:\(p)\", kind: curl, count: 5 }"))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "w"))
        let events = agent.events(until: .finished(workload: "w"))
        let attempts = events.compactMap(AgentTestAttempt.init)
        #expect(attempts.map(\.outcome) == ["404", "404", "404", "404", "404"])
        #expect(attempts.allSatisfy { $0.port != nil && $0.latencyMs != nil })
        #expect(Set(attempts.compactMap(\.port)).count == 5)
        #expect(events.last == .finished(workload: "w"))
        // HTTP/1.1 keep-alive: curl closes first, so the client side holds every TIME_WAIT.
        let tw = ProcNetTCP.waitForTimeWait(port: p) { $0.client == 5 }
        #expect(tw.client == 5)
        #expect(tw.server == 0)
        #expect(agent.stop() == 0)
    }

    @Test func http10MakesTheServerCloseFirst() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p,
                workloads:
                    "- { name: w, from: srv, to: \"127.0.0.1:\(p)\", kind: curl, count: 5, http: \"1.0\" }"))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "w"))
        let attempts = agent.events(until: .finished(workload: "w")).compactMap(AgentTestAttempt.init)
        #expect(attempts.map(\.outcome) == Array(repeating: "404", count: 5))
        // TCP_CORK + shutdown: the FIN rides on the response, the server holds the TIME_WAITs.
        let tw = ProcNetTCP.waitForTimeWait(port: p) { $0.server == 5 }
        #expect(tw.server == 5)
        #expect(tw.client == 0)
        #expect(agent.stop() == 0)
    }

    @Test func connectionCloseHeaderMakesTheServerCloseFirst() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p,
                workloads:
                    "- { name: w, from: srv, to: \"127.0.0.1:\(p)\", kind: curl, count: 2, header: { Connection: close } }"
            ))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "w"))
        let attempts = agent.events(until: .finished(workload: "w")).compactMap(AgentTestAttempt.init)
        #expect(attempts.map(\.outcome) == ["404", "404"])
        let tw = ProcNetTCP.waitForTimeWait(port: p) { $0.server == 2 }
        #expect(tw.server == 2)
        #expect(tw.client == 0)
        #expect(agent.stop() == 0)
    }

    @Test func reuseConnectionSendsEveryRequestOnOneConnection() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p,
                workloads:
                    "- { name: w, from: srv, to: \"127.0.0.1:\(p)\", kind: curl, count: 3, reuse_connection: true }"
            ))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "w"))
        let attempts = agent.events(until: .finished(workload: "w")).compactMap(AgentTestAttempt.init)
        #expect(attempts.map(\.outcome) == ["404", "404", "404"])
        #expect(Set(attempts.compactMap(\.port)).count == 1)
        let tw = ProcNetTCP.waitForTimeWait(port: p) { $0.client == 1 }
        #expect(tw.client == 1)
        #expect(tw.server == 0)
        #expect(agent.stop() == 0)
    }

    @Test func linger0LeavesNoTimeWait() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p,
                workloads:
                    "- { name: w, from: srv, to: \"127.0.0.1:\(p)\", kind: curl, count: 3, close: linger0 }"))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "w"))
        let attempts = agent.events(until: .finished(workload: "w")).compactMap(AgentTestAttempt.init)
        #expect(attempts.map(\.outcome) == ["404", "404", "404"])
        usleep(100_000)
        let tw = ProcNetTCP.timeWait(port: p)
        #expect(tw.client == 0)
        #expect(tw.server == 0)
        #expect(agent.stop() == 0)
    }

    @Test func curlTimeoutOnASilentListenerIsETIMEDOUT() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p, listener: "{ port: \(p), backlog: 8, http: none, accept: { never: true } }",
                workloads:
                    "- { name: w, from: srv, to: \"127.0.0.1:\(p)\", kind: curl, count: 2, timeout: 100ms }"))
        #expect(agent.next() == .ready(host: "srv"))
        let t0 = POSIXClock.now()
        agent.send(.start(workload: "w"))
        let events = agent.events(until: .finished(workload: "w"))
        #expect(events.compactMap(AgentTestAttempt.init).map(\.outcome) == ["ETIMEDOUT", "ETIMEDOUT"])
        #expect(events.compactMap(AgentTestAttempt.init).allSatisfy { $0.latencyMs == nil && $0.port == nil })
        let elapsed = Double(POSIXClock.now() - t0) / 1e9
        #expect(elapsed >= 0.2 && elapsed < 2)
        #expect(agent.stop() == 0)
    }

    @Test func connectToAClosedPortIsRefused() throws {
        let p = AgentTestPort.fresh()
        let closed = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p,
                workloads: "- { name: c, from: srv, to: \"127.0.0.1:\(closed)\", kind: connect, count: 2 }"))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "c"))
        let events = agent.events(until: .finished(workload: "c"))
        #expect(
            events == [
                .attempt(
                    workload: "c", outcome: "ECONNREFUSED", latencyMs: nil, localPort: nil, tsOffset: nil),
                .attempt(
                    workload: "c", outcome: "ECONNREFUSED", latencyMs: nil, localPort: nil, tsOffset: nil),
                .finished(workload: "c"),
            ])
        #expect(agent.stop() == 0)
    }

    @Test func curlToAClosedPortIsRefused() throws {
        let p = AgentTestPort.fresh()
        let closed = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p,
                workloads:
                    "- { name: w, from: srv, to: \"127.0.0.1:\(closed)\", kind: curl, count: 1, startup: 0s }"
            ))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "w"))
        #expect(
            agent.events(until: .finished(workload: "w")) == [
                .attempt(
                    workload: "w", outcome: "ECONNREFUSED", latencyMs: nil, localPort: nil, tsOffset: nil),
                .finished(workload: "w"),
            ])
        #expect(agent.stop() == 0)
    }

    @Test func connectHoldsConcurrentConnections() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p, listener: "{ port: \(p), backlog: 16, http: none }",
                workloads:
                    "- { name: c, from: srv, to: \"127.0.0.1:\(p)\", kind: connect, count: 6, concurrency: 3, hold: 50ms }"
            ))
        #expect(agent.next() == .ready(host: "srv"))
        let t0 = POSIXClock.now()
        agent.send(.start(workload: "c"))
        let events = agent.events(until: .finished(workload: "c"))
        let attempts = events.compactMap(AgentTestAttempt.init)
        #expect(attempts.map(\.outcome) == Array(repeating: "connected", count: 6))
        #expect(attempts.allSatisfy { $0.port != nil && $0.latencyMs != nil })
        #expect(events.count == 7)  // no .round with one round and no fill
        // Two waves of three held 50 ms each.
        let elapsed = Double(POSIXClock.now() - t0) / 1e9
        #expect(elapsed >= 0.1 && elapsed < 2)
        #expect(agent.stop() == 0)
    }

    @Test func connectFillHoldsEveryConnectionThenReportsTheRound() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p, listener: "{ port: \(p), backlog: 16, http: none, accept: { never: true } }",
                workloads:
                    "- { name: f, from: srv, to: \"127.0.0.1:\(p)\", kind: connect, count: 4, fill: true, rounds: 2 }"
            ))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "f"))
        let events = agent.events(until: .finished(workload: "f"))
        let kinds = events.map { e -> String in
            switch e {
            case .attempt(_, let o, _, _, _): o
            case .round(_, let n): "round \(n)"
            case .finished: "finished"
            default: "other"
            }
        }
        #expect(
            kinds == [
                "connected", "connected", "connected", "connected", "round 4",
                "connected", "connected", "connected", "connected", "round 4", "finished",
            ])
        #expect(agent.stop() == 0)
    }

    @Test func rateRunsOpenLoop() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p,
                workloads:
                    "- { name: r, from: srv, to: \"127.0.0.1:\(p)\", kind: rate, rate: 1000/s, duration: 300ms }"
            ))
        #expect(agent.next() == .ready(host: "srv"))
        let t0 = POSIXClock.now()
        agent.send(.start(workload: "r"))
        let events = agent.events(until: .finished(workload: "r"), timeout: 20)
        let attempts = events.compactMap(AgentTestAttempt.init)
        #expect(attempts.count == 300)
        #expect(attempts.allSatisfy { $0.outcome == "404" && $0.port != nil })
        let elapsed = Double(POSIXClock.now() - t0) / 1e9
        #expect(elapsed >= 0.299)
        #expect(elapsed < 3)
        #expect(agent.stop() == 0)
    }

    @Test func rateSustains2000PerSecond() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p,
                workloads:
                    "- { name: r, from: srv, to: \"127.0.0.1:\(p)\", kind: rate, rate: 2000/s, duration: 1s }"
            ))
        #expect(agent.next() == .ready(host: "srv"))
        let t0 = POSIXClock.now()
        agent.send(.start(workload: "r"))
        let events = agent.events(until: .finished(workload: "r"), timeout: 20)
        let elapsed = Double(POSIXClock.now() - t0) / 1e9
        let attempts = events.compactMap(AgentTestAttempt.init)
        #expect(attempts.count == 2000)
        #expect(attempts.count { $0.outcome == "404" } == 2000)
        #expect(elapsed >= 0.999)
        #expect(elapsed < 1.5)
        #expect(agent.stop() == 0)
    }

    @Test func acceptDelayHoldsEachConnectionInTheQueue() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p, listener: "{ port: \(p), http: { status: 404 }, accept: { delay: 150ms } }",
                workloads:
                    "- { name: w, from: srv, to: \"127.0.0.1:\(p)\", kind: curl, count: 2, startup: 0s }"))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "w"))
        let attempts = agent.events(until: .finished(workload: "w")).compactMap(AgentTestAttempt.init)
        #expect(attempts.map(\.outcome) == ["404", "404"])
        // The handshake completes in the kernel; the answer waits for the delayed accept().
        #expect(attempts.allSatisfy { ($0.latencyMs ?? 0) >= 149 && ($0.latencyMs ?? 0) < 1000 })
        #expect(agent.stop() == 0)
    }

    @Test func acceptRateTakesOneConnectionPerTick() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p, listener: "{ port: \(p), http: { status: 404 }, accept: { rate: 10/s } }",
                workloads:
                    "- { name: w, from: srv, to: \"127.0.0.1:\(p)\", kind: curl, count: 3, startup: 0s }"))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "w"))
        let attempts = agent.events(until: .finished(workload: "w")).compactMap(AgentTestAttempt.init)
        #expect(attempts.map(\.outcome) == ["404", "404", "404"])
        // Each connection is queued alone, so each waits one tick (100 ms) for its accept().
        #expect(attempts.allSatisfy { ($0.latencyMs ?? 0) >= 99 && ($0.latencyMs ?? 0) < 1000 })
        #expect(agent.stop() == 0)
    }

    @Test func keepAliveTimeoutMakesTheServerCloseFirst() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p, listener: "{ port: \(p), http: { status: 200, keepalive_timeout: 100ms } }"))
        #expect(agent.next() == .ready(host: "srv"))
        let (fd, _) = POSIXSocket.tcp(nonBlocking: false)
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        #expect(POSIXSocket.connect(fd, to: IPv4Address(127, 0, 0, 1), port: p) == 0)
        let request = AgentHTTP.request(HTTPRequestSpec(), to: IPv4Address(127, 0, 0, 1), port: p)
        #expect(POSIXSocket.send(fd, request) == request.count)
        let t0 = POSIXClock.now()
        var input: [UInt8] = []
        var sawEOF = false
        while POSIXClock.now() - t0 < 3 * Nanos.nanosPerSecond {
            if case .eof = POSIXSocket.receive(fd, into: &input) {
                sawEOF = true
                break
            }
        }
        let idle = Double(POSIXClock.now() - t0) / 1e9
        #expect(sawEOF)
        #expect(idle >= 0.09 && idle < 1.5)
        guard case .complete(let status, _) = AgentHTTP.parseResponse(input) else {
            Issue.record("no response: \(String(decoding: input, as: UTF8.self))")
            return
        }
        #expect(status == 200)
        close(fd)
        let tw = ProcNetTCP.waitForTimeWait(port: p) { $0.server == 1 }
        #expect(tw.server == 1)
        #expect(tw.client == 0)
        #expect(agent.stop() == 0)
    }

    @Test func badCommandsGetAFailureAndTheAgentGoesOn() throws {
        let p = AgentTestPort.fresh()
        let other = "- { name: theirs, from: cli, to: \"srv:\(p)\", kind: curl, count: 1 }"
        let agent = try AgentHarness(
            AgentYAML.server(port: p, workloads: other, extraHosts: "cli: { address: 10.9.9.9 }"))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "nope"))
        guard case .failure(let m1) = agent.next() else {
            Issue.record("expected a failure")
            return
        }
        #expect(m1.contains("unknown workload 'nope'"))
        agent.send(.start(workload: "theirs"))
        guard case .failure(let m2) = agent.next() else {
            Issue.record("expected a failure")
            return
        }
        #expect(m2.contains("runs on host 'cli'"))
        agent.sendRaw("{not json\n")
        guard case .failure(let m3) = agent.next() else {
            Issue.record("expected a failure")
            return
        }
        #expect(m3.contains("not a command"))
        agent.send(.snapshot(id: 7))
        #expect(
            agent.next()
                == .snapshot(
                    id: 7, states: ["LISTEN": 1, "TIME-WAIT": 3],
                    listeners: [AgentListener(port: Int(p), recvQ: 0, sendQ: 511)]))
        agent.send(.counters(id: 8))
        #expect(agent.next() == .counters(id: 8, values: ["TcpActiveOpens": 11, "TcpExtTW": 2]))
        #expect(agent.stop() == 0)
    }

    @Test func stopEndsRunningWorkloadsPromptly() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(
            AgentYAML.server(
                port: p,
                workloads: """
                    - { name: slow, from: srv, to: "127.0.0.1:\(p)", kind: curl, count: 100, interval: 10s }
                    - { name: held, from: srv, to: "127.0.0.1:\(p)", kind: connect, count: 5, concurrency: 5, hold: 60s }
                    """))
        #expect(agent.next() == .ready(host: "srv"))
        agent.send(.start(workload: "slow"))
        agent.send(.start(workload: "held"))
        var seen = 0
        while seen < 6, let e = agent.next() {
            if case .attempt = e { seen += 1 }
        }
        #expect(seen == 6)
        let t0 = POSIXClock.now()
        #expect(agent.stop() == 0)
        #expect(POSIXClock.now() - t0 < Nanos.nanosPerSecond)
    }

    @Test func endOfInputStops() throws {
        let p = AgentTestPort.fresh()
        let agent = try AgentHarness(AgentYAML.server(port: p))
        #expect(agent.next() == .ready(host: "srv"))
        agent.closeInput()
        #expect(agent.wait() == 0)
    }

    @Test func unknownHostAndBusyPortFail() throws {
        let p = AgentTestPort.fresh()
        let bad = try AgentHarness(AgentYAML.server(port: p), host: "ghost")
        guard case .failure(let m) = bad.next() else {
            Issue.record("expected a failure")
            return
        }
        #expect(m.contains("no host 'ghost'"))
        #expect(bad.wait() == 2)

        // Someone else listens on the port without SO_REUSEADDR.
        let (fd, _) = POSIXSocket.tcp(nonBlocking: false)
        defer { close(fd) }
        #expect(POSIXSocket.bind(fd, address: nil, port: p) == 0)
        #expect(listen(fd, 1) == 0)
        let busy = try AgentHarness(AgentYAML.server(port: p))
        #expect(busy.next() == .failure(message: "agent srv: bind 0.0.0.0:\(p): EADDRINUSE"))
        #expect(busy.wait() == 1)
    }
}

/// The HTTP bytes and parsers without sockets.
@Suite struct AgentHTTPTests {
    @Test func requestLooksLikeCurl() {
        let r = HTTPRequestSpec(version: .v1_0, headers: [HTTPHeader(name: "Connection", value: "close")])
        let text = String(
            decoding: AgentHTTP.request(r, to: IPv4Address(10, 77, 0, 2), port: 80), as: UTF8.self)
        #expect(
            text
                == "GET / HTTP/1.0\r\nHost: 10.77.0.2\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n"
                + "Connection: close\r\n\r\n")
        let h = HTTPRequestSpec(headers: [HTTPHeader(name: "accept", value: "text/html")])
        let t2 = String(
            decoding: AgentHTTP.request(h, to: IPv4Address(127, 0, 0, 1), port: 8080), as: UTF8.self)
        #expect(
            t2
                == "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: text/html\r\n\r\n"
        )
    }

    @Test func serverCloseRulesFollowTheScenarioSemantics() {
        func closes(_ version: HTTPVersion, _ headers: [HTTPHeader]) -> Bool? {
            let spec = HTTPRequestSpec(version: version, headers: headers)
            let bytes = AgentHTTP.request(spec, to: IPv4Address(127, 0, 0, 1), port: 80)
            guard let parsed = AgentHTTP.parseRequest(bytes) else { return nil }
            #expect(parsed.length == bytes.count)
            #expect(parsed.closes == spec.asksServerToClose)
            return parsed.closes
        }
        #expect(closes(.v1_1, []) == false)
        #expect(closes(.v1_1, [HTTPHeader(name: "Connection", value: "close")]) == true)
        #expect(closes(.v1_1, [HTTPHeader(name: "connection", value: "Close")]) == true)
        #expect(closes(.v1_0, []) == true)
        #expect(closes(.v1_0, [HTTPHeader(name: "Connection", value: "keep-alive")]) == false)
        #expect(AgentHTTP.parseRequest(Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8)) == nil)
    }

    @Test func responsesParseIncrementally() {
        let r = AgentHTTP.response(status: 404, close: false)
        #expect(String(decoding: r, as: UTF8.self).hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(AgentHTTP.parseResponse(Array(r.prefix(r.count - 1))) == .incomplete)
        #expect(AgentHTTP.parseResponse(r) == .complete(status: 404, length: r.count))
        #expect(
            AgentHTTP.parseResponse(r + Array("HTTP/1.1".utf8)) == .complete(status: 404, length: r.count))
        #expect(AgentHTTP.parseResponse(Array("SSH-2.0-x\r\n\r\n".utf8)) == .malformed)
    }

    @Test func errnoNamesAreTheContractKeys() {
        #expect(POSIXErrno.name(EADDRNOTAVAIL) == "EADDRNOTAVAIL")
        #expect(POSIXErrno.name(ECONNREFUSED) == "ECONNREFUSED")
        #expect(POSIXErrno.name(ECONNRESET) == "ECONNRESET")
        #expect(POSIXErrno.name(ETIMEDOUT) == "ETIMEDOUT")
        #expect(POSIXErrno.name(EADDRINUSE) == "EADDRINUSE")
    }
}

// MARK: - Support

/// A scenario with one host `srv` at 127.0.0.1 listening on a port.
enum AgentYAML {
    static func server(port: UInt16, listener: String? = nil, workloads: String = "", extraHosts: String = "")
        -> String
    {
        var y = """
            twlab: 1
            name: agent-test
            hosts:
              srv:
                address: 127.0.0.1
                listen:
                  - \(listener ?? "{ port: \(port), http: { status: 404 } }")

            """
        if !extraHosts.isEmpty { y += "  \(extraHosts)\n" }
        // The schema wants a workload; this one is never started.
        let w =
            workloads.isEmpty
            ? "- { name: idle, from: srv, to: \"127.0.0.1:\(port)\", kind: curl, count: 1 }" : workloads
        y += "workloads:\n"
        for line in w.split(separator: "\n") { y += "  \(line)\n" }
        return y
    }
}

/// A fake namespace view with fixed values.
struct FixedObserver: AgentObserver {
    let port: Int
    func snapshot() -> (states: [String: Int], listeners: [AgentListener]) {
        (["LISTEN": 1, "TIME-WAIT": 3], [AgentListener(port: port, recvQ: 0, sendQ: 511)])
    }
    func counters() -> [String: Int64] { ["TcpActiveOpens": 11, "TcpExtTW": 2] }
}

struct AgentTestAttempt {
    var outcome: String
    var latencyMs: Double?
    var port: Int?
    init?(_ e: AgentEvent) {
        guard case .attempt(_, let o, let l, let p, _) = e else { return nil }
        outcome = o
        latencyMs = l
        port = p
    }
}

/// Ports for one test: unused in this process and in /proc/net/tcp, below the ephemeral range.
enum AgentTestPort {
    private static let taken = Mutex<Set<UInt16>>([])

    static func fresh() -> UInt16 {
        while true {
            let p = UInt16.random(in: 20000..<32000)
            let inUse = ProcNetTCP.entries().contains { $0.local == p || $0.remote == p }
            let ok = taken.withLock { set -> Bool in
                guard !inUse, !set.contains(p) else { return false }
                set.insert(p)
                return true
            }
            if ok { return p }
        }
    }
}

/// /proc/net/tcp of the test's namespace.
enum ProcNetTCP {
    struct Entry {
        var local: UInt16
        var remote: UInt16
        var state: Int
        /// "local_address rem_address" as written (hex address:port pairs).
        var tuple: String
    }

    static func entries() -> [Entry] {
        guard let f = fopen("/proc/net/tcp", "r") else { return [] }
        defer { fclose(f) }
        var out: [Entry] = []
        var line: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        defer { free(line) }
        while getline(&line, &cap, f) > 0 {
            let fields = String(cString: line!).split(separator: " ")
            guard fields.count > 3, fields[0].hasSuffix(":"),
                let l = fields[1].split(separator: ":").last, let lp = UInt16(l, radix: 16),
                let r = fields[2].split(separator: ":").last, let rp = UInt16(r, radix: 16),
                let st = Int(fields[3], radix: 16)
            else { continue }
            out.append(Entry(local: lp, remote: rp, state: st, tuple: "\(fields[1]) \(fields[2])"))
        }
        return out
    }

    /// TIME_WAIT sockets (state 06) of connections to `port` over loopback: the server side has
    /// it as local port, the client side as remote port. The file is made chunk by chunk while
    /// sockets come and go, so a line can be missed or repeated: two reads, merged by 4-tuple.
    static func timeWait(port: UInt16) -> (server: Int, client: Int) {
        var seen: Set<String> = []
        var server = 0
        var client = 0
        for e in entries() + entries() where e.state == 6 && (e.local == port || e.remote == port) {
            guard seen.insert(e.tuple).inserted else { continue }
            if e.local == port { server += 1 } else { client += 1 }
        }
        return (server, client)
    }

    /// Waits up to 3 s for `done`, then returns the counts.
    static func waitForTimeWait(port: UInt16, _ done: ((server: Int, client: Int)) -> Bool)
        -> (server: Int, client: Int)
    {
        let t0 = POSIXClock.now()
        var tw = timeWait(port: port)
        while !done(tw) && POSIXClock.now() - t0 < 3 * Nanos.nanosPerSecond {
            usleep(10_000)
            tw = timeWait(port: port)
        }
        usleep(50_000)  // let anything extra show up before the exact assertions
        return timeWait(port: port)
    }
}

struct AgentHarnessError: Error { var message: String }

final class AgentExitBox: Sendable {
    let value = Mutex<Int32?>(nil)
}

/// `Agent.run` on a thread, with a pipe for its input and one for its output.
final class AgentHarness: @unchecked Sendable {
    private let commandFD: Int32
    private let eventFD: Int32
    private let agentInput: Int32
    private let agentOutput: Int32
    private let thread: pthread_t
    private let status = AgentExitBox()
    private var buffer: [UInt8] = []
    private var joined = false
    private var inputClosed = false

    init(_ yaml: String, host: String = "srv") throws {
        let scenario = try ScenarioLoader.parse(yaml, file: "t")
        var a: [Int32] = [-1, -1]
        var b: [Int32] = [-1, -1]
        guard pipe(&a) == 0, pipe(&b) == 0 else { throw AgentHarnessError(message: "pipe") }
        agentInput = a[0]
        commandFD = a[1]
        eventFD = b[0]
        agentOutput = b[1]
        let port = Int(scenario.host(named: "srv")?.listeners.first?.port ?? 0)
        let (input, output, status) = (agentInput, agentOutput, status)
        guard
            let t = POSIXThread.spawn({
                let code = Agent.run(
                    scenario: scenario, host: host, input: input, output: output,
                    observer: FixedObserver(port: port))
                status.value.withLock { $0 = code }
            })
        else { throw AgentHarnessError(message: "thread") }
        thread = t
    }

    deinit {
        if !joined { _ = stop() }
        closeInput()
        close(eventFD)
        close(agentInput)
        close(agentOutput)
    }

    func sendRaw(_ text: String) {
        guard !inputClosed else { return }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(commandFD, $0.baseAddress, $0.count) }
    }

    func send(_ c: AgentCommand) { sendRaw(AgentWire.line(c) + "\n") }

    /// The next event, or nil after `timeout` seconds.
    func next(timeout: Double = 10) -> AgentEvent? {
        let deadline = POSIXClock.now() + Nanos.seconds(timeout)
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeFirst(nl + 1)
                guard let e = AgentWire.event(line) else {
                    Issue.record("not an event: \(line)")
                    continue
                }
                return e
            }
            var fds = [pollfd(fd: eventFD, events: Int16(POLLIN), revents: 0)]
            POSIXPoll.wait(&fds, until: deadline)
            if fds[0].revents == 0 { return nil }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { read(eventFD, $0.baseAddress, $0.count) }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// Events up to and including `last` (or until none comes for `timeout` seconds).
    func events(until last: AgentEvent, timeout: Double = 10) -> [AgentEvent] {
        var out: [AgentEvent] = []
        while let e = next(timeout: timeout) {
            out.append(e)
            if e == last { return out }
        }
        Issue.record("no \(last) after \(out.count) events")
        return out
    }

    func closeInput() {
        guard !inputClosed else { return }
        inputClosed = true
        close(commandFD)
    }

    /// Sends `stop` and waits for `run` to return.
    func stop() -> Int32? {
        send(.stop)
        return wait()
    }

    /// Waits up to 5 s for `run` to return; its status.
    func wait() -> Int32? {
        let t0 = POSIXClock.now()
        while status.value.withLock({ $0 }) == nil && POSIXClock.now() - t0 < 5 * Nanos.nanosPerSecond {
            usleep(2000)
        }
        guard let s = status.value.withLock({ $0 }) else { return nil }
        if !joined {
            POSIXThread.join(thread)
            joined = true
        }
        return s
    }
}
