extension Inspection {
    /// Builds the report from `sample`, with rates and counter deltas over the interval since
    /// `previous` when it is given.
    ///
    /// - Outbound or inbound: a non-listening socket is outbound when its local port lies in the
    ///   ephemeral range and no LISTEN socket has that port: only then did connect() autobind
    ///   take it from the range (EP-3). Outbound sockets of every state are grouped by (local IP,
    ///   remote IP, remote port), the unit of exhaustion (EP-6). A TIME-WAIT that is not outbound
    ///   is counted in ``inboundTimeWait``: it uses no ephemeral port.
    /// - Usable ports: the range less reserved ports less listening ports, with the parity
    ///   rule of this kernel (``EphemeralPorts/usableCandidates(kernel:boundPorts:)``).
    /// - New connections per second: 4-tuples of a group in `sample` that `previous` did not
    ///   have, over the interval (a closed connection stays visible as TIME-WAIT for 60 s, so
    ///   intervals up to 60 s see every client-closed connection).
    /// - Listener rates: the queue counters are per namespace, so they go to a listener only
    ///   when it is the only one, or the only one seen saturated (accept queue full, or SYN
    ///   queue at its backlog) in either sample; otherwise they stay nil there and appear in
    ///   ``counterRates``.
    ///
    /// - Parameter top: keep at most this many destinations (nil: all).
    /// - Complexity: O(n) expected in the number of sockets, plus O(g log g) to sort g groups.
    public init(sample: HostSample, previous: HostSample? = nil, netns: String?, top: Int? = nil) {
        let release = sample.kernelRelease
        let version = KernelVersion(release: release)
        let ports =
            sample.sysctls["net.ipv4.ip_local_port_range"].flatMap {
                EphemeralPorts(range: $0, reserved: sample.sysctls["net.ipv4.ip_local_reserved_ports"])
            } ?? .linuxDefault

        let states = SocketSummary.stateCounts(sample.sockets)
        let outbound = OutboundSockets(ports: ports, sockets: sample.sockets)
        let usable = ports.usableCandidates(
            kernel: version, boundPorts: outbound.listening.filter(ports.contains))

        // The previous sample's outbound 4-tuples -> was it TIME-WAIT. A tuple seen before is new
        // again when its TIME-WAIT was taken over by a connect() (TWR-2): it is no longer TIME-WAIT.
        var before: [TupleKey: Bool]?
        if let previous {
            var tuples = [TupleKey: Bool](minimumCapacity: previous.sockets.count)
            for socket in previous.sockets where outbound.contains(socket) {
                tuples[TupleKey(socket)] = socket.state == TCPState.timeWait
            }
            before = tuples
        }

        // Outbound groups of this sample, with their new 4-tuples since the previous one.
        var groups: [GroupKey: GroupTally] = [:]
        var inboundTimeWait = 0
        var timeWait4 = 0
        var timeWait6 = 0
        var request4 = 0
        var request6 = 0
        for socket in sample.sockets {
            if socket.timer == 3 {
                if socket.family == 6 { timeWait6 += 1 } else { timeWait4 += 1 }
            }
            if socket.state == TCPState.synRecv {
                if socket.family == 6 { request6 += 1 } else { request4 += 1 }
                continue
            }
            guard outbound.contains(socket) else {
                if socket.state == TCPState.timeWait { inboundTimeWait += 1 }
                continue
            }
            var isNew = false
            if let before {
                let wasTimeWait = before[TupleKey(socket)]
                isNew = wasTimeWait == nil || (wasTimeWait == true && socket.state != TCPState.timeWait)
            }
            groups[GroupKey(socket), default: GroupTally()].add(socket, isNew: isNew)
        }
        let interval = previous.map { max(sample.time - $0.time, 0) } ?? 0
        let hasRates = previous != nil && interval > 0

        var destinations: [Destination] = []
        destinations.reserveCapacity(groups.count)
        for (key, tally) in groups {
            let rate = hasRates ? Double(tally.new) / interval : nil
            destinations.append(
                Destination(
                    source: key.source, destination: key.destination, port: key.port,
                    established: tally.established, timeWait: tally.timeWait, held: tally.held,
                    usablePorts: usable,
                    pressure: usable > 0 ? Double(tally.held) / Double(usable) : 1,
                    newPerSecond: rate,
                    exhaustionSeconds: rate.flatMap {
                        PortPressure.secondsToExhaustion(
                            usable: usable, held: tally.held, rate: $0,
                            timeWaitRemaining: tally.timeWaitRemaining)
                    },
                    timeWaitAges: tally.ages, withTimestamps: tally.withTimestamps,
                    withoutTimestamps: tally.withoutTimestamps))
        }
        destinations.sort(by: Inspection.isRiskier)
        let total = destinations.count
        if let top, top >= 0, destinations.count > top { destinations.removeLast(destinations.count - top) }

        // Counters: deltas and rates with two samples, totals with one.
        var counters: [String: Int64] = [:]
        var rates: [String: Double]?
        if let previous, hasRates {
            var perSecond: [String: Double] = [:]
            for name in Inspection.counterNames {
                guard let now = sample.counters[name], let then = previous.counters[name] else { continue }
                counters[name] = now &- then
                perSecond[name] = Double(now &- then) / interval
            }
            rates = perSecond
        } else {
            for name in Inspection.counterNames {
                if let value = sample.counters[name] { counters[name] = value }
            }
        }

        let slab = sample.slab
        self.init(
            netns: netns, kernel: version?.description ?? "", kernelRelease: release,
            intervalSeconds: hasRates ? interval : 0, socketSource: sample.source, states: states,
            ports: ports, usablePorts: usable, destinations: destinations, destinationsTotal: total,
            inboundTimeWait: inboundTimeWait,
            listeners: Inspection.listeners(sample: sample, previous: previous, rates: rates),
            counters: counters, counterRates: rates,
            memory: Memory(
                timeWaitSockets: timeWait4 + timeWait6, requestSockets: request4 + request6,
                timeWaitBytes: timeWait4 * slab.timeWait4 + timeWait6 * slab.timeWait6,
                requestBytes: request4 * slab.request4 + request6 * slab.request6, objectSizes: slab),
            sockstat: sample.sockstat, sysctls: sample.sysctls)
    }

    /// Risk order: higher pressure first (design.md), then sooner exhaustion, then more ports
    /// held, then the key's bytes, so that equal groups always come out in the same order.
    static func isRiskier(_ a: Destination, _ b: Destination) -> Bool {
        if a.pressure != b.pressure { return a.pressure > b.pressure }
        let ea = a.exhaustionSeconds ?? .infinity
        let eb = b.exhaustionSeconds ?? .infinity
        if ea != eb { return ea < eb }
        if a.held != b.held { return a.held > b.held }
        if a.source != b.source {
            return Array(a.source.utf8).lexicographicallyPrecedes(Array(b.source.utf8))
        }
        if a.destination != b.destination {
            return Array(a.destination.utf8).lexicographicallyPrecedes(Array(b.destination.utf8))
        }
        return a.port < b.port
    }

    /// LISTEN sockets with their SYN-RECV counts and, where attributable, the queue rates.
    static func listeners(sample: HostSample, previous: HostSample?, rates: [String: Double]?) -> [Listener] {
        var listeners = queues(sample.sockets, backlogKnown: sample.source == .netlink)
        guard let rates else { return listeners }
        var saturated = Set<ListenerKey>()
        for listener in listeners where listener.isSaturated { saturated.insert(ListenerKey(listener)) }
        for listener in queues(previous?.sockets ?? [], backlogKnown: previous?.source == .netlink)
        where listener.isSaturated {
            saturated.insert(ListenerKey(listener))
        }
        let current = Set(listeners.map(ListenerKey.init))
        saturated.formIntersection(current)
        let owner: ListenerKey? =
            listeners.count == 1 ? ListenerKey(listeners[0]) : saturated.count == 1 ? saturated.first : nil
        guard let owner else { return listeners }
        for index in listeners.indices where ListenerKey(listeners[index]) == owner {
            listeners[index].rates = QueueRates(
                overflows: rates["TcpExtListenOverflows"] ?? 0, drops: rates["TcpExtListenDrops"] ?? 0,
                reqQFullDrops: rates["TcpExtTCPReqQFullDrop"] ?? 0,
                reqQFullCookies: rates["TcpExtTCPReqQFullDoCookies"] ?? 0,
                syncookiesSent: rates["TcpExtSyncookiesSent"] ?? 0)
        }
        return listeners
    }

    /// LISTEN sockets sorted by (port, address), each with the request sockets on its port: the
    /// one bound to the request's local address, else the wildcard of the request's family,
    /// else any listener of the port. `backlogKnown`: the sockets came from netlink (`/proc`
    /// shows no backlog, so a listener's Send-Q and fullness are unknown there).
    static func queues(_ sockets: [DiagSocket], backlogKnown: Bool) -> [Listener] {
        var listeners: [Listener] = []
        for socket in sockets where socket.state == TCPState.listen {
            listeners.append(
                Listener(
                    address: socket.localAddress, port: socket.localPort, recvQ: socket.recvQ,
                    sendQ: backlogKnown ? socket.sendQ : nil, synRecv: 0,
                    acceptQueueFull: backlogKnown && socket.recvQ > socket.sendQ, rates: nil)
            )
        }
        listeners.sort {
            if $0.port != $1.port { return $0.port < $1.port }
            return Array($0.address.utf8).lexicographicallyPrecedes(Array($1.address.utf8))
        }
        var byPort: [Int: [Int]] = [:]
        for (index, listener) in listeners.enumerated() { byPort[listener.port, default: []].append(index) }
        for socket in sockets where socket.state == TCPState.synRecv {
            guard let candidates = byPort[socket.localPort] else { continue }
            let wildcard = socket.family == 6 ? "::" : "0.0.0.0"
            let chosen =
                candidates.first { listeners[$0].address == socket.localAddress }
                ?? candidates.first { listeners[$0].address == wildcard } ?? candidates[0]
            listeners[chosen].synRecv += 1
        }
        return listeners
    }
}

extension Inspection.Listener {
    /// Accept queue full (LQ-2), or as many requests as the backlog allows in the SYN queue
    /// (LQ-4: the SYN-queue limit is the backlog since 4.4).
    var isSaturated: Bool { acceptQueueFull || (sendQ.map { synRecv > 0 && synRecv >= $0 } ?? false) }
}

/// A listener's identity across two samples.
private struct ListenerKey: Hashable {
    var address: String
    var port: Int
    init(_ listener: Inspection.Listener) {
        address = listener.address
        port = listener.port
    }
}

/// (local IP, remote IP, remote port): one group of outbound sockets. An IPv4-mapped IPv6
/// socket (`::ffff:a.b.c.d`) connects through tcp_v4_connect and shares the IPv4 tables, so it
/// joins its IPv4 group (EP-6).
private struct GroupKey: Hashable {
    var source: String
    var destination: String
    var port: Int

    init(_ socket: DiagSocket) {
        source = unmappedIPv4(socket.localAddress)
        destination = unmappedIPv4(socket.remoteAddress)
        port = socket.remotePort
    }
}

/// `::ffff:a.b.c.d` -> `a.b.c.d`; other addresses unchanged.
public func unmappedIPv4(_ address: String) -> String {
    address.hasPrefix("::ffff:") && address.contains(".") ? String(address.dropFirst(7)) : address
}

/// A socket's full 4-tuple, to tell new connections from old ones.
private struct TupleKey: Hashable {
    var source: String
    var sourcePort: Int
    var destination: String
    var port: Int

    init(_ socket: DiagSocket) {
        source = socket.localAddress
        sourcePort = socket.localPort
        destination = socket.remoteAddress
        port = socket.remotePort
    }
}

/// What one outbound group holds.
private struct GroupTally {
    var established = 0
    var timeWait = 0
    var held = 0
    var new = 0
    var withTimestamps = 0
    var withoutTimestamps = 0
    var timeWaitRemaining: [Double] = []
    var ages = Inspection.TimeWaitAges()

    mutating func add(_ socket: DiagSocket, isNew: Bool) {
        held += 1
        if isNew { new += 1 }
        switch socket.timestamps {
        case true?: withTimestamps += 1
        case false?: withoutTimestamps += 1
        case nil: break
        }
        if socket.state == TCPState.established { established += 1 }
        if socket.state == TCPState.timeWait {
            timeWait += 1
            timeWaitRemaining.append(Double(socket.expiresMs) / 1000)
            ages.add(remainingMs: socket.expiresMs)
        }
    }
}
