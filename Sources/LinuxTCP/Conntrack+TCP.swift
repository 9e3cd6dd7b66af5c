/// The TCP connection tracker (`nf_conntrack_proto_tcp.c`): the state machine, the "reopen"
/// rule and window tracking, as far as they decide what a NAT gateway does with a packet.
///
/// Not modelled: window scaling and SACK (segments carry no window, so both sides are taken to
/// advertise `trackedWindow`), the RETRANS/UNACK timeouts (they only shorten timeouts longer
/// than 5 min), SYN proxy, and the simultaneous-open and "ignored SYN re-sync" corner cases.
extension ConntrackEntry {
    /// The window both sides are assumed to advertise (Linux's initial 64240-byte window).
    static let trackedWindow: UInt32 = 64240

    /// Transition marker: the packet is invalid in this state (`sIV`).
    static let iv: UInt8 = 10
    /// Transition marker: the packet is ignored (`sIG`).
    static let ig: UInt8 = 11

    /// `tcp_conntracks[dir][class][state]` (6.x). Rows: SYN, SYN-ACK, FIN, ACK, RST, none.
    /// Columns: NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT,
    /// CLOSE, SYN_SENT2.
    static let transitions: [[[UInt8]]] = {
        let (no, ss, sr, es, fw, cw, la, tw, cl, s2) = (
            UInt8(0), UInt8(1), UInt8(2), UInt8(3), UInt8(4), UInt8(5), UInt8(6), UInt8(7), UInt8(8), UInt8(9)
        )
        _ = no
        let (iv, ig) = (ConntrackEntry.iv, ConntrackEntry.ig)
        let original: [[UInt8]] = [
            [ss, ss, ig, ig, ig, ig, ig, ss, ss, s2],  // SYN: TIME_WAIT/CLOSE -> SYN_SENT (reopen)
            [iv, iv, sr, iv, iv, iv, iv, iv, iv, sr],  // SYN-ACK
            [iv, iv, fw, fw, la, la, la, tw, cl, iv],  // FIN
            [es, iv, es, es, cw, cw, tw, tw, cl, iv],  // ACK (NONE -> ESTABLISHED: pickup)
            [iv, cl, cl, cl, cl, cl, cl, cl, cl, cl],  // RST
            [iv, iv, iv, iv, iv, iv, iv, iv, iv, iv],
        ]
        let reply: [[UInt8]] = [
            [iv, s2, iv, iv, iv, iv, iv, ss, iv, s2],
            [iv, sr, ig, ig, ig, ig, ig, ig, ig, sr],
            [iv, iv, fw, fw, la, la, la, tw, cl, iv],
            [iv, ig, sr, es, cw, cw, tw, tw, cl, ig],  // ACK in SYN_SENT: ignored (maybe a TW's ACK)
            [iv, cl, cl, cl, cl, cl, cl, cl, cl, cl],
            [iv, iv, iv, iv, iv, iv, iv, iv, iv, iv],
        ]
        return [original, reply]
    }()

    /// `tcp_new()`: a packet without an entry starts one if it is a SYN (SYN_SENT) or, with
    /// `nf_conntrack_tcp_loose=1` (default), any ACK-bearing packet (mid-stream pickup).
    /// RSTs and the like are invalid and pass untracked.
    static func start(_ seg: Segment) -> ConntrackEntry? {
        let next = transitions[0][PacketClass(seg.flags).rawValue][0]
        guard next < iv else { return nil }
        var e = ConntrackEntry(original: ConntrackTuple(seg))
        var w = TrackedWindow()
        w.tdEnd = seg.seq &+ seg.sequenceLength
        w.tdMaxWin = trackedWindow
        if next == ConntrackState.synSent.rawValue {
            w.tdMaxEnd = w.tdEnd
        } else {
            w.tdMaxEnd = w.tdEnd &+ w.tdMaxWin
            w.liberal = true
            var r = TrackedWindow()
            r.liberal = true
            e.seen.1 = r
        }
        e.seen.0 = w
        return e
    }

    /// `nf_conntrack_tcp_packet()`: moves the entry on for one packet and refreshes its timeout.
    ///
    /// NAT-3: a SYN meeting an entry in TIME_WAIT or CLOSE whose close was seen (FIN flag) or
    /// that the same side just reset is a reopened connection: the entry is killed and the SYN
    /// looked up again as NEW (`.repeat`). A SYN on an entry still in use is let through without
    /// a state change ("ignored"), as are a reply ACK to a SYN (which may be a TIME_WAIT's
    /// challenge ACK, TW-12 step 3) and a retransmitted SYN-ACK.
    mutating func track(
        _ seg: Segment, dir: ConntrackDirection, timeouts: ConntrackTimeouts, now: Nanos
    ) -> TrackVerdict {
        let old = state
        let index = PacketClass(seg.flags)
        var next = Self.transitions[dir.rawValue][index.rawValue][Int(old.rawValue)]
        var checkWindow = true

        if next == ConntrackState.synSent.rawValue && old >= .timeWait {
            if seen.0.closeInit || seen.1.closeInit || (lastDir == dir && lastIndex == .rst) {
                return .repeat
            }
            next = Self.ig  // fallthrough into the ignore case
        }
        switch next {
        case Self.ig:
            lastIndex = index
            lastDir = dir
            lastEnd = seg.seq &+ seg.sequenceLength
            // A reply ACK while SYN_SENT may be a challenge ACK (a TIME_WAIT answering an old-
            // looking SYN): remember its ack, the client's RST will carry it as its sequence.
            if old == .synSent && index == .ack && dir == .reply { lastAck = seg.ack }
            if dir == .reply { seenReply = true }
            return .accept
        case Self.iv:
            return .invalid
        case ConntrackState.close.rawValue where index == .rst:
            checkWindow = !resetSkipsWindow(seg, dir: dir, old: old, next: &next)
            if next == Self.iv { return .invalid }
        default:
            break
        }

        if checkWindow {
            switch inWindow(seg, dir: dir, index: index) {
            case .accept: break
            case .ignore:
                if dir == .reply { seenReply = true }
                return .accept
            case .invalid: return .invalid
            }
        }

        // in_window:
        lastIndex = index
        lastDir = dir
        let newState = ConntrackState(rawValue: next)!
        state = newState
        if old != newState && newState == .finWait {
            var w = window(dir)
            w.closeInit = true
            setWindow(dir, w)
        }
        var timeout = index == .rst ? timeouts[.close] : timeouts[newState]
        // IPS_SEEN_REPLY is set by `nf_conntrack_in()` after this function accepts a reply
        // packet, so the tests below see it as it was before this packet.
        defer { if dir == .reply { seenReply = true } }
        if !seenReply {
            // Nothing came back before this packet: an RST, from either side (the reply's
            // refusal of a SYN included), ends the entry at once, and a retransmitted SYN does
            // not renew its timeout.
            if seg.flags.contains(.rst) { return .killed }
            if index == .syn && old == .synSent { return .accept }
            if newState == .established { timeout = min(timeout, 300 * Nanos.nanosPerSecond) }
        } else if !assured && (old == .synRecv || old == .established) && newState == .established {
            assured = true
        }
        expires = now + timeout
        return .accept
    }

    /// The RST rules of the CLOSE case in `nf_conntrack_tcp_packet()`: whether the window check
    /// is skipped; `next` becomes `iv` for an invalid RST, or the old state when the RST may be
    /// answered by a challenge ACK.
    mutating func resetSkipsWindow(
        _ seg: Segment, dir: ConntrackDirection, old: ConntrackState, next: inout UInt8
    ) -> Bool {
        // tcp_can_early_drop(): the tuple may be reused already, skip validation.
        switch old {
        case .finWait, .lastAck, .timeWait, .close, .closeWait: return true
        default: break
        }
        let other = window(dir == .original ? .reply : .original)
        if other.maxAckSet && lastIndex != .syn {
            let established = old == .established
            if seg.seq == 0 && !established { return false }
            if seqBefore(seg.seq, other.tdMaxAck) {
                next = Self.iv  // "invalid rst"
                return false
            }
            if !established || seg.seq == other.tdMaxAck { return false }
            if lastIndex == .ack && lastDir == dir && seg.seq == lastEnd { return false }
            next = old.rawValue  // keep the state: a challenge ACK may follow
        }
        // An RST to a SYN or ACK we let through (the raw ack field, 0 when ACK is not set).
        if ((seenReply && lastIndex == .syn) || (!assured && lastIndex == .ack)) && seg.ack == lastEnd {
            return true
        }
        // An RST answering the challenge ACK we let through while SYN_SENT: the client's reset
        // of a TIME_WAIT's ACK (TW-13) carries that ACK's ack number as its sequence.
        return old == .synSent && lastIndex == .ack && lastDir == .reply && seg.seq == lastAck
    }

    enum WindowVerdict { case accept, ignore, invalid }

    /// `tcp_in_window()` with both windows fixed at `trackedWindow` and no scaling or SACK.
    mutating func inWindow(_ seg: Segment, dir: ConntrackDirection, index: PacketClass) -> WindowVerdict {
        let other: ConntrackDirection = dir == .original ? .reply : .original
        var sender = window(dir)
        var receiver = window(other)
        var seq = seg.seq
        var ack = seg.ack
        var sack = ack
        var end = seg.seq &+ seg.sequenceLength
        let win = Self.trackedWindow
        let isSyn = seg.flags.contains(.syn)
        let hasAck = seg.flags.contains(.ack)
        let liberal = sender.liberal
        defer {
            setWindow(dir, sender)
            setWindow(other, receiver)
        }

        if sender.tdMaxWin == 0 {
            if isSyn {
                sender.tdEnd = end
                sender.tdMaxEnd = end
                sender.tdMaxWin = win
                if !hasAck { return .accept }  // simultaneous open
            } else {
                sender.tdEnd = end
                sender.tdMaxWin = win
                sender.tdMaxEnd = end &+ win
                if receiver.tdMaxWin == 0 {
                    receiver.tdEnd = sack
                    receiver.tdMaxEnd = sack
                } else if sack == receiver.tdEnd &+ 1 {
                    receiver.tdEnd &+= 1
                }
            }
        } else if isSyn && seqAfter(end, sender.tdEnd) && (state == .synSent || state == .synRecv) {
            // A reinitialised connection (RFC 793): start this direction afresh.
            sender.tdEnd = end
            sender.tdMaxEnd = end
            sender.tdMaxWin = win
            if dir == .reply && !hasAck { return .accept }
        }

        if !hasAck {
            ack = receiver.tdEnd
            sack = ack
        } else if seg.flags.contains(.rst) && ack == 0 {
            ack = receiver.tdEnd
            sack = ack
        }
        if seg.flags.contains(.rst) && seq == 0 && state == .synSent {
            seq = sender.tdEnd
            end = seq
        }

        let maxAckWindow = max(sender.tdMaxWin, 66000)
        if !seqBefore(seq, sender.tdMaxEnd &+ 1) {
            let overshot = end &- sender.tdMaxEnd &+ 1
            let ackOK = seqAfter(sack, receiver.tdEnd &- maxAckWindow &- 1)
            let inRecv = receiver.tdMaxWin != 0 && seqAfter(end, sender.tdEnd &- receiver.tdMaxWin &- 1)
            if inRecv && ackOK && overshot <= receiver.tdMaxWin && seqBefore(sack, receiver.tdEnd &+ 1) {
                sender.tdEnd = end
                return liberal ? .accept : .ignore
            }
            return liberal ? .accept : .invalid  // "SEQ is over upper bound"
        }
        if !seqBefore(sack, receiver.tdEnd &+ 1) { return liberal ? .accept : .invalid }
        let inRecv = receiver.tdMaxWin == 0 || seqAfter(end, sender.tdEnd &- receiver.tdMaxWin &- 1)
        if !inRecv { return liberal ? .accept : .ignore }
        if !seqAfter(sack, receiver.tdEnd &- maxAckWindow &- 1) { return liberal ? .accept : .ignore }

        // Update the sender, then the receiver.
        let swin = win &+ (sack &- ack)
        if sender.tdMaxWin < swin { sender.tdMaxWin = swin }
        if seqAfter(end, sender.tdEnd) { sender.tdEnd = end }
        if hasAck {
            if !sender.maxAckSet {
                sender.tdMaxAck = ack
                sender.maxAckSet = true
            } else if seqAfter(ack, sender.tdMaxAck) {
                sender.tdMaxAck = ack
            }
        }
        if receiver.tdMaxWin != 0 && seqAfter(end, sender.tdMaxEnd) {
            receiver.tdMaxWin &+= end &- sender.tdMaxEnd
        }
        if seqAfter(sack &+ win, receiver.tdMaxEnd &- 1) { receiver.tdMaxEnd = sack &+ win }
        return .accept
    }
}
