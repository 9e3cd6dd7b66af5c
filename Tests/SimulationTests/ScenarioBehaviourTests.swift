import Results
import Scenario
import Simulation
import Testing

/// Kernel-spec rules checked end to end: a YAML scenario through `SimulatorEngine`, with the
/// values the 6.18 kernel produced (kernel-spec.md evidence blocks).
@Suite struct ScenarioBehaviourTests {
    static func run(_ yaml: String, _ name: String) throws -> RunResult {
        try SimulatorEngine().run(try ScenarioLoader.parse(yaml, file: "\(name).yaml"))
    }

    // LQ-1/LQ-2/LQ-3/LQ-4.3 / e11: listen(4), 10 clients, never accept → Recv-Q 5 Send-Q 4,
    // 5 clients ESTAB and 5 SYN-SENT, ListenOverflows = ListenDrops = 5 per SYN wave (25 by 4.5 s).
    // LQ-1 / l6: listen(511) with somaxconn=128 → Send-Q 128.
    @Test func e11_listenQueueOverflowAndSomaxconnClamp() throws {
        // e11 spaced the 10 SYNs 20 ms apart: one single-connect workload per client.
        let clients = (0..<10).map { k in
            """
              - name: c\(k)
                start: \(k * 20)ms
                from: client
                to: server:8091
                kind: connect
                count: 1
                hold: 100s
            """
        }.joined(separator: "\n")
        let r = try Self.run(
            """
            twlab: 1
            name: spec-e11
            seed: 3
            duration: 4.5s
            network: { delay: 0.05ms }
            hosts:
              client:
                address: 10.77.0.1
              server:
                address: 10.77.0.2
                sysctl: { net.core.somaxconn: 128 }
                listen:
                  - port: 8091
                    backlog: 4
                    http: none
                    accept: { never: true }
                  - port: 80
                    backlog: 511
                    http: none
                    accept: { never: true }
            workloads:
            \(clients)
            observe:
              - at: 500ms
              - at: 4.5s
            """, "spec-e11")
        for label in ["500ms", "4.5s"] {
            let snap = try #require(r.snapshot(label))
            let server = try #require(snap.host("server"))
            #expect(
                server.listeners.first { $0.port == 8091 } == ListenerSnapshot(port: 8091, recvQ: 5, sendQ: 4)
            )
            #expect(
                server.listeners.first { $0.port == 80 } == ListenerSnapshot(port: 80, recvQ: 0, sendQ: 128))
            #expect(server.count("ESTAB") == 5)
            let client = try #require(snap.host("client"))
            #expect(client.count("ESTAB") == 5)
            #expect(client.count("SYN-SENT") == 5)
        }
        let c = try #require(r.counters(of: "server"))
        #expect(c.value("TcpExtListenOverflows") == 25)
        #expect(c.value("TcpExtListenDrops") == 25)
    }

    // TW-6 / e2: client tcp_max_tw_buckets=5, 10 × (connect, client close) → exactly 5 timewait
    // sockets (FIN_WAIT2 substate, shown as FIN-WAIT-2), TcpExtTW 5, TCPTimeWaitOverflow 5.
    @Test func e2_maxTwBuckets5() throws {
        let r = try Self.run(
            """
            twlab: 1
            name: spec-e2
            seed: 4
            network: { delay: 0.05ms }
            hosts:
              client:
                address: 10.77.0.1
                sysctl: { net.ipv4.tcp_max_tw_buckets: 5 }
              server:
                address: 10.77.0.2
                listen:
                  - port: 8080
                    http: none
                    accept: { never: true }
            workloads:
              - name: ten
                from: client
                to: server:8080
                kind: connect
                count: 10
            observe:
              - at: end
            """, "spec-e2")
        #expect(r.workload("ten")?.count("connected") == 10)
        let client = try #require(r.snapshot("end")?.host("client"))
        #expect(client.states == [Outcome("FIN-WAIT-2", 5)])
        let c = try #require(r.counters(of: "client"))
        #expect(c.value("TcpExtTW") == 5)
        #expect(c.value("TcpExtTCPTimeWaitOverflow") == 5)
        #expect(c.value("TcpOutRsts") == 0)
    }

    // EP-1 / e9: range "40500 40502": every fill of the range gets exactly [40500, 40501]
    // (connect() never picks the top port of an odd-sized range), then EADDRNOTAVAIL.
    @Test func e9_oddRangeFill() throws {
        let r = try Self.run(
            """
            twlab: 1
            name: spec-e9
            seed: 5
            network: { delay: 0.05ms }
            hosts:
              client:
                address: 10.77.0.1
                sysctl: { net.ipv4.ip_local_port_range: "40500 40502" }
              server:
                address: 10.77.0.2
                listen:
                  - port: 80
                    http: none
            workloads:
              - name: fill
                from: client
                to: server:80
                kind: connect
                count: 10
                fill: true
                rounds: 6
                interval: 3s
                close: linger0
            observe:
              - at: end
            """, "spec-e9")
        let w = try #require(r.workload("fill"))
        #expect(w.rounds == [Outcome("2", 6)])
        #expect(w.localPorts == [40500, 40501])
        #expect(w.count("EADDRNOTAVAIL") == 6)
    }

    /// wrk's error classes (wrk 4.2, `wrk.c`): a refused connect shows up as a write error (wrk
    /// writes without reading SO_ERROR, then reconnects); a response slower than `--timeout` is
    /// a timeout but still a response. The kernel engine gave the same classes (refused: 180
    /// write errors in 10 ms there, a slower client than the model's).
    static let wrkErrors = """
        twlab: 1
        name: wrk-errors
        seed: 1
        duration: 3s
        network: { delay: 0.05ms }
        hosts:
          client: { address: 10.77.0.11 }
          server:
            address: 10.77.0.2
            listen:
              - { port: 80, accept: { delay: 1.5s } }
        workloads:
          - { name: refused, from: client, to: server:81, kind: wrk, connections: 2, duration: 10ms }
          - { name: slow, from: client, to: server:80, kind: wrk, connections: 2, requests: 2, timeout: 1s, start: 20ms }
        """

    @Test func wrkErrorClasses() throws {
        let r = try Self.run(Self.wrkErrors, "wrk-errors")
        let refused = try #require(r.workload("refused"))
        // Each reconnect takes one 0.1 ms round trip: 99 per connection in 10 ms.
        #expect(refused.outcomes == [Outcome("ECONNREFUSED", 198)])
        #expect(
            refused.socketErrors == [
                Outcome("connect", 0), Outcome("read", 0), Outcome("write", 198), Outcome("timeout", 0),
            ])
        let slow = try #require(r.workload("slow"))
        #expect(slow.outcomes == [Outcome("404", 2)])
        #expect(slow.socketErrors.first { $0.key == "timeout" }?.count == 2)
        #expect(slow.latency == nil)  // wrk keeps timed-out responses out of its latency stats
    }

    /// A wrk whose every connection dies at connect() (EADDRNOTAVAIL: the two ports are held)
    /// ends at once, as on the kernel engine, so a workload `after:` it still runs.
    @Test func wrkWithEveryConnectionDeadFinishes() throws {
        let r = try Self.run(
            """
            twlab: 1
            name: wrk-dead
            network: { delay: 0.05ms }
            hosts:
              client:
                address: 10.77.0.11
                sysctl: { net.ipv4.ip_local_port_range: "1024 1025" }
              server: { address: 10.77.0.2, listen: [ { port: 80 } ] }
            workloads:
              - { name: hold, from: client, to: server:80, kind: connect, count: 2, concurrency: 2, hold: 3s }
              - { name: load, from: client, to: server:80, kind: wrk, connections: 3, requests: 5, start: 1s }
              - { name: next, from: client, to: server:80, kind: curl, count: 1, after: load }
            """, "wrk-dead")
        let load = try #require(r.workload("load"))
        #expect(load.outcomes == [Outcome("EADDRNOTAVAIL", 3)])
        #expect(load.socketErrors.first { $0.key == "connect" }?.count == 3)
        #expect(r.workload("next")?.outcomes == [Outcome("EADDRNOTAVAIL", 1)])
    }
}
