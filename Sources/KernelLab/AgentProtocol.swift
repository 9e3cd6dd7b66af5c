import FoundationEssentials
import Results

/// The conversation between the kernel engine and its agents.
///
/// The engine starts one agent per scenario host, inside that host's network namespace
/// (`ip netns exec twlab-<run>-<host> twlab lab agent --host H SCENARIO [--set …]`). The agent
/// loads the same scenario, opens the host's listeners with real sockets, and then runs the
/// host's workloads when told to. Each message is one JSON object on one line: commands on the
/// agent's stdin, events on its stdout. Everything the agent measures (outcomes, sockets,
/// counters) is the real kernel's, read inside the namespace.
public enum AgentCommand: Codable, Sendable, Equatable {
    /// Start a workload of this host now.
    case start(workload: String)
    /// Report the namespace's sockets (sock_diag) as a snapshot with this id.
    case snapshot(id: Int)
    /// Report the namespace's counters (/proc/net/netstat, /proc/net/snmp) with this id.
    case counters(id: Int)
    /// Report one time-series sample (sockets, listener queues, ports held, counters).
    case sample(id: Int)
    /// Close everything and exit.
    case stop
}

/// What an agent reports.
public enum AgentEvent: Codable, Sendable, Equatable {
    /// The host's listeners are open; workloads may start.
    case ready(host: String)
    /// One attempt of a workload ended. `outcome` uses the result contract's keys: an HTTP
    /// status ("404"), "connected", or an errno name ("EADDRNOTAVAIL"); a successful one
    /// carries its local port and TS offset (nil without timestamps).
    case attempt(workload: String, outcome: String, latencyMs: Double?, localPort: Int?, tsOffset: UInt32?)
    /// One round of a `connect` workload ended with this many successful connects.
    case round(workload: String, successes: Int)
    /// A `wrk` workload's error classes (connect, read, write, timeout), sent when it ends.
    case socketErrors(workload: String, errors: [String: Int])
    /// A workload ran all its attempts.
    case finished(workload: String)
    /// The answer to `snapshot`: ss state name -> count, and listeners.
    case snapshot(id: Int, states: [String: Int], listeners: [AgentListener])
    /// The answer to `counters`: nstat name -> absolute value.
    case counters(id: Int, values: [String: Int64])
    /// The answer to `sample`.
    case sample(id: Int, sample: AgentSample)
    /// Something went wrong inside the agent; the engine stops the run with this message.
    case failure(message: String)
}

/// A listening socket as `ss -lnt` shows it: the result contract's own type.
public typealias AgentListener = ListenerSnapshot

/// One time-series sample of a namespace (issue 7): what the simulator samples too.
public struct AgentSample: Codable, Sendable, Equatable {
    /// ss state name -> count.
    public var states: [String: Int]
    /// Ports held per "SRC>DST:PORT" group: sockets whose local port is in the ephemeral range
    /// and not a listening port.
    public var ports: [String: Int]
    /// Each listener's Recv-Q, Send-Q (backlog) and SYN-RECV.
    public var listeners: [AgentListener]
    /// nstat name -> absolute value.
    public var counters: [String: Int64]

    public init(
        states: [String: Int], ports: [String: Int], listeners: [AgentListener],
        counters: [String: Int64]
    ) {
        self.states = states
        self.ports = ports
        self.listeners = listeners
        self.counters = counters
    }
}

/// Encodes and decodes protocol lines.
public enum AgentWire {
    public static func line(_ value: some Encodable) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try! e.encode(value), as: UTF8.self)
    }

    public static func command(_ line: String) -> AgentCommand? {
        try? JSONDecoder().decode(AgentCommand.self, from: Data(line.utf8))
    }

    public static func event(_ line: String) -> AgentEvent? {
        try? JSONDecoder().decode(AgentEvent.self, from: Data(line.utf8))
    }
}
