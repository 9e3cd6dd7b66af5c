/// Segment input (`tcp_v4_rcv`): demultiplex by 4-tuple, then by state.
extension HostStack {
    public mutating func receive(_ seg: Segment, now: Nanos, out: inout Effects) {
        if dropInboundSynAck && seg.flags.contains([.syn, .ack]) { return }
        let t = seg.receiverTuple
        switch ehash.lookup(t) {
        case .full(let i)?:
            if sockets[Int(i)].state == .synSent {
                synSentInput(i, seg, now: now, out: &out)
            } else {
                synchronizedInput(i, seg, now: now, out: &out)
            }
        case .timeWait(let w)?:
            timeWaitInput(w, seg, now: now, out: &out)
        case .request(let r)?:
            requestInput(r, seg, now: now, out: &out)
        case nil:
            if let l = listener(for: seg) {
                listenInput(l, seg, twISN: nil, now: now, out: &out)
            } else {
                sendReset(for: seg, out: &out)
            }
        }
    }

    func listener(for seg: Segment) -> Int32? {
        let l = listenerByPort[Int(seg.dport)]
        guard l >= 0 else { return nil }
        let a = listeners[Int(l)].address
        return a.value == 0 || a == seg.dst ? l : nil
    }

    // MARK: SYN_SENT (tcp_rcv_synsent_state_process)

    mutating func synSentInput(_ i: UInt32, _ seg: Segment, now: Nanos, out: inout Effects) {
        let s = sockets[Int(i)]
        if seg.flags.contains(.ack) {
            if seg.ack != s.sndNxt {
                // Unacceptable ACK (e.g. a TIME_WAIT's ACK, TW-13, or a challenge ACK, CL-7):
                // answer with RST seq = ack, and (≈5.6+) retry the SYN after TCP_TIMEOUT_MIN
                // if it was not retransmitted yet.
                if seg.flags.contains(.rst) { return }
                if profile.synSentFastRetry && s.retransmits == 0 {
                    armRetransmit(i, after: 2 * profile.jiffy, now: now, out: &out)
                }
                // tcp_v4_send_reset() builds the RST from the segment alone: no timestamp
                // option (only MD5/AO), so a TIME_WAIT cannot PAWS-reject it (TW-11, TW-14) and
                // it kills the TIME_WAIT even when this SYN's TSval was older (NAT-4).
                let r = Segment(
                    src: seg.dst, dst: seg.src, sport: seg.dport, dport: seg.sport, flags: [.rst],
                    seq: seg.ack, ack: 0)
                counters.bump(.outRsts)
                out.segments.append(r)
                return
            }
            if seg.flags.contains(.rst) {
                // Connection refused: the port is released (EP-9).
                counters.bump(.attemptFails)
                cancelRetransmit(i)
                notify(i, .failed, errno: .ECONNREFUSED, out: &out)
                destroy(i)
                return
            }
            guard seg.flags.contains(.syn) else { return }
            // TS-5: the SYN-ACK's TSecr must lie within [first SYN TSval, now].
            if seg.hasTS && sysctls.tcpTimestamps != 0 && seg.tsecr != 0 {
                let nowTS = tsClock(now) &+ s.tsOffset
                if seqBefore(seg.tsecr, s.synTSval) || seqAfter(seg.tsecr, nowTS) {
                    counters.bump(.pawsActive)
                    emit(i, flags: [.rst], seq: seg.ack, now: now, out: &out)
                    return
                }
            }
            var n = s
            n.rcvNxt = seg.seq &+ 1
            n.sndUna = seg.ack
            n.tsOK = seg.hasTS && sysctls.tcpTimestamps != 0
            if n.tsOK {
                n.tsRecent = seg.tsval
                n.tsRecentStamp = seconds(now)
            }
            if n.retransmits == 0 {
                n.srtt = now - n.sentAt
                n.hadRTTSample = true
            }
            n.rto = min(200 * Nanos.nanosPerMilli + n.srtt, 120 * Nanos.nanosPerSecond)
            n.state = .established
            n.retransmits = 0
            n.totalRTO = 0
            sockets[Int(i)] = n
            cancelRetransmit(i)
            emit(i, flags: [.ack], seq: n.sndNxt, now: now, out: &out)
            notify(i, .connected, out: &out)
            return
        }
        if seg.flags.contains(.rst) { return }
        // A bare SYN (simultaneous open) is not modelled; ignore.
    }

    // MARK: synchronized states (tcp_rcv_established / tcp_rcv_state_process)

    mutating func synchronizedInput(_ i: UInt32, _ seg: Segment, now: Nanos, out: inout Effects) {
        var s = sockets[Int(i)]
        if seg.flags.contains(.rst) {
            // RFC 5961: only an RST exactly at rcv_nxt resets; others get a challenge ACK.
            guard seg.seq == s.rcvNxt else {
                if seqAfter(seg.seq, s.rcvNxt &- 1) {
                    counters.bump(.challengeACK)
                    emit(i, flags: [.ack], seq: s.sndNxt, now: now, out: &out)
                }
                return
            }
            if s.state == .established || s.state == .closeWait { counters.bump(.estabResets) }
            cancelRetransmit(i)
            notify(i, .failed, errno: .ECONNRESET, out: &out)
            destroy(i)
            return
        }
        if seg.flags.contains(.syn) {
            // CL-7 (≥3.6): a SYN on a synchronized socket gets a challenge ACK and is dropped.
            counters.bump(.challengeACK)
            counters.bump(.synChallenge)
            emit(i, flags: [.ack], seq: s.sndNxt, now: now, out: &out)
            return
        }
        // PAWS (TS-5).
        if s.tsOK && seg.hasTS && Int32(bitPattern: s.tsRecent &- seg.tsval) > 0
            && seconds(now) < s.tsRecentStamp + profile.pawsStaleSeconds
        {
            counters.bump(.pawsEstab)
            markAckPending(i)
            return
        }
        // ACK processing.
        if seg.flags.contains(.ack) && seqAfter(seg.ack, s.sndUna) && !seqAfter(seg.ack, s.sndNxt) {
            let acked = seg.ack &- s.sndUna
            s.sndUna = seg.ack
            let dataAcked = min(acked, s.outLength)
            s.outLength -= dataAcked
            if s.retransmits == 0 && s.srtt == 0 { s.srtt = now - s.sentAt }
            s.hadRTTSample = true
            // Whether this ACK covers a FIN already sent (taken before a queued FIN goes out).
            let finAcked = s.finSent && s.sndUna == s.sndNxt
            if s.sndUna == s.sndNxt {
                s.retransmits = 0
                sockets[Int(i)] = s
                cancelRetransmit(i)
                if s.finQueued { sendFin(i, now: now, out: &out) }
            } else {
                sockets[Int(i)] = s
            }
            if finAcked {
                switch s.state {
                case .finWait1:
                    sockets[Int(i)].state = .finWait2
                    s.state = .finWait2
                    // An orphan's FIN_WAIT2 becomes a timewait socket, unless this very segment
                    // also carries the peer's FIN (then TIME_WAIT follows below).
                    if s.closedByApp && !seg.flags.contains(.fin) && seg.length == 0 {
                        orphanFinWait2(i, now: now, out: &out)
                        return
                    }
                case .closing:
                    cancelRetransmit(i)
                    enterTimeWait(i, now: now, out: &out)
                    return
                case .lastAck:
                    cancelRetransmit(i)
                    destroy(i)
                    return
                default:
                    break
                }
            }
        }
        s = sockets[Int(i)]
        if s.tsOK && seg.hasTS && !seqAfter(seg.seq, s.rcvNxt) {
            sockets[Int(i)].tsRecent = seg.tsval
            sockets[Int(i)].tsRecentStamp = seconds(now)
        }
        // Data.
        if seg.length > 0 {
            if seg.seq != s.rcvNxt {
                markAckPending(i)  // duplicate or out of order: dup ACK
                return
            }
            if s.closedByApp {
                // Data after close() (RCV_SHUTDOWN): RST, TCPAbortOnData (tcp_rcv_state_process).
                counters.bump(.abortOnData)
                emit(i, flags: [.rst], seq: s.sndNxt, now: now, out: &out)
                cancelRetransmit(i)
                destroy(i)
                return
            }
            sockets[Int(i)].rcvNxt = s.rcvNxt &+ seg.length
            sockets[Int(i)].receivedData = true
            markAckPending(i)
            if s.app != 0 {
                notify(i, .data, message: seg.message, out: &out)
            } else {
                sockets[Int(i)].unreadBytes &+= seg.length
                sockets[Int(i)].pendingMessage = seg.message
            }
        }
        // FIN.
        if seg.flags.contains(.fin) {
            s = sockets[Int(i)]
            guard seg.seq &+ seg.length == s.rcvNxt else {
                markAckPending(i)
                return
            }
            sockets[Int(i)].rcvNxt = s.rcvNxt &+ 1
            switch s.state {
            case .established:
                sockets[Int(i)].state = .closeWait
                if s.app == 0 && s.receivedData {
                    delayAck(i, now: now, out: &out)
                } else {
                    markAckPending(i)
                }
                if s.app != 0 { notify(i, .eof, out: &out) } else { sockets[Int(i)].eofPending = true }
            case .finWait1:
                // Simultaneous close: CLOSING (both sides get TIME_WAIT, TW-1).
                sockets[Int(i)].state = .closing
                markAckPending(i)
            case .finWait2:
                // tcp_fin(): ACK the FIN, then tcp_time_wait() (which may overflow, TW-6).
                emit(i, flags: [.ack], seq: s.sndNxt, now: now, out: &out)
                cancelRetransmit(i)
                enterTimeWait(i, now: now, out: &out)
            default:
                markAckPending(i)
            }
        }
    }

    // MARK: TIME_WAIT (tcp_timewait_state_process, TW-10, TW-12)

    mutating func timeWaitInput(_ w: UInt32, _ seg: Segment, now: Nanos, out: inout Effects) {
        let tw = timeWaits[Int(w)]
        let sawTS = seg.hasTS && tw.tsRecentStamp != 0
        var pawsReject = false
        if sawTS && Int32(bitPattern: tw.tsRecent &- seg.tsval) > 0 && tw.tsRecent != 0
            && seconds(now) < tw.tsRecentStamp + profile.pawsStaleSeconds
        {
            // tcp_paws_reject(): an RST is still accepted once ts_recent_stamp is 60 s old.
            pawsReject = !(seg.flags.contains(.rst) && seconds(now) >= tw.tsRecentStamp + 60)
        }
        let flags = seg.flags
        if tw.finWait2 {
            // TW-10.
            if pawsReject || seqBefore(seg.seq, tw.rcvNxt) {
                twAck(w, now: now, out: &out, skipped: .ackSkippedFinWait2)
                return
            }
            if flags.contains(.rst) {
                killTimeWait(w)
                return
            }
            if flags.contains(.syn) {
                sendReset(for: seg, out: &out)  // TCP_TW_RST: reset, and the TW goes too
                killTimeWait(w)
                return
            }
            if flags.contains(.fin) && seg.length == 0 && seg.seq == tw.rcvNxt {
                // The peer's FIN: TIME_WAIT substate, fresh entry stamp, 60 s, ACK.
                timeWaits[Int(w)].finWait2 = false
                timeWaits[Int(w)].rcvNxt = tw.rcvNxt &+ 1
                timeWaits[Int(w)].entry = now
                if sawTS {
                    timeWaits[Int(w)].tsRecent = seg.tsval
                    timeWaits[Int(w)].tsRecentStamp = seconds(now)
                }
                // With tcp_tw_recycle the cache is updated again and, if it vouches, the TW lasts
                // the `tw_timeout` chosen at creation (TR-1/TR-2).
                let t = timeWaits[Int(w)]
                let timeout = recycledTimeout(
                    peer: t.tuple.remoteAddress, tsRecent: t.tsRecent, tsRecentStamp: t.tsRecentStamp,
                    short: t.twTimeout, now: now)
                scheduleTimeWait(w, timeout: timeout, now: now, out: &out)
                twAck(w, now: now, out: &out, skipped: nil)
                return
            }
            if seg.length == 0 && !flags.contains(.fin) { return }  // duplicate ACK
            sendReset(for: seg, out: &out)
            killTimeWait(w)
            return
        }
        // TW-12 step 1: in-window RST or bare ACK.
        if !pawsReject && seg.seq == tw.rcvNxt && (seg.sequenceLength == 0 || flags.contains(.rst)) {
            if flags.contains(.rst) {
                if sysctls.tcpRfc1337 == 0 { killTimeWait(w) }  // TW-14 assassination
                return
            }
            if sawTS {
                timeWaits[Int(w)].tsRecent = seg.tsval
                timeWaits[Int(w)].tsRecentStamp = seconds(now)
            }
            rearmTimeWait(w, now: now, out: &out)
            return
        }
        // Step 2: a new SYN with a higher sequence or a newer timestamp.
        if flags.contains(.syn) && !flags.contains(.rst) && !flags.contains(.ack) && !pawsReject
            && (seqAfter(seg.seq, tw.rcvNxt) || (sawTS && Int32(bitPattern: tw.tsRecent &- seg.tsval) < 0))
        {
            let isn = tw.sndNxt &+ 65537
            if let l = listener(for: seg) {
                killTimeWait(w)
                listenInput(l, seg, twISN: isn == 0 ? 1 : isn, now: now, out: &out)
                return
            }
        }
        // Step 3.
        // PAWSTimewait since 2025 (6.18); PAWSEstab before (TW-12 step 3).
        if pawsReject { counters.bump(profile.hasPAWSTimewaitCounter ? .pawsTimewait : .pawsEstab) }
        if !flags.contains(.rst) {
            if pawsReject || flags.contains(.ack) { rearmTimeWait(w, now: now, out: &out) }
            twAck(w, now: now, out: &out, skipped: .ackSkippedTimeWait)
        }
    }

    /// TW-12 steps 1 and 3: re-arms a TIME_WAIT to `TCP_TIMEWAIT_LEN` (60 s), with
    /// tcp_tw_recycle too: `tcp_timewait_state_process()` neither refreshes the per-peer cache
    /// nor uses the short timeout here (only `tcp_time_wait()` and the FIN_WAIT2 → TIME_WAIT move
    /// do, TR-1/TR-2).
    mutating func rearmTimeWait(_ w: UInt32, now: Nanos, out: inout Effects) {
        scheduleTimeWait(w, timeout: 60 * Nanos.nanosPerSecond, now: now, out: &out)
    }

    /// The ACK a timewait socket sends (TCP_TW_ACK), rate-limited to one per 500 ms
    /// (`tcp_invalid_ratelimit`).
    mutating func twAck(_ w: UInt32, now: Nanos, out: inout Effects, skipped: Counter?) {
        let tw = timeWaits[Int(w)]
        if let c = skipped {
            if now - tw.lastAck < 500 * Nanos.nanosPerMilli {
                counters.bump(c)
                return
            }
            timeWaits[Int(w)].lastAck = now
        }
        var seg = Segment(
            src: tw.tuple.localAddress, dst: tw.tuple.remoteAddress, sport: tw.tuple.localPort,
            dport: tw.tuple.remotePort, flags: [.ack], seq: tw.sndNxt, ack: tw.rcvNxt)
        if tw.tsRecentStamp != 0 {
            seg.hasTS = true
            seg.tsval = tsClock(now) &+ tw.tsOffset
            seg.tsecr = tw.tsRecent
        }
        out.segments.append(seg)
    }

    // MARK: SYN_RECV request sockets (tcp_check_req, LQ-7)

    mutating func requestInput(_ r: UInt32, _ seg: Segment, now: Nanos, out: inout Effects) {
        let q = requests[Int(r)]
        let flags = seg.flags
        if flags.contains(.rst) {
            if seg.seq == q.rcvNxt {
                counters.bump(.embryonicRsts)
                counters.bump(.attemptFails)
                freeRequest(r)
            }
            return
        }
        if flags.contains(.syn) && !flags.contains(.ack) {
            // PAWS against the SYN's TSval (the estimated ts_recent_stamp is always recent).
            let pawsReject =
                seg.hasTS && sysctls.tcpTimestamps != 0 && Int32(bitPattern: q.tsRecent &- seg.tsval) > 0
            if seg.seq == q.rcvNxt &- 1 && !pawsReject {
                // A retransmitted SYN: resend the SYN-ACK unless rate-limited, and restart the
                // timer from now with the current backoff (mod_timer_pending; num_timeout and
                // youth are unchanged).
                if requestOOWRateLimited(r, now: now) { return }
                sendSynAck(r, retransmission: true, now: now, out: &out)
                armRequestTimer(r, now: now, out: &out)
                return
            }
            // Any other SYN is out of window (a new ISN; the in-window case, which would reset
            // the request, needs the receive window the model does not keep): a rate-limited
            // ACK, and PAWSEstab when PAWS rejected it.
            if !requestOOWRateLimited(r, now: now) { requestAck(r, now: now, out: &out) }
            if pawsReject { counters.bump(.pawsEstab) }
            return
        }
        guard flags.contains(.ack) else { return }
        guard seg.ack == q.iss &+ 1 else {
            sendReset(for: seg, out: &out)
            return
        }
        let l = q.listener
        if listeners[Int(l)].acceptQueueLength > listeners[Int(l)].backlog {
            // LQ-7: the child cannot be queued.
            counters.bump(.listenOverflows)
            counters.bump(.listenDrops)
            if sysctls.tcpAbortOnOverflow == 1 {
                counters.bump(.embryonicRsts)
                sendReset(for: seg, out: &out)
                freeRequest(r)
            } else {
                requests[Int(r)].acked = true
            }
            return
        }
        let child = makeChild(
            from: seg, iss: q.iss, tsOK: q.tsOK, tsOffset: q.tsOffset, listener: l, now: now)
        if q.numRetrans == 0 {
            sockets[Int(child)].srtt = now - q.sentAt
            sockets[Int(child)].hadRTTSample = true
        }
        freeRequest(r)
        ehash.set(seg.receiverTuple, .full(child))
        enqueueChild(child, listener: l, seg: seg, now: now, out: &out)
    }

    /// A full ESTABLISHED child for a completed handshake (`tcp_v4_syn_recv_sock`).
    mutating func makeChild(
        from seg: Segment, iss: UInt32, tsOK: Bool, tsOffset off: UInt32, listener l: Int32,
        now: Nanos
    ) -> UInt32 {
        let t = seg.receiverTuple
        let i = allocSocket(t)
        var c = sockets[Int(i)]
        c.state = .established
        c.iss = iss
        c.sndUna = iss &+ 1
        c.sndNxt = iss &+ 1
        c.rcvNxt = seg.seq
        c.tsOK = tsOK
        c.tsOffset = off
        c.listener = l
        c.reuseAddress = listeners[Int(l)].reuseAddress
        if tsOK && seg.hasTS {
            c.tsRecent = seg.tsval
            c.tsRecentStamp = seconds(now)
        }
        c.rto = 200 * Nanos.nanosPerMilli
        sockets[Int(i)] = c
        ports.addOwner(t.localPort, kind: .bind)
        counters.bump(.passiveOpens)
        return i
    }

    /// Puts a new child on the accept queue, then processes any data the final ACK carried.
    mutating func enqueueChild(_ i: UInt32, listener l: Int32, seg: Segment, now: Nanos, out: inout Effects) {
        sockets[Int(i)].inAcceptQueue = true
        listeners[Int(l)].acceptQueue.append(i)
        let L = listeners[Int(l)]
        out.events.append(
            AppEvent(
                app: L.app, kind: .acceptReady, socket: handle(i), listener: l, errno: .none,
                message: .none))
        if seg.length > 0 || seg.flags.contains(.fin) {
            var rest = seg
            rest.flags.remove(.syn)
            synchronizedInput(i, rest, now: now, out: &out)
        }
    }

    // MARK: LISTEN (tcp_conn_request, LQ-4; cookies LQ-8)

    /// `inet_csk_reqsk_queue_is_full` (LQ-4.2): qlen > backlog (≥6.13) or ≥ backlog (4.4+);
    /// ≤4.3 the request hash table of `roundup_pow_of_two(max(min(backlog, max_syn_backlog),
    /// 8) + 1)` entries is full once qlen reaches its size (LQ-5: 256 for backlog 128).
    func synQueueFull(_ L: Listener) -> Bool {
        switch profile.synQueue {
        case .backlog(let greater): return greater ? L.qlen > L.backlog : L.qlen >= L.backlog
        case .powerOfTwo:
            var size = 1
            while size < max(min(L.backlog, sysctls.tcpMaxSynBacklog), 8) + 1 { size <<= 1 }
            return L.qlen >= size
        }
    }

    /// The counters of a SYN the listener drops (CT-2): `ListenDrops`, with `ListenOverflows`
    /// for a full accept queue, at `tcp_conn_request`'s `drop:` label; 2.6.32's has none.
    mutating func countSynDrop(acceptQueueFull: Bool) {
        guard profile.countsSynDrops else { return }
        if acceptQueueFull { counters.bump(.listenOverflows) }
        counters.bump(.listenDrops)
    }

    mutating func listenInput(_ l: Int32, _ seg: Segment, twISN: UInt32?, now: Nanos, out: inout Effects) {
        let flags = seg.flags
        if flags.contains(.rst) { return }
        if flags.contains(.ack) && !flags.contains(.syn) {
            cookieAck(l, seg, now: now, out: &out)
            return
        }
        guard flags.contains(.syn) else { return }
        var L = listeners[Int(l)]
        var wantCookie = false
        if twISN == nil {
            // Step 2: SYN queue full (LQ-4; ≤4.3 the power-of-two table of LQ-5) or syncookies=2.
            if sysctls.tcpSyncookies == 2 || synQueueFull(L) {
                if sysctls.tcpSyncookies != 0 {
                    wantCookie = true
                    if profile.countsDropsByName { counters.bump(.reqQFullDoCookies) }
                } else {
                    if profile.countsDropsByName { counters.bump(.reqQFullDrop) }
                    countSynDrop(acceptQueueFull: false)
                    return
                }
            }
        }
        // Step 3: accept queue full -> drop the SYN (≥4.15; before, only with more than one
        // young request waiting).
        if L.acceptQueueLength > L.backlog && (!profile.synDropNeedsYoungRequests || L.young > 1) {
            countSynDrop(acceptQueueFull: true)
            return
        }
        let t = seg.receiverTuple
        let tsOK = seg.hasTS && sysctls.tcpTimestamps != 0
        if !wantCookie && twISN == nil && profile.hasTwRecycle && sysctls.tcpTwRecycle == 1
            && (tsOK || !profile.recycleNeedsSynTimestamp)
        {
            // TR-3: tcp_tw_recycle's per-peer PAWS. A SYN from a peer whose cached TSval is less
            // than 60 s old and more than one tick ahead of this SYN's is dropped silently, on
            // 4.x a SYN without TS too (2.6.32 and 3.10 check only SYNs with TS). The
            // last-quarter rule is this branch's `else`.
            if let e = recycleCache[seg.src.value], seconds(now) - e.stamp < 60,
                !tsOK || Int32(bitPattern: e.ts &- seg.tsval) > 1
            {
                counters.bump(.pawsPassive)
                countSynDrop(acceptQueueFull: false)
                return
            }
        } else if !wantCookie && twISN == nil && sysctls.tcpSyncookies == 0 {
            // Step 5: the last-quarter rule for unproven peers with cookies off (TR-6, LQ-6).
            // Up to 4.11 the route was looked up only in the recycle branch above, so this
            // `else` saw `dst == NULL` and `tcp_peer_is_proven()` (2.6.32: the inetpeer/RTT
            // test) found no peer proven; from 4.12 the route comes first.
            let msb = sysctls.tcpMaxSynBacklog
            let proven = !profile.hasTwRecycle && provenPeers.contains(seg.src.value)
            if msb - L.qlen < msb >> 2 && !proven {
                countSynDrop(acceptQueueFull: false)
                return
            }
        }
        if wantCookie {
            // Step 6, cookie: nothing is stored.
            L.lastOverflow = now
            listeners[Int(l)] = L
            counters.bump(.syncookiesSent)
            var sa = Segment(
                src: t.localAddress, dst: t.remoteAddress, sport: t.localPort, dport: t.remotePort,
                flags: [.syn, .ack], seq: cookie(t, seq: seg.seq, now: now), ack: seg.seq &+ 1)
            if tsOK {
                sa.hasTS = true
                sa.tsval = tsClock(now) &+ tsOffset(t)
                sa.tsecr = seg.tsval
            }
            out.segments.append(sa)
            return
        }
        let r = allocRequest(t)
        var q = requests[Int(r)]
        q.listener = l
        q.iss = twISN ?? secureISN(t, now: now)
        q.rcvNxt = seg.seq &+ 1
        q.tsOK = tsOK
        q.tsOffset = tsOffset(t)
        q.tsRecent = seg.tsval
        q.sentAt = now
        requests[Int(r)] = q
        listeners[Int(l)].qlen += 1
        listeners[Int(l)].young += 1
        ehash.set(t, .request(r))
        sendSynAck(r, retransmission: false, now: now, out: &out)
        armRequestTimer(r, now: now, out: &out)
    }

    mutating func sendSynAck(_ r: UInt32, retransmission: Bool, now: Nanos, out: inout Effects) {
        let q = requests[Int(r)]
        var sa = Segment(
            src: q.tuple.localAddress, dst: q.tuple.remoteAddress, sport: q.tuple.localPort,
            dport: q.tuple.remotePort, flags: [.syn, .ack], seq: q.iss, ack: q.rcvNxt)
        if q.tsOK {
            sa.hasTS = true
            sa.tsval = tsClock(now) &+ q.tsOffset
            sa.tsecr = q.tsRecent
        }
        if retransmission {
            requests[Int(r)].numRetrans += 1
            counters.bump(.retransSegs)
            counters.bump(.synRetrans)
        }
        out.segments.append(sa)
    }

    /// (Re-)arms the SYN-ACK timer for `min(TCP_TIMEOUT_INIT << num_timeout, TCP_RTO_MAX)`
    /// (`reqsk_timeout`), rounded by the timer wheel; an earlier arming no longer fires.
    mutating func armRequestTimer(_ r: UInt32, now: Nanos, out: inout Effects) {
        let n = requests[Int(r)].numTimeout
        let delay = min(profile.initialRTO << Int64(min(n, 20)), 120 * Nanos.nanosPerSecond)
        requests[Int(r)].timerGeneration &+= 1
        out.timers.append(
            TimerRequest(
                time: timerExpiry(delay, now: now), kind: .requestTimer, index: r,
                generation: requests[Int(r)].timerGeneration, isTimeWaitLength: false))
    }

    /// `tcp_oow_rate_limited` for a request: at most one answer per `tcp_invalid_ratelimit`
    /// (500 ms = HZ/2 jiffies) to SYNs and out-of-window segments, counted in
    /// TCPACKSkippedSynRecv when skipped. Only these answers stamp `last_oow_ack_time`, so the
    /// first retransmitted SYN is always answered.
    mutating func requestOOWRateLimited(_ r: UInt32, now: Nanos) -> Bool {
        let j = UInt32(truncatingIfNeeded: jiffies(now))
        let last = requests[Int(r)].lastOOWAck
        if last != 0 {
            let elapsed = Int32(bitPattern: j &- last)
            if elapsed >= 0 && Int64(elapsed) < profile.hz / 2 {
                counters.bump(.ackSkippedSynRecv)
                return true
            }
        }
        requests[Int(r)].lastOOWAck = j
        return false
    }

    /// The ACK a request sends for an out-of-window segment (`tcp_v4_reqsk_send_ack`):
    /// seq = ISS + 1, ack = rcv_nxt, echoing the SYN's TSval.
    mutating func requestAck(_ r: UInt32, now: Nanos, out: inout Effects) {
        let q = requests[Int(r)]
        var a = Segment(
            src: q.tuple.localAddress, dst: q.tuple.remoteAddress, sport: q.tuple.localPort,
            dport: q.tuple.remotePort, flags: [.ack], seq: q.iss &+ 1, ack: q.rcvNxt)
        if q.tsOK {
            a.hasTS = true
            a.tsval = tsClock(now) &+ q.tsOffset
            a.tsecr = q.tsRecent
        }
        out.segments.append(a)
    }

    /// The syncookie ISN for a SYN: keyed hash of the tuple, the client ISN and the minute counter.
    func cookie(_ t: FourTuple, seq: UInt32, now: Nanos) -> UInt32 {
        cookie(t, seq: seq, minute: seconds(now) / 60)
    }

    func cookie(_ t: FourTuple, seq: UInt32, minute: Int64) -> UInt32 {
        UInt32(
            truncatingIfNeeded: keyedHash(
                cookieSecret, UInt64(t.localAddress.value) << 32 | UInt64(t.remoteAddress.value),
                UInt64(t.packedPorts) << 32 | UInt64(seq), UInt64(bitPattern: minute)))
    }

    /// LQ-8: an ACK reaching a bare listener is tried as a cookie only within 2 min of an
    /// overflow; a valid one builds the child (still subject to the accept queue), a bad one is
    /// counted and answered with RST.
    mutating func cookieAck(_ l: Int32, _ seg: Segment, now: Nanos, out: inout Effects) {
        let L = listeners[Int(l)]
        guard sysctls.tcpSyncookies != 0, now - L.lastOverflow < 120 * Nanos.nanosPerSecond else {
            sendReset(for: seg, out: &out)
            return
        }
        let t = seg.receiverTuple
        let clientISN = seg.seq &- 1
        let minute = seconds(now) / 60
        let iss = seg.ack &- 1
        guard
            iss == cookie(t, seq: clientISN, minute: minute)
                || iss == cookie(t, seq: clientISN, minute: minute - 1)
        else {
            counters.bump(.syncookiesFailed)
            sendReset(for: seg, out: &out)
            return
        }
        counters.bump(.syncookiesRecv)
        if L.acceptQueueLength > L.backlog {
            counters.bump(.listenOverflows)
            counters.bump(.listenDrops)
            return
        }
        let tsOK = seg.hasTS && sysctls.tcpTimestamps != 0
        let child = makeChild(from: seg, iss: iss, tsOK: tsOK, tsOffset: tsOffset(t), listener: l, now: now)
        ehash.set(t, .full(child))
        enqueueChild(child, listener: l, seg: seg, now: now, out: &out)
    }
}
