/// Socket calls made by applications.
extension HostStack {
    /// listen() on (address, port): bind conflict per EP-10, backlog clamped to somaxconn (LQ-1).
    public mutating func listen(
        address: IPv4Address? = nil, port: UInt16, backlog: Int, reuseAddress: Bool = true,
        app: UInt32
    ) -> Result<Int32, Errno> {
        let addr = address ?? IPv4Address(0)
        if ports.bindConflict(port: port, address: addr, reuseAddress: reuseAddress) {
            return .failure(.EADDRINUSE)
        }
        let id = nextBindOwnerID
        nextBindOwnerID += 1
        ports.addOwner(
            port, kind: .bind,
            bindOwner: .init(address: addr, reuseAddress: reuseAddress, isListener: true, id: id))
        // __sys_listen_socket(): unsigned compare, so a negative backlog becomes somaxconn.
        let clamped = backlog < 0 ? sysctls.somaxconn : min(backlog, sysctls.somaxconn)
        listeners.append(
            Listener(
                address: addr, port: port, backlog: clamped, app: app, reuseAddress: reuseAddress,
                bindOwnerID: id))
        let l = Int32(listeners.count - 1)
        listenerByPort[Int(port)] = l
        return .success(l)
    }

    /// connect(): picks the local port (EP-3 autobind, EP-7 bind(0), EP-8 explicit), checks the
    /// 4-tuple (EP-5, with TIME_WAIT takeover TWR-2), sends the SYN and arms its timer.
    /// EADDRNOTAVAIL and EADDRINUSE come back at once, with no packet sent (EP-9).
    public mutating func connect(
        to remote: IPv4Address, port remotePort: UInt16, bind: BindRequest? = nil, app: UInt32,
        now: Nanos, out: inout Effects
    ) -> Result<SocketHandle, Errno> {
        let source: IPv4Address
        if let a = bind?.address, a.value != 0 {
            source = a
        } else if remote.isLoopback || addresses.contains(remote) {
            source = remote  // a connection to this host leaves from the address it targets
        } else {
            source = addresses[0]
        }
        var tuple = FourTuple(
            localAddress: source, localPort: 0, remoteAddress: remote, remotePort: remotePort)
        var takeover: UInt32? = nil
        var autobound = false
        var bindOwnerID: UInt32 = 0
        var destination: Int32 = -1
        let reuseAddress = bind?.reuseAddress ?? false

        if let b = bind, !(b.noPort && b.port == 0) {
            // bind() first: the port is owned exclusively by a bind-created bucket.
            let bindAddr = b.address ?? IPv4Address(0)
            let port: UInt16
            if b.port != 0 {
                if ports.bindConflict(port: b.port, address: bindAddr, reuseAddress: reuseAddress) {
                    return .failure(.EADDRINUSE)
                }
                port = b.port
            } else {
                guard
                    let p = ports.bindAnyPort(
                        address: bindAddr, reuseAddress: reuseAddress,
                        autobindReuse: sysctls.ipAutobindReuse == 1, rng: &rng)
                else {
                    return .failure(.EADDRINUSE)
                }
                port = p
            }
            tuple.localPort = port
            // __inet_check_established() with twp == NULL: any TW with timestamps is taken over,
            // whatever tcp_tw_reuse says and however young it is (TWR-2, explicit-port path).
            switch ehash.lookup(tuple) {
            case .full?, .request?:
                return .failure(.EADDRNOTAVAIL)
            case .timeWait(let w)?:
                guard timeWaits[Int(w)].tsRecentStamp != 0 else { return .failure(.EADDRNOTAVAIL) }
                takeover = w
            case nil:
                break
            }
            bindOwnerID = nextBindOwnerID
            nextBindOwnerID += 1
            ports.addOwner(
                port, kind: .bind,
                bindOwner: .init(
                    address: bindAddr, reuseAddress: reuseAddress,
                    isListener: false, id: bindOwnerID))
        } else {
            let key = PortAllocator.DestinationKey(source: source, destination: remote, port: remotePort)
            let d = ports.destination(key)
            destination = d
            // Only EP-3's table salts the hash with a 10-s epoch; the hint eras have none (EP-4).
            let epoch = profile.portSelection == .perturbTable ? jiffies(now) / (10 * profile.hz) : 0
            let offset = ports.portOffset(key, epoch: epoch)
            var found: UInt32? = nil
            let choice = ports.scan(d, portOffset: offset) { p in
                var t = tuple
                t.localPort = p
                switch ehash.lookup(t) {
                case nil:
                    found = nil
                    return true
                case .timeWait(let w)?:
                    // tcp_twsk_unique(), autobind path (TWR-2).
                    let ok = reusableNow(timeWaits[Int(w)], t, now: now)
                    found = ok ? w : nil
                    return ok
                default:
                    return false
                }
            }
            guard let c = choice else { return .failure(.EADDRNOTAVAIL) }
            ports.commit(c, rng: &rng)
            tuple.localPort = c.port
            takeover = found
            autobound = true
            if takeover == nil { ports.addOwner(c.port, kind: .connect) }
        }

        let i = allocSocket(tuple)
        var s = sockets[Int(i)]
        s.app = app
        s.autobound = autobound
        s.reuseAddress = reuseAddress
        s.bindOwnerID = bindOwnerID
        if autobound {
            s.destination = destination
            s.holdsDestBit = true
        }
        if let w = takeover {
            // TWR-2 on takeover: write_seq = tw_snd_nxt + 65535 + 2; ts_recent inherited; TW killed.
            let tw = timeWaits[Int(w)]
            s.iss = tw.sndNxt &+ 65537
            if s.iss == 0 { s.iss = 1 }
            s.tsRecent = tw.tsRecent
            s.tsRecentStamp = tw.tsRecentStamp
            counters.bump(.twRecycled)
            // Autobind: the port's bucket ownership and destination bit pass from the TW to the
            // socket. Explicit bind: the socket already owns the port, so the TW's share goes.
            killTimeWait(w, releasePort: !autobound)
            if autobound { ports.setHeld(s.destination, tuple.localPort, true) }
        } else {
            s.iss = secureISN(tuple, now: now)
            if autobound { ports.setHeld(s.destination, tuple.localPort, true) }
        }
        s.tsOffset = tsOffset(tuple)
        s.state = .synSent
        s.sndUna = s.iss
        s.sndNxt = s.iss &+ 1
        s.retransStamp = now
        s.sentAt = now
        s.rto = profile.initialRTO
        s.synTSval = tsClock(now) &+ s.tsOffset
        sockets[Int(i)] = s
        ehash.set(tuple, .full(i))
        counters.bump(.activeOpens)
        emit(i, flags: [.syn], seq: s.iss, now: now, out: &out)
        armRetransmit(i, after: profile.initialRTO, now: now, out: &out)
        return .success(handle(i))
    }

    /// The local port of a socket (as getsockname() reports it).
    public func localPort(_ h: SocketHandle) -> UInt16? {
        valid(h) ? sockets[Int(h.index)].tuple.localPort : nil
    }

    /// The timestamp offset (TS-3) of a connection that negotiated timestamps: what
    /// `getsockopt(TCP_TIMESTAMP)` minus the host's timestamp clock gives; nil without
    /// timestamps or for a stale handle.
    public func timestampOffset(_ h: SocketHandle) -> UInt32? {
        guard valid(h), sockets[Int(h.index)].tsOK else { return nil }
        return sockets[Int(h.index)].tsOffset
    }

    /// The state of a socket, if the handle is still valid.
    public func state(_ h: SocketHandle) -> TCPState? { valid(h) ? sockets[Int(h.index)].state : nil }

    /// write(): one application message of `length` bytes; with `fin`, the FIN rides on it
    /// (TCP_CORK + shutdown(SHUT_WR), as nginx-style servers close first, lab-notes method note).
    public mutating func send(
        _ h: SocketHandle, length: UInt32, message: AppMessage, fin: Bool = false, now: Nanos,
        out: inout Effects
    ) {
        guard valid(h) else { return }
        let i = h.index
        let st = sockets[Int(i)].state
        guard st == .established || st == .closeWait else { return }
        let seq = sockets[Int(i)].sndNxt
        if sockets[Int(i)].sndUna == sockets[Int(i)].sndNxt { sockets[Int(i)].retransStamp = now }
        sockets[Int(i)].outLength &+= length
        sockets[Int(i)].outMessage = message
        sockets[Int(i)].sndNxt = seq &+ length &+ (fin ? 1 : 0)
        sockets[Int(i)].sentAt = now
        if fin {
            sockets[Int(i)].finSent = true
            sockets[Int(i)].state = st == .established ? .finWait1 : .lastAck
        }
        emit(
            i, flags: fin ? [.psh, .fin] : [.psh], seq: seq, length: length, message: message, now: now,
            out: &out)
        armAfterTransmit(i, now: now, out: &out)
    }

    /// close(), with SO_LINGER {1,0} when `linger0` (CL-1, CL-2, CL-3). The handle is dead after.
    public mutating func close(_ h: SocketHandle, linger0: Bool = false, now: Nanos, out: inout Effects) {
        guard valid(h) else { return }
        let i = h.index
        var s = sockets[Int(i)]
        s.app = 0
        s.closedByApp = true
        sockets[Int(i)] = s
        switch s.state {
        case .synSent:
            // CL-1: no packet, the port is released. SO_LINGER {1,0} still counts (CL-3:
            // __tcp_close counts TCPAbortOnData for it whatever the state).
            if linger0 { counters.bump(.abortOnData) }
            cancelRetransmit(i)
            destroy(i)
            return
        case .established, .closeWait, .finWait1, .finWait2:
            if s.unreadBytes > 0 || linger0 {
                // CL-2: unread data -> RST, no FIN, no TIME_WAIT, TCPAbortOnClose; it takes
                // precedence over SO_LINGER. CL-3: SO_LINGER {1,0} -> RST, TCPAbortOnData.
                counters.bump(s.unreadBytes > 0 ? .abortOnClose : .abortOnData)
                if s.state == .established || s.state == .closeWait { counters.bump(.estabResets) }
                emit(i, flags: [.rst], seq: s.sndNxt, now: now, out: &out)
                cancelRetransmit(i)
                destroy(i)
                return
            }
            if s.state == .finWait2 {
                orphanFinWait2(i, now: now, out: &out)
                return
            }
            if s.state == .finWait1 { return }  // FIN already queued (send with fin)
            sockets[Int(i)].state = s.state == .established ? .finWait1 : .lastAck
            if s.retransmits > 0 && s.sndUna != s.sndNxt {
                // tcp_send_fin queues a FIN skb behind the unacknowledged data; after an RTO the
                // congestion window of 1 is full, so it waits for that data's ACK.
                sockets[Int(i)].finQueued = true
                return
            }
            sendFin(i, now: now, out: &out)
        default:
            return
        }
    }

    /// Sends the FIN at snd_nxt and arms the retransmission timer (tcp_send_fin).
    mutating func sendFin(_ i: UInt32, now: Nanos, out: inout Effects) {
        let s = sockets[Int(i)]
        let seq = s.sndNxt
        if s.sndUna == s.sndNxt { sockets[Int(i)].retransStamp = now }
        sockets[Int(i)].sndNxt = seq &+ 1
        sockets[Int(i)].finSent = true
        sockets[Int(i)].finQueued = false
        sockets[Int(i)].sentAt = now
        emit(i, flags: [.fin], seq: seq, now: now, out: &out)
        armAfterTransmit(i, now: now, out: &out)
    }

    /// An orphaned FIN_WAIT2 (TW-9): tmo = max(tcp_fin_timeout, 3.5·RTO). At most 60 s: a
    /// timewait socket in the FIN_WAIT2 substate for tmo. Longer: the full socket stays for
    /// tmo − 60 s (keepalive timer), then becomes such a timewait socket for tmo − 60 s more.
    mutating func orphanFinWait2(_ i: UInt32, now: Nanos, out: inout Effects) {
        let tmo = max(Nanos(sysctls.tcpFinTimeoutSeconds) * Nanos.nanosPerSecond, sockets[Int(i)].rto * 7 / 2)
        cancelRetransmit(i)
        if tmo <= 60 * Nanos.nanosPerSecond {
            enterTimeWait(i, finWait2: tmo, now: now, out: &out)
        } else {
            armRetransmit(i, after: tmo - 60 * Nanos.nanosPerSecond, now: now, out: &out)
        }
    }

    /// After new data or a FIN goes out on an idle socket, `tcp_schedule_loss_probe()` arms a
    /// tail loss probe at min(2·srtt + tcp_rto_min, RTO) (one segment in flight); the RTO
    /// follows the probe (CL-6: FIN transmissions at 0, 0.2, 0.4, 0.8, 1.7 … s in e19).
    mutating func armAfterTransmit(_ i: UInt32, now: Nanos, out: inout Effects) {
        guard !sockets[Int(i)].timerArmed else { return }
        let rto = rtoNow(i)
        sockets[Int(i)].rto = rto
        let s = sockets[Int(i)]
        let pto =
            s.srtt > 0 ? min(2 * s.srtt + 200 * Nanos.nanosPerMilli, rto) : min(Nanos.nanosPerSecond, rto)
        armRetransmit(i, after: pto, probe: true, now: now, out: &out)
    }

    /// The RTO for a synchronized socket: srtt + max(4·rttvar, tcp_rto_min) ≈ 200 ms + srtt on
    /// a LAN (CL-6: FIN retransmissions at 0.2, 0.4, 0.8 … s).
    func rtoNow(_ i: UInt32) -> Nanos {
        let s = sockets[Int(i)]
        return min(200 * Nanos.nanosPerMilli + s.srtt, 120 * Nanos.nanosPerSecond)
    }

    /// accept(): the oldest queued child, now owned by `app`; data and EOF that arrived while it
    /// waited are delivered as events.
    public mutating func accept(listener l: Int32, app: UInt32, now: Nanos, out: inout Effects)
        -> SocketHandle?
    {
        var i: UInt32 = 0
        repeat {
            var L = listeners[Int(l)]
            guard L.acceptQueueLength > 0 else { return nil }
            i = L.acceptQueue[L.head]
            L.head += 1
            if L.head > 64 && L.head * 2 > L.acceptQueue.count {
                L.acceptQueue.removeFirst(L.head)
                L.head = 0
            }
            listeners[Int(l)] = L
            sockets[Int(i)].inAcceptQueue = false
            // A child reset while it waited: the kernel's accept() returns it and the first
            // read fails; the model's servers would only close it, so it is dropped here.
            if !sockets[Int(i)].live { freeSockets.append(i) }
        } while !sockets[Int(i)].live
        sockets[Int(i)].app = app
        let s = sockets[Int(i)]
        if s.unreadBytes > 0 {
            sockets[Int(i)].unreadBytes = 0
            notify(i, .data, message: s.pendingMessage, out: &out)
        }
        if s.eofPending {
            sockets[Int(i)].eofPending = false
            notify(i, .eof, out: &out)
        }
        return handle(i)
    }

    /// Children waiting in a listener's accept queue.
    public func acceptQueueLength(_ l: Int32) -> Int { listeners[Int(l)].acceptQueueLength }
}
