import Testing

@testable import Scenario

/// Every class of mistake gives one exact line naming file:line:column.
@Suite struct ErrorTests {
    static let cases: [(String, String, String)] = [
        // (what, YAML, the error line)
        (
            "unknown key", base(line: 17, "    cout: 20"),
            "t.yaml:17:5: unknown key 'cout' in workload 'burst' (expected one of: name, from, to, kind, start, after, count, interval, http, header, close, timeout, startup, reuse_connection)"
        ),
        (
            "key of another kind", base(line: 17, "    concurrency: 2"),
            "t.yaml:17:5: key 'concurrency' is not allowed for kind curl in workload 'burst' (curl takes: count, interval, http, header, close, timeout, startup, reuse_connection)"
        ),
        (
            "unknown top-level key", base(line: 18, "obsrve: []"),
            "t.yaml:18:1: unknown key 'obsrve' in the scenario (expected one of: twlab, name, description, kernel, seed, duration, network, hosts, workloads, observe, sample_every, expect)"
        ),
        (
            "sysctl out of range", base(line: 7, "      net.ipv4.tcp_tw_reuse: 3"),
            "t.yaml:7:30: net.ipv4.tcp_tw_reuse: 3 is outside 0...2"
        ),
        (
            "sysctl not an integer", base(line: 7, "      net.ipv4.tcp_tw_reuse: yes"),
            "t.yaml:7:30: net.ipv4.tcp_tw_reuse: 'yes' is not an integer"
        ),
        (
            "sysctl bad syntax", base(line: 7, "      net.ipv4.ip_local_port_range: 1024"),
            "t.yaml:7:37: net.ipv4.ip_local_port_range: '1024' is not 'LOW HIGH' (e.g. \"32768 60999\")"
        ),
        (
            "unknown sysctl", base(line: 7, "      net.ipv4.tcp_tw_recycel: 1"),
            "t.yaml:7:7: host 'client': unknown sysctl 'net.ipv4.tcp_tw_recycel'"
        ),
        (
            "sysctl removed in the profile", base(line: 7, "      net.ipv4.tcp_tw_recycle: 1"),
            "t.yaml:7:7: host 'client': net.ipv4.tcp_tw_recycle does not exist on kernel 6.18: it was removed in 4.12"
        ),
        (
            "sysctl not yet added in the profile",
            base(line: 7, "      net.ipv4.tcp_tw_reuse_delay: 300").replacingLine(
                2, with: "name: t\nkernel: \"6.12\""),
            "t.yaml:8:7: host 'client': net.ipv4.tcp_tw_reuse_delay does not exist on kernel 6.12: it was added in 6.14"
        ),
        (
            "sysctl value not yet valid in the profile",
            base(line: 7, "      net.ipv4.tcp_tw_reuse: 2").replacingLine(
                2, with: "name: t\nkernel: \"4.9\""),
            "t.yaml:8:30: net.ipv4.tcp_tw_reuse=2 is not valid on kernel 4.9: the value exists since 4.18"
        ),
        (
            "sysctl without value", base(line: 7, "      net.ipv4.tcp_tw_reuse:"),
            "t.yaml:7:29: net.ipv4.tcp_tw_reuse: expected a value, got nothing"
        ),
        (
            "after an unknown workload",
            base(
                line: 18,
                "  - name: again\n    after: burts\n    from: client\n    to: server:80\n    kind: curl\n    count: 1"
            ),
            "t.yaml:19:12: workload 'again' starts after unknown workload 'burts'"
        ),
        (
            "after itself", base(line: 17, "    count: 1\n    after: burst"),
            "t.yaml:18:12: workload 'burst' cannot start after itself"
        ),
        (
            "after cycle",
            base(
                line: 17,
                "    count: 1\n    after: again\n  - name: again\n    after: burst\n    from: client\n    to: server:80\n    kind: curl\n    count: 1"
            ),
            "t.yaml:18:12: workloads 'burst' -> 'again' -> 'burst' wait for each other ('after' forms a cycle)"
        ),
        (
            "start and after", base(line: 17, "    count: 1\n    start: 1s\n    after: x"),
            "t.yaml:19:5: workload 'burst': give either start or after, not both"
        ),
        (
            "YAML syntax", base(line: 17, "    count: [20"),
            "t.yaml:18:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 17)"
        ),
        (
            "tab indentation", base(line: 17, "\tcount: 20"),
            "t.yaml:17:1: YAML syntax error: found a tab character that violates indentation (while scanning a plain scalar at line 16)"
        ),
        (
            "duplicate key", base(line: 18, "name: u"),
            "t.yaml:2:1: key 'name' appears more than once in the same map"
        ),
        (
            "schema version", base(line: 1, "twlab: 2"),
            "t.yaml:1:8: twlab: this version of twlab reads schema version 1, not 2"
        ),
        (
            "schema version missing", base(line: 1, "# no version"),
            "t.yaml:2:1: the scenario is missing required key 'twlab' (the schema version: twlab: 1)"
        ),
        (
            "schema version misspelt", base(line: 1, "twlb: 1"),
            "t.yaml:1:1: unknown key 'twlb' in the scenario (expected one of: twlab, name, description, kernel, seed, duration, network, hosts, workloads, observe, sample_every, expect)"
        ),
        (
            "name missing", base(line: 2, "# no name"),
            "t.yaml:1:1: the scenario is missing required key 'name'"
        ),
        (
            "bad scenario name", base(line: 2, "name: My Test"),
            "t.yaml:2:7: name: 'My Test' may only contain a-z, 0-9, '.', '_' and '-'"
        ),
        (
            "unknown kernel", base(line: 18, "kernel: 5.11"),
            "t.yaml:18:9: kernel: no kernel profile '5.11' (available: 2.6.32, 3.10, 4.4, 4.9, 4.19, 5.4, 5.10, 5.15, 6.1, 6.6, 6.12, 6.18)"
        ),
        (
            "seed negative", base(line: 18, "seed: -1"),
            "t.yaml:18:7: seed: expected an integer in 0...18446744073709551615, got '-1'"
        ),
        (
            "duration garbage", base(line: 18, "duration: soon"),
            "t.yaml:18:11: duration: 'soon' is not a duration (e.g. 1.5s, 250ms, 100us, 2m, 1h, 3d)"
        ),
        (
            "duration negative", base(line: 18, "duration: -5s"),
            "t.yaml:18:11: duration: '-5s' is negative; durations start at 0"
        ),
        (
            "duration without unit", base(line: 17, "    count: 20\n    interval: 5"),
            "t.yaml:18:15: workload 'burst': interval: '5' needs a unit (e.g. 1.5s, 250ms, 100us, 2m, 1h, 3d)"
        ),
        (
            "loss out of range", base(line: 18, "network: { loss: 1 }"),
            "t.yaml:18:18: network: loss: 1 is outside [0, 1)"
        ),
        (
            "network not a map", base(line: 18, "network: fast"),
            "t.yaml:18:10: network: expected a map like {delay: 0.1ms, loss: 0}, got 'fast'"
        ),
        (
            "count zero", base(line: 17, "    count: 0"),
            "t.yaml:17:12: workload 'burst': count: expected an integer >= 1, got 0"
        ),
        (
            "count a list", base(line: 17, "    count: [1, 2]"),
            "t.yaml:17:12: workload 'burst': count: expected an integer >= 1, got a list"
        ),
        (
            "count missing", base(line: 17, "    interval: 1s"),
            "t.yaml:13:5: workload 'burst' is missing required key 'count'"
        ),
        (
            "count as text", base(line: 17, "    count: twenty"),
            "t.yaml:17:12: workload 'burst': count: expected an integer >= 1, got 'twenty'"
        ),
        (
            "http version", base(line: 17, "    count: 1\n    http: 2"),
            "t.yaml:18:11: workload 'burst': http: expected \"1.0\" or \"1.1\", got '2'"
        ),
        (
            "close mode", base(line: 17, "    count: 1\n    close: rst"),
            "t.yaml:18:12: workload 'burst': close: expected fin or linger0, got 'rst'"
        ),
        (
            "bool", base(line: 17, "    count: 1\n    reuse_connection: yes"),
            "t.yaml:18:23: workload 'burst': reuse_connection: expected true or false, got 'yes'"
        ),
        (
            "wrk with a curl key", base(line: 16, "    kind: wrk"),
            "t.yaml:17:5: key 'count' is not allowed for kind wrk in workload 'burst' (wrk takes: connections, duration, requests, http, header, close, timeout, spacing)"
        ),
        (
            "wrk without duration or requests", base(line: 17, "    kind: wrk\n    connections: 4", drop: 16),
            "t.yaml:13:5: workload 'burst': a wrk workload needs duration (e.g. 10s) or requests"
        ),
        (
            "wrk without connections", base(line: 17, "    kind: wrk\n    requests: 4", drop: 16),
            "t.yaml:13:5: workload 'burst' is missing required key 'connections'"
        ),
        (
            "wrk with no connections",
            base(line: 17, "    kind: wrk\n    connections: 0\n    requests: 4", drop: 16),
            "t.yaml:17:18: workload 'burst': connections: 0 is outside 1...100000"
        ),
        (
            "synflood with count and duration", base(line: 16, "    kind: synflood\n    duration: 1s"),
            "t.yaml:17:5: workload 'burst': give either count or duration, not both"
        ),
        (
            "synflood with a curl key", base(line: 16, "    kind: synflood\n    interval: 1s"),
            "t.yaml:17:5: key 'interval' is not allowed for kind synflood in workload 'burst' (synflood takes: count, rate, duration)"
        ),
        (
            "kind unknown", base(line: 16, "    kind: ab"),
            "t.yaml:16:11: workload 'burst': kind: unknown kind 'ab' (expected curl, wrk, rate, connect or synflood)"
        ),
        (
            "kind missing", base(line: 16, "    # no kind"),
            "t.yaml:13:5: workload 'burst' is missing required key 'kind' (curl, wrk, rate, connect or synflood)"
        ),
        (
            "workload name missing", base(line: 13, "  - nam: burst"),
            "t.yaml:13:5: workload 1 is missing required key 'name'"
        ),
        (
            "workload called end", base(line: 13, "  - name: end"),
            "t.yaml:13:11: workload name 'end' is reserved (observe: at: end)"
        ),
        (
            "workload name twice",
            base(
                line: 18, "  - name: burst\n    from: client\n    to: server:80\n    kind: curl\n    count: 1"
            ),
            "t.yaml:18:11: another workload is already called 'burst'"
        ),
        (
            "from unknown host", base(line: 14, "    from: clint"),
            "t.yaml:14:11: workload 'burst': from: unknown host 'clint' (hosts: client, server)"
        ),
        (
            "to unknown host", base(line: 15, "    to: sever:80"),
            "t.yaml:15:9: workload 'burst': to: unknown host 'sever' (hosts: client, server)"
        ),
        (
            "to foreign address", base(line: 15, "    to: 10.9.9.9:80"),
            "t.yaml:15:9: workload 'burst': to: no host in the scenario has address 10.9.9.9"
        ),
        (
            "to without port", base(line: 15, "    to: server"),
            "t.yaml:15:9: workload 'burst': to: 'server' is not HOST:PORT (e.g. server:80)"
        ),
        (
            "to port zero", base(line: 15, "    to: server:0"),
            "t.yaml:15:9: workload 'burst': to: '0' is not a port in 1...65535"
        ),
        (
            "workloads a map",
            base(line: 13, "  burst: {}").replacingLine(14, with: "").replacingLine(15, with: "")
                .replacingLine(16, with: "").replacingLine(17, with: ""),
            "t.yaml:13:3: workloads: expected a list of workloads (- name: ...), got a map"
        ),
        (
            "workload a list",
            base(line: 13, "  - [burst]").replacingLine(14, with: "").replacingLine(15, with: "")
                .replacingLine(16, with: "").replacingLine(17, with: ""),
            "t.yaml:13:5: workload 1: expected a map (name, from, to, kind, ...), got a list"
        ),
        (
            "nat inside an unknown host",
            base(line: 12, "  gw: { address: 10.0.0.9, nat: { inside: [clinet] } }\nworkloads:"),
            "t.yaml:12:44: host 'gw': nat: inside: unknown host 'clinet' (hosts: client, server, gw)"
        ),
        (
            "nat inside itself",
            base(line: 12, "  gw: { address: 10.0.0.9, nat: { inside: [gw] } }\nworkloads:"),
            "t.yaml:12:44: host 'gw': nat: inside: a gateway cannot be inside itself"
        ),
        (
            "nat bad ports",
            base(
                line: 12, "  gw: { address: 10.0.0.9, nat: { inside: [client], ports: 20000-1 } }\nworkloads:"
            ),
            "t.yaml:12:60: host 'gw': nat: ports: '20000-1' is not a port or a range like \"20000-20010\""
        ),
        (
            "nat unknown mode",
            base(line: 12, "  gw: { address: 10.0.0.9, nat: { inside: [client], mode: snat } }\nworkloads:"),
            "t.yaml:12:59: host 'gw': nat: mode: 'snat' is not supported (masquerade)"
        ),
        (
            "workload from a gateway",
            base(line: 12, "  gw: { address: 10.0.0.9, nat: { inside: [client] } }\nworkloads:")
                .replacingLine(15, with: "    from: gw"),
            "t.yaml:15:11: workload 'burst': from: 'gw' is a NAT gateway; workloads run on the hosts behind it"
        ),
        (
            "workload to a gateway",
            base(line: 12, "  gw: { address: 10.0.0.9, nat: { inside: [client] } }\nworkloads:")
                .replacingLine(16, with: "    to: gw:80"),
            "t.yaml:16:9: workload 'burst': to: 'client' cannot connect to 'gw': 'gw' is a NAT gateway, which forwards and serves nothing"
        ),
        (
            "workload between two hosts behind one gateway",
            base(line: 12, "  gw: { address: 10.0.0.9, nat: { inside: [client, server] } }\nworkloads:"),
            "t.yaml:16:9: workload 'burst': to: 'client' cannot connect to 'server': both are behind gateway 'gw', and NAT applies only between inside and outside"
        ),
        (
            "workload from outside to an inside host",
            base(line: 12, "  gw: { address: 10.0.0.9, nat: { inside: [server] } }\nworkloads:"),
            "t.yaml:16:9: workload 'burst': to: 'client' cannot connect to 'server': 'server' is behind gateway 'gw' and hosts outside it have no route there"
        ),
        (
            "workload from behind one gateway to behind another",
            base(
                line: 12,
                "  ga: { address: 10.0.0.8, nat: { inside: [client] } }\n  gb: { address: 10.0.0.9, nat: { inside: [server] } }\nworkloads:"
            ),
            "t.yaml:17:9: workload 'burst': to: 'client' cannot connect to 'server': 'server' is behind gateway 'gb' and 'client' behind 'ga'; no route leads to a host behind another gateway"
        ),
        (
            "nat inside a host twice",
            base(line: 12, "  gw: { address: 10.0.0.9, nat: { inside: [client, client] } }\nworkloads:"),
            "t.yaml:12:52: host 'gw': nat: inside: 'client' is listed twice"
        ),
        (
            "nat inside another gateway",
            base(
                line: 12,
                "  ga: { address: 10.0.0.8, nat: { inside: [gb] } }\n  gb: { address: 10.0.0.9, nat: { inside: [client] } }\nworkloads:"
            ),
            "t.yaml:12:44: host 'ga': nat: inside: 'gb' is itself a NAT gateway"
        ),
        (
            "nat inside a host already behind another gateway",
            base(
                line: 12,
                "  ga: { address: 10.0.0.8, nat: { inside: [client] } }\n  gb: { address: 10.0.0.9, nat: { inside: [client] } }\nworkloads:"
            ),
            "t.yaml:13:44: host 'gb': nat: inside: 'client' is already behind gateway 'ga'"
        ),
        (
            "nat inside empty",
            base(line: 12, "  gw: { address: 10.0.0.9, nat: { inside: [] } }\nworkloads:"),
            "t.yaml:12:43: host 'gw': nat: inside: at least one host is needed"
        ),
        (
            "listener on a gateway",
            base(
                line: 12,
                "  gw: { address: 10.0.0.9, listen: [{port: 80}], nat: { inside: [client] } }\nworkloads:"),
            "t.yaml:12:28: host 'gw' is a NAT gateway: it runs no listeners"
        ),
        (
            "conntrack sysctl on a host that is no gateway",
            base(line: 7, "      net.netfilter.nf_conntrack_tcp_timeout_time_wait: 1"),
            "t.yaml:7:7: host 'client': net.netfilter.nf_conntrack_tcp_timeout_time_wait belongs to conntrack, which runs only on a NAT gateway (a host with nat:)"
        ),
        (
            "address twice", base(line: 9, "    address: 10.0.0.1"),
            "t.yaml:9:14: host 'server': address 10.0.0.1 is already used by host 'client'"
        ),
        (
            "address and addresses", base(line: 9, "    address: 10.0.0.2\n    addresses: [10.0.0.4]"),
            "t.yaml:10:5: host 'server': give either address or addresses, not both"
        ),
        (
            "no address", base(line: 9, "    uptime: 1h"),
            "t.yaml:9:5: host 'server' is missing required key 'address' (or 'addresses', a list)"
        ),
        (
            "bad address", base(line: 9, "    address: 10.0.0.256"),
            "t.yaml:9:14: host 'server': address: '10.0.0.256' is not an IPv4 address like 10.0.0.1"
        ),
        (
            "empty addresses", base(line: 9, "    addresses: []"),
            "t.yaml:9:16: host 'server': addresses: at least one address is needed"
        ),
        (
            "bad host name", base(line: 8, "  2server:"),
            "t.yaml:8:3: host name '2server' must start with a letter and hold only letters, digits, '_' and '-'"
        ),
        (
            "hosts a list",
            base(line: 3, "hosts: [client, server]").replacingLine(4, with: "").replacingLine(5, with: "")
                .replacingLine(6, with: "").replacingLine(7, with: "").replacingLine(8, with: "")
                .replacingLine(9, with: "").replacingLine(10, with: "").replacingLine(11, with: ""),
            "t.yaml:3:8: hosts: expected a map of host names to hosts, got a list"
        ),
        (
            "listener port twice", base(line: 11, "      - port: 80\n      - port: 80"),
            "t.yaml:12:9: host 'server' listens on port 80 twice"
        ),
        (
            "listener port range", base(line: 11, "      - port: 70000"),
            "t.yaml:11:15: host 'server': listen: port: 70000 is outside 1...65535"
        ),
        (
            "listener unknown key", base(line: 11, "      - port: 80\n        backlg: 5"),
            "t.yaml:12:9: unknown key 'backlg' in listener 80 of host 'server' (expected one of: port, backlog, http, accept)"
        ),
        (
            "http status", base(line: 11, "      - port: 80\n        http: { status: 99 }"),
            "t.yaml:12:25: listener 80 of host 'server': http: status: 99 is outside 100...599"
        ),
        (
            "accept two ways", base(line: 11, "      - port: 80\n        accept: { never: true, delay: 1s }"),
            "t.yaml:12:17: listener 80 of host 'server': accept: give exactly one of delay, never or rate"
        ),
        (
            "accept rate", base(line: 11, "      - port: 80\n        accept: { rate: 100 }"),
            "t.yaml:12:25: listener 80 of host 'server': accept: rate: '100' needs a unit: write 100/s"
        ),
        (
            "bind to a foreign address",
            base(line: 16, "    kind: connect").replacingLine(
                17, with: "    count: 1\n    bind: { address: 10.0.0.2 }"),
            "t.yaml:18:22: workload 'burst': bind: address: 10.0.0.2 is not an address of host 'client' (10.0.0.1, or 0.0.0.0)"
        ),
        (
            "rate without duration",
            base(line: 16, "    kind: rate").replacingLine(17, with: "    rate: 10/s"),
            "t.yaml:13:5: workload 'burst' is missing required key 'duration'"
        ),
        (
            "observe unknown workload", base(line: 18, "observe: [{after: brst}]"),
            "t.yaml:18:19: observe item 1: after: unknown workload 'brst'"
        ),
        (
            "observe twice", base(line: 18, "observe: [{at: 65s}, {at: 65000ms}]"),
            "t.yaml:18:22: observe item 2: the snapshot '65s' is already observed"
        ),
        (
            "observe scalar", base(line: 18, "observe: [end]"),
            "t.yaml:18:11: observe item 1: expected {at: end}, {at: 65s} or {after: WORKLOAD}, got 'end'"
        ),
        (
            "expect unknown workload", base(line: 18, "expect:\n  workloads.burts.outcomes.404: 1"),
            "t.yaml:19:3: expect: 'workloads.burts.outcomes.404': no workload is called 'burts' (workloads: burst)"
        ),
        (
            "expect bad state", base(line: 18, "expect:\n  snapshots.end.hosts.client.states.TIME_WAIT: 1"),
            "t.yaml:19:3: expect: 'snapshots.end.hosts.client.states.TIME_WAIT': 'TIME_WAIT' is not an ss state (ESTAB, SYN-SENT, SYN-RECV, FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSE-WAIT, LAST-ACK, CLOSING, LISTEN)"
        ),
        (
            "expect unknown snapshot",
            base(line: 18, "expect:\n  snapshots.65s.hosts.client.states.ESTAB: 1"),
            "t.yaml:19:3: expect: 'snapshots.65s.hosts.client.states.ESTAB': no snapshot '65s' (observe gives: end)"
        ),
        (
            "expect a model gap inside the kernel's values",
            base(line: 18, "expect:\n  counters.client.TcpExtTW: {min: 16, max: 17, model: 17}"),
            "t.yaml:19:55: expect: counters.client.TcpExtTW: model 17 is among the kernel's values 16…17: a model gap lies outside them"
        ),
        (
            "expect a model gap on a single value",
            base(line: 18, "expect:\n  counters.client.TcpExtTW: {model: 17}"),
            "t.yaml:19:29: expect: counters.client.TcpExtTW is missing required key 'min'"
        ),
        (
            "expect unknown host", base(line: 18, "expect:\n  counters.clint.TcpExtTW: 1"),
            "t.yaml:19:3: expect: 'counters.clint.TcpExtTW': no host is called 'clint' (hosts: client, server)"
        ),
        (
            "expect no such listener",
            base(line: 18, "expect:\n  snapshots.end.hosts.server.listeners.81.recv_q: 1"),
            "t.yaml:19:3: expect: 'snapshots.end.hosts.server.listeners.81.recv_q': host 'server' has no listener on '81' (listeners: 80)"
        ),
        (
            "expect unknown listener column",
            base(line: 18, "expect:\n  snapshots.end.hosts.server.listeners.80.backlog: 1"),
            "t.yaml:19:3: expect: 'snapshots.end.hosts.server.listeners.80.backlog': expected recv_q, send_q or syn_recv after the port"
        ),
        (
            "expect rounds of curl", base(line: 18, "expect:\n  workloads.burst.rounds.11: 1"),
            "t.yaml:19:3: expect: 'workloads.burst.rounds.11': rounds exist only for connect workloads"
        ),
        (
            "expect bad outcome", base(line: 18, "expect:\n  workloads.burst.outcomes.ok: 1"),
            "t.yaml:19:3: expect: 'workloads.burst.outcomes.ok': outcome 'ok' is not an HTTP status (404), an errno name (EADDRNOTAVAIL), connected, sent or pending"
        ),
        (
            "expect local_ports as number", base(line: 18, "expect:\n  workloads.burst.local_ports: 5"),
            "t.yaml:19:3: expect: 'workloads.burst.local_ports': local_ports is a list: write {equals: [...]}, or use local_ports.count"
        ),
        (
            "expect equals on a count", base(line: 18, "expect:\n  workloads.burst.attempts: {equals: [1]}"),
            "t.yaml:19:3: expect: 'workloads.burst.attempts': {equals: [...]} only fits workloads.W.local_ports, a list"
        ),
        (
            "expect ts_offsets as a list",
            base(line: 18, "expect:\n  workloads.burst.ts_offsets: {equals: [1]}"),
            "t.yaml:19:3: expect: 'workloads.burst.ts_offsets': {equals: [...]} only fits workloads.W.local_ports, a list"
        ),
        (
            "expect ts_offsets with a key", base(line: 18, "expect:\n  workloads.burst.ts_offsets.count: 1"),
            "t.yaml:19:3: expect: 'workloads.burst.ts_offsets.count': expected workloads.W.attempts, .outcomes.KEY, .local_ports, .local_ports.count, .ts_offsets, .rounds.N or .socket_errors.CLASS"
        ),
        (
            "expect min above max", base(line: 18, "expect:\n  workloads.burst.attempts: {min: 5, max: 4}"),
            "t.yaml:19:43: expect: workloads.burst.attempts: min 5 is above max 4"
        ),
        (
            "expect bad matcher", base(line: 18, "expect:\n  workloads.burst.attempts: lots"),
            "t.yaml:19:29: expect: workloads.burst.attempts: expected an integer, got 'lots'"
        ),
        (
            "expect bad head", base(line: 18, "expect:\n  outcomes.404: 1"),
            "t.yaml:19:3: expect: 'outcomes.404': a path starts with workloads., snapshots. or counters."
        ),
        (
            "two documents", baseYAML + "---\nname: u\n",
            "t.yaml:18:1: YAML: a scenario is one YAML document, but a second one starts here"
        ),
        (
            "nested too deep", String(repeating: "[", count: 2000),
            "t.yaml:1:1: YAML: nested more than 1000 levels deep"
        ),
        (
            "undefined alias", base(line: 17, "    count: *n"),
            "t.yaml:17:12: YAML syntax error: found undefined alias"
        ),
        (
            "a list for a scenario", "- twlab: 1\n- name: t\n",
            "t.yaml:1:1: a scenario is a map of keys (twlab, name, hosts, workloads, ...), not a list"
        ),
        (
            "a scalar for a scenario", "hello\n",
            "t.yaml:1:1: a scenario is a map of keys (twlab, name, hosts, workloads, ...), not 'hello'"
        ),
        (
            "empty file", "",
            "t.yaml: the scenario is empty (it needs at least: twlab, name, hosts, workloads)"
        ),
        (
            "only comments", "# nothing\n",
            "t.yaml: the scenario is empty (it needs at least: twlab, name, hosts, workloads)"
        ),
        (
            "hosts empty",
            base(line: 3, "hosts: {}").replacingLine(4, with: "").replacingLine(5, with: "").replacingLine(
                6, with: ""
            ).replacingLine(7, with: "").replacingLine(8, with: "").replacingLine(9, with: "").replacingLine(
                10, with: ""
            ).replacingLine(11, with: ""),
            "t.yaml:3:8: hosts: at least one host is needed"
        ),
    ]

    @Test(arguments: cases.indices)
    func error(_ i: Int) {
        let (what, yaml, expected) = Self.cases[i]
        #expect(parseError(yaml) == expected, "\(what)")
    }
}
