/// Timer expiry.
extension HostStack {
    public mutating func fire(_ t: TimerRequest, now: Nanos, out: inout Effects) {
        switch t.kind {
        case .retransmit:
            let i = t.index
            guard Int(i) < sockets.count, sockets[Int(i)].live,
                sockets[Int(i)].timerGeneration == t.generation
            else { return }
            sockets[Int(i)].timerArmed = false
            if sockets[Int(i)].state == .synSent {
                synTimeout(i, now: now, out: &out)
            } else if sockets[Int(i)].state == .finWait2 {
                // TW-9, tcp_fin_timeout > 60 s: the keepalive timer hands the orphan to a
                // FIN_WAIT2 timewait socket for the rest (tcp_keepalive_timer).
                let rest =
                    Nanos(sysctls.tcpFinTimeoutSeconds) * Nanos.nanosPerSecond - 60 * Nanos.nanosPerSecond
                enterTimeWait(i, finWait2: max(rest, 0), now: now, out: &out)
            } else {
                retransmitTimeout(i, now: now, out: &out)
            }
        case .timeWaitExpire:
            let w = t.index
            guard timeWaits[Int(w)].live, timeWaits[Int(w)].generation == t.generation else { return }
            reapTimeWait(w)
        case .timeWaitReusable:
            let w = t.index
            guard timeWaits[Int(w)].live, timeWaits[Int(w)].generation == t.generation,
                timeWaits[Int(w)].holdsDestBit
            else { return }
            let tw = timeWaits[Int(w)]
            ports.setHeld(tw.destination, tw.tuple.localPort, false)
            timeWaits[Int(w)].holdsDestBit = false
        case .delayedAck:
            let i = t.index
            guard Int(i) < sockets.count, sockets[Int(i)].live, sockets[Int(i)].delayedAck,
                sockets[Int(i)].delayedAckGeneration == t.generation
            else { return }
            emit(i, flags: [.ack], seq: sockets[Int(i)].sndNxt, now: now, out: &out)
        case .requestTimer:
            let r = t.index
            guard Int(r) < requests.count, requests[Int(r)].live,
                requests[Int(r)].timerGeneration == t.generation
            else { return }
            requestTimeout(r, now: now, out: &out)
        }
    }

    /// SYN retransmission (LQ-10): linear 1 s timeouts while `total_rto ≤ tcp_syn_linear_timeouts`
    /// (≥6.5), doubling after; ETIMEDOUT once retransmissions reach syn_retries (+ linear), or
    /// the time since the first SYN reaches (2^(syn_retries+1) − 1) s.
    mutating func synTimeout(_ i: UInt32, now: Nanos, out: inout Effects) {
        var s = sockets[Int(i)]
        let linear = profile.hasSynLinearTimeouts ? sysctls.tcpSynLinearTimeouts : 0
        let retries = sysctls.tcpSynRetries
        let cap = ((Nanos(1) << Nanos(min(retries + 1, 40))) - 1) * profile.initialRTO  // rto_base
        counters.bump(.timeouts)  // every expiry, the last one too (tcp_retransmit_timer)
        if s.retransmits >= retries + linear || now - s.retransStamp >= cap {
            counters.bump(.abortOnTimeout)
            counters.bump(.attemptFails)
            notify(i, .failed, errno: .ETIMEDOUT, out: &out)
            destroy(i)
            return
        }
        s.retransmits += 1
        s.totalRTO += 1
        if linear > 0 && s.totalRTO <= linear {
            s.rto = Nanos.nanosPerSecond
        } else {
            s.rto = min(s.rto * 2, 120 * Nanos.nanosPerSecond)
        }
        sockets[Int(i)] = s
        counters.bump(.retransSegs)
        counters.bump(.synRetrans)
        emit(i, flags: [.syn], seq: s.iss, now: now, out: &out)
        armRetransmit(i, after: s.rto, now: now, out: &out)
    }

    /// `tcp_model_timeout(boundary, 200 ms)`: the give-up deadline of CL-6.
    func modelTimeout(_ boundary: Int) -> Nanos {
        let base = 200 * Nanos.nanosPerMilli
        let thresh = 9  // ilog2(TCP_RTO_MAX / TCP_RTO_MIN)
        if boundary <= thresh { return ((2 << Nanos(boundary)) - 1) * base }
        return ((2 << Nanos(thresh)) - 1) * base + Nanos(boundary - thresh) * 120 * Nanos.nanosPerSecond
    }

    /// Data/FIN retransmission with backoff; orphans give up after `tcp_orphan_retries` (0 → 8,
    /// ≈102 s), others after `tcp_retries2` = 15 (≈925 s), with TCPAbortOnTimeout and no RST.
    mutating func retransmitTimeout(_ i: UInt32, now: Nanos, out: inout Effects) {
        var s = sockets[Int(i)]
        guard s.sndUna != s.sndNxt else { return }
        var flags: TCPFlags = s.outLength > 0 ? [.psh] : []
        if s.finSent { flags.insert(.fin) }
        if s.probeArmed {
            // Tail loss probe: resend the last segment, then wait one RTO, not backed off.
            counters.bump(.retransSegs)
            counters.bump(.lossProbes)
            emit(
                i, flags: flags, seq: s.sndUna, length: s.outLength, message: s.outMessage, now: now,
                out: &out)
            armRetransmit(i, after: s.rto, now: now, out: &out)
            return
        }
        counters.bump(.timeouts)  // every RTO expiry, the last one too (tcp_retransmit_timer)
        let boundary = s.closedByApp ? (sysctls.tcpOrphanRetries == 0 ? 8 : sysctls.tcpOrphanRetries) : 15
        if now - s.retransStamp >= modelTimeout(boundary) {
            counters.bump(.abortOnTimeout)
            if s.state == .established || s.state == .closeWait { counters.bump(.estabResets) }
            notify(i, .failed, errno: .ETIMEDOUT, out: &out)
            destroy(i)
            return
        }
        s.retransmits += 1
        s.rto = min(s.rto * 2, 120 * Nanos.nanosPerSecond)
        sockets[Int(i)] = s
        counters.bump(.retransSegs)
        emit(i, flags: flags, seq: s.sndUna, length: s.outLength, message: s.outMessage, now: now, out: &out)
        armRetransmit(i, after: s.rto, now: now, out: &out)
    }

    /// The SYN-ACK timer (`reqsk_timer_handler`, LQ-9). Every expiry counts TCPTimeouts
    /// (`syn_ack_timeout`). A request whose `num_timeout` has reached the retry limit is dropped
    /// silently; otherwise the SYN-ACK is retransmitted (TcpRetransSegs, TCPSynRetrans,
    /// `num_retrans`), the request stops being young, `num_timeout` grows and the timer is
    /// re-armed for `min(TCP_TIMEOUT_INIT << num_timeout, TCP_RTO_MAX)`.
    ///
    /// Without TCP_DEFER_ACCEPT (not modelled) `syn_ack_recalc` always resends, so a request
    /// marked `acked` (LQ-7) is retried like any other, and a retransmission never fails here.
    mutating func requestTimeout(_ r: UInt32, now: Nanos, out: inout Effects) {
        let q = requests[Int(r)]
        let l = Int(q.listener)
        let limit = synAckRetryLimit(
            qlen: listeners[l].qlen, young: listeners[l].young, backlog: listeners[l].backlog)
        counters.bump(.timeouts)
        if q.numTimeout >= limit {
            freeRequest(r)
            return
        }
        sendSynAck(r, retransmission: true, now: now, out: &out)
        if q.numTimeout == 0 { listeners[l].young -= 1 }
        requests[Int(r)].numTimeout = q.numTimeout + 1
        armRequestTimer(r, now: now, out: &out)
    }

    /// The retry limit for one SYN-ACK timer expiry: `tcp_synack_retries` (no TCP_SYNCNT on
    /// listeners in the model), pruned while the SYN queue is more than half full. When
    /// `2·qlen > max(8, backlog)`, the limit drops by one for each doubling of `2·young` that
    /// still does not exceed `qlen`, down to 2: "reserve half of the room for young requests".
    /// A flood nobody answers therefore loses its old requests at their third expiry (≈7 s)
    /// until `2·qlen ≤ max(8, backlog)`.
    func synAckRetryLimit(qlen: Int, young: Int, backlog: Int) -> Int {
        var limit = sysctls.tcpSynackRetries
        guard qlen << 1 > max(8, backlog) else { return limit }
        var y = young << 1
        while limit > 2 && qlen >= y {
            limit -= 1
            y <<= 1
        }
        return limit
    }
}
