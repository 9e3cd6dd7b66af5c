/// One host's (one network namespace's) TCP stack.
///
/// Pure and deterministic: it receives segments, application calls and timer firings with the
/// current simulated time, and answers with ``Effects`` (segments to send, timers to arm,
/// events for applications). It owns a seeded RNG for the kernel's own random draws.
public struct HostStack: Sendable {
    public let profile: KernelProfile
    public let sysctls: Sysctls
    public let addresses: [IPv4Address]
    /// Time since boot at simulated time 0: the base of jiffies, the TS clock and ISN clock.
    public let uptime: Nanos
    public var counters = Counters()

    var rng: SplitMix64
    var ehash = FourTupleTable(capacity: 1024)
    public internal(set) var ports: PortAllocator

    var sockets: [FullSocket] = []
    var freeSockets: [UInt32] = []
    var timeWaits: [TimeWaitSocket] = []
    var freeTimeWaits: [UInt32] = []
    /// Timewait sockets in either substate (TW-6, sockstat `tw`).
    public internal(set) var timeWaitCount = 0
    var requests: [RequestSock] = []
    var freeRequests: [UInt32] = []
    var listeners: [Listener] = []
    var listenerByPort: [Int32]
    var nextBindOwnerID: UInt32 = 1
    /// Peers with a tcp_metrics RTT entry ("proven", TR-6/LQ-4.5).
    var provenPeers: Set<UInt32> = []
    /// tcp_tw_recycle's per-peer timestamp cache (inetpeer ≤3.4, tcp_metrics 3.5–4.11, TR-1):
    /// the last TSval of a peer whose connection entered TIME_WAIT (either substate) or moved
    /// from FIN_WAIT2 to TIME_WAIT, and its `ts_recent_stamp`.
    var recycleCache: [UInt32: (ts: UInt32, stamp: Int64)] = [:]
    /// ≤4.2: the death row's reaper ticks every 7.5 s from this moment (TW-3).
    var deathRowAnchor: Nanos = 0
    var ackDirty: [UInt32] = []
    /// A firewall rule dropping every inbound SYN-ACK, as a SYN flooder sets up so that its
    /// kernel never answers the victim's SYN-ACKs with RST (the kernel engine adds the same
    /// nftables rule in the flooding host's namespace).
    public var dropInboundSynAck = false

    let isnSecret: UInt64
    let tsSecret: UInt64
    let cookieSecret: UInt64

    public init(
        profile: KernelProfile, sysctls: Sysctls, addresses: [IPv4Address], uptime: Nanos, seed: UInt64
    ) {
        self.profile = profile
        self.sysctls = sysctls
        self.addresses = addresses
        self.uptime = uptime
        var r = SplitMix64(seed: seed)
        ports = PortAllocator(sysctls: sysctls, selection: profile.portSelection, rng: &r)
        isnSecret = r.next()
        tsSecret = r.next()
        cookieSecret = r.next()
        rng = r
        listenerByPort = Array(repeating: -1, count: 65536)
    }

    // MARK: clocks

    @inline(__always) func monotonic(_ now: Nanos) -> Nanos { uptime + now }
    @inline(__always) func jiffies(_ now: Nanos) -> Int64 { monotonic(now) / profile.jiffy }
    /// The 32-bit TS option clock (TS-3): jiffies up to 4.12, `tcp_clock_ms()` since 4.13.
    @inline(__always) func tsClock(_ now: Nanos) -> UInt32 {
        UInt32(truncatingIfNeeded: monotonic(now) / (Nanos.nanosPerSecond / profile.tsHz))
    }
    /// `ktime_get_seconds()`, the unit of `ts_recent_stamp`.
    @inline(__always) func seconds(_ now: Nanos) -> Int64 { monotonic(now) / Nanos.nanosPerSecond }

    /// When a kernel timer armed now for `delay` really fires: at jiffy `jiffies + delta` before
    /// 4.8 (`mod_timer` on the old cascading wheel), rounded up by the timer wheel since
    /// (checklist 44).
    func timerExpiry(_ delay: Nanos, now: Nanos) -> Nanos {
        let j = profile.jiffy
        let deltaJ = (delay + j - 1) / j  // msecs_to_jiffies rounds up
        let e =
            profile.hasTimerWheelSlack
            ? TimerWheel.roundedExpiry(nowJiffies: jiffies(now), deltaJiffies: deltaJ)
            : jiffies(now) + deltaJ
        return e * j - uptime
    }

    /// TS offset of a connection (TS-3): none up to 4.9 and for `tcp_timestamps=2`; one per
    /// (saddr, daddr) from 4.11; per 4-tuple, deterministic, on 6.18.17+.
    func tsOffset(_ t: FourTuple) -> UInt32 {
        guard sysctls.tcpTimestamps == 1 else { return 0 }
        let pair = UInt64(t.localAddress.value) << 32 | UInt64(t.remoteAddress.value)
        switch profile.tsOffset {
        case .none: return 0
        case .perHostPair: return UInt32(truncatingIfNeeded: keyedHash(tsSecret, pair, 0) >> 32)
        case .perFourTuple:
            return UInt32(truncatingIfNeeded: keyedHash(tsSecret, pair, UInt64(t.packedPorts)) >> 32)
        }
    }

    /// `secure_tcp_seq()` (TS-4): keyed hash of the 4-tuple plus a 64 ns clock.
    func secureISN(_ t: FourTuple, now: Nanos) -> UInt32 {
        let h = UInt32(
            truncatingIfNeeded: keyedHash(
                isnSecret, UInt64(t.localAddress.value) << 32 | UInt64(t.remoteAddress.value),
                UInt64(t.packedPorts)))
        return h &+ UInt32(truncatingIfNeeded: monotonic(now) >> 6)
    }

    /// Whether `a` is one of this host's addresses (or loopback).
    public func owns(_ a: IPv4Address) -> Bool { a.isLoopback || addresses.contains(a) }

    // MARK: slabs

    mutating func allocSocket(_ t: FourTuple) -> UInt32 { allocate(t, in: &sockets, free: &freeSockets) }
    mutating func allocTimeWait(_ t: FourTuple) -> UInt32 {
        allocate(t, in: &timeWaits, free: &freeTimeWaits)
    }
    mutating func allocRequest(_ t: FourTuple) -> UInt32 { allocate(t, in: &requests, free: &freeRequests) }

    func handle(_ i: UInt32) -> SocketHandle {
        SocketHandle(index: i, generation: sockets[Int(i)].generation)
    }

    func valid(_ h: SocketHandle) -> Bool {
        Int(h.index) < sockets.count && sockets[Int(h.index)].live
            && sockets[Int(h.index)].generation == h.generation
    }

    // MARK: output

    /// Sends a segment from full socket `i`, carrying ACK and timestamps as the state allows.
    mutating func emit(
        _ i: UInt32, flags: TCPFlags, seq: UInt32, length: UInt32 = 0, message: AppMessage = .none,
        now: Nanos, out: inout Effects
    ) {
        let s = sockets[Int(i)]
        let initialSYN = flags == [.syn]
        var f = flags
        if !initialSYN { f.insert(.ack) }
        var seg = Segment(
            src: s.tuple.localAddress, dst: s.tuple.remoteAddress, sport: s.tuple.localPort,
            dport: s.tuple.remotePort, flags: f, seq: seq, ack: initialSYN ? 0 : s.rcvNxt,
            length: length, message: message)
        if initialSYN ? sysctls.tcpTimestamps != 0 : s.tsOK {
            seg.hasTS = true
            seg.tsval = tsClock(now) &+ s.tsOffset
            seg.tsecr = initialSYN ? 0 : s.tsRecent
        }
        if f.contains(.rst) { counters.bump(.outRsts) }
        sockets[Int(i)].ackPending = false
        sockets[Int(i)].delayedAck = false
        out.segments.append(seg)
    }

    /// A reset answering `seg` when no socket can (`tcp_v4_send_reset`).
    mutating func sendReset(for seg: Segment, out: inout Effects) {
        if seg.flags.contains(.rst) { return }
        var r = Segment(
            src: seg.dst, dst: seg.src, sport: seg.dport, dport: seg.sport, flags: [.rst], seq: 0, ack: 0)
        if seg.flags.contains(.ack) {
            r.seq = seg.ack
        } else {
            r.flags = [.rst, .ack]
            r.ack = seg.seq &+ seg.sequenceLength
        }
        counters.bump(.outRsts)
        out.segments.append(r)
    }

    mutating func markAckPending(_ i: UInt32) {
        sockets[Int(i)].ackPending = true
        if !sockets[Int(i)].ackDirty {
            sockets[Int(i)].ackDirty = true
            ackDirty.append(i)
        }
    }

    /// `tcp_fin()` moves an ESTABLISHED socket to CLOSE_WAIT in pingpong mode, which turns quick
    /// ACKs off, so the FIN's ACK waits for the delayed-ACK timer (TCP_ATO_MIN, 40 ms, once data
    /// has arrived) unless something is sent first. Fitted to 6.18, and applied only where it was
    /// seen: a child not yet accepted holding unread data (5 ms after the clients close, those
    /// whose child got their request are in FIN-WAIT-1, the others in FIN-WAIT-2: lab-notes k1,
    /// k6). Sockets whose application read the data ACK the FIN at once (e16, TW-6 probes).
    mutating func delayAck(_ i: UInt32, now: Nanos, out: inout Effects) {
        sockets[Int(i)].ackPending = false
        sockets[Int(i)].delayedAck = true
        sockets[Int(i)].delayedAckGeneration &+= 1
        let ato = 40 * Nanos.nanosPerMilli
        out.timers.append(
            TimerRequest(
                time: timerExpiry(ato, now: now), kind: .delayedAck, index: i,
                generation: sockets[Int(i)].delayedAckGeneration, isTimeWaitLength: false))
    }

    /// Sends the ACKs still owed after applications had their turn (they ride on data when the
    /// application answered at once; otherwise a pure ACK goes out).
    public mutating func flushAcks(now: Nanos, out: inout Effects) {
        guard !ackDirty.isEmpty else { return }
        for i in ackDirty {
            sockets[Int(i)].ackDirty = false
            let s = sockets[Int(i)]
            if s.live && s.ackPending { emit(i, flags: [.ack], seq: s.sndNxt, now: now, out: &out) }
        }
        ackDirty.removeAll(keepingCapacity: true)
    }

    mutating func notify(
        _ i: UInt32, _ kind: AppEvent.Kind, errno: Errno = .none, message: AppMessage = .none,
        out: inout Effects
    ) {
        let s = sockets[Int(i)]
        guard s.app != 0 else { return }
        out.events.append(
            AppEvent(app: s.app, kind: kind, socket: handle(i), listener: -1, errno: errno, message: message))
    }

    // MARK: timers

    mutating func armRetransmit(
        _ i: UInt32, after delay: Nanos, probe: Bool = false, now: Nanos, out: inout Effects
    ) {
        sockets[Int(i)].timerGeneration &+= 1
        sockets[Int(i)].timerArmed = true
        sockets[Int(i)].probeArmed = probe
        out.timers.append(
            TimerRequest(
                time: timerExpiry(delay, now: now), kind: .retransmit, index: i,
                generation: sockets[Int(i)].timerGeneration, isTimeWaitLength: false))
    }

    mutating func cancelRetransmit(_ i: UInt32) {
        sockets[Int(i)].timerGeneration &+= 1
        sockets[Int(i)].timerArmed = false
        sockets[Int(i)].probeArmed = false
    }

    // MARK: teardown

    /// Removes a full socket from every table and frees its slot (`tcp_done` / `inet_put_port`).
    mutating func destroy(_ i: UInt32) {
        let s = sockets[Int(i)]
        guard s.live else { return }
        if s.state != .listen {
            if case .full(let j)? = ehash.lookup(s.tuple), j == i { ehash.remove(s.tuple) }
            if s.holdsDestBit { ports.setHeld(s.destination, s.tuple.localPort, false) }
            ports.removeOwner(s.tuple.localPort, bindOwnerID: s.bindOwnerID == 0 ? nil : s.bindOwnerID)
            if s.hadRTTSample { provenPeers.insert(s.tuple.remoteAddress.value) }
        }
        sockets[Int(i)].live = false
        sockets[Int(i)].state = .closed
        sockets[Int(i)].generation &+= 1
        // A child reset while queued stays in the accept queue (Recv-Q counts it); its slot is
        // freed when accept() takes it, so the queue never points at a reused slot.
        if !sockets[Int(i)].inAcceptQueue { freeSockets.append(i) }
    }

    /// `tcp_time_wait()`: swap full socket `i` for a timewait socket, in the TIME_WAIT substate
    /// or, given the orphan's timeout `finWait2` (TW-9), the FIN_WAIT2 one; or close it outright
    /// when `tcp_max_tw_buckets` is reached (TW-6).
    mutating func enterTimeWait(_ i: UInt32, finWait2: Nanos? = nil, now: Nanos, out: inout Effects) {
        let s = sockets[Int(i)]
        let tsRecentStamp = s.tsOK ? s.tsRecentStamp : 0
        // TR-1/TR-2: the per-peer cache is updated first, for either substate and even when the
        // bucket limit then refuses the timewait socket; the answer is `tw_timeout`.
        let twTimeout = recycledTimeout(
            peer: s.tuple.remoteAddress, tsRecent: s.tsRecent, tsRecentStamp: tsRecentStamp,
            short: recycleTimeout(s.rto), now: now)
        guard timeWaitCount < sysctls.tcpMaxTwBuckets else {
            if profile.countsDropsByName { counters.bump(.timeWaitOverflow) }
            destroy(i)
            return
        }
        if s.hadRTTSample { provenPeers.insert(s.tuple.remoteAddress.value) }
        // TIME_WAIT lasts `tw_timeout`; a FIN_WAIT2 orphan keeps its own timeout either way.
        let timeout = finWait2 ?? twTimeout
        let w = allocTimeWait(s.tuple)
        var tw = timeWaits[Int(w)]
        tw.finWait2 = finWait2 != nil
        tw.rcvNxt = s.rcvNxt
        tw.sndNxt = s.sndNxt
        tw.tsOffset = s.tsOffset
        tw.tsRecent = s.tsRecent
        tw.tsRecentStamp = tsRecentStamp
        tw.entry = now
        tw.twTimeout = twTimeout
        tw.autobound = s.autobound
        tw.holdsDestBit = s.holdsDestBit
        tw.reuseAddress = s.reuseAddress
        tw.bindOwnerID = s.bindOwnerID
        tw.destination = s.destination
        timeWaits[Int(w)] = tw
        timeWaitCount += 1
        ehash.set(s.tuple, .timeWait(w))
        // The TW keeps the port's bind-bucket ownership: hand it over from the full socket.
        sockets[Int(i)].holdsDestBit = false
        sockets[Int(i)].live = false
        sockets[Int(i)].state = .closed
        sockets[Int(i)].generation &+= 1
        freeSockets.append(i)
        // TW-7 (≥4.3): counted at creation, TW for timeouts > 4 s, TWKilled otherwise; the death
        // row (≤4.2) counts when it reaps (``reapTimeWait(_:)``).
        if profile.timeWaitTimer == .perSocket {
            counters.bump(timeout > 4 * Nanos.nanosPerSecond ? .tw : .twKilled)
        } else if timeWaitCount == 1 {
            deathRowAnchor = now  // tw_count 0 -> 1 (re)starts the reaper's period
        }
        scheduleTimeWait(w, timeout: timeout, now: now, out: &out)
    }

    /// TR-1/TR-2 (≤4.11 with tcp_tw_recycle=1): a connection that saw timestamps leaves its
    /// peer's last TSval in the per-peer cache, on entering TIME_WAIT in either substate
    /// (`tcp_remember_stamp`) and on the FIN_WAIT2 → TIME_WAIT move (`tcp_tw_remember_stamp`).
    /// The entry is overwritten when it is not newer, or when it is over 60 s old and its stamp
    /// not newer. Returns `short` when the cache holds an entry for the peer (`recycle_ok`),
    /// else `TCP_TIMEWAIT_LEN` (60 s), which is also the answer without the sysctl or timestamps
    /// (`tsRecentStamp` 0), the cache untouched.
    mutating func recycledTimeout(
        peer: IPv4Address, tsRecent: UInt32, tsRecentStamp: Int64, short: Nanos, now: Nanos
    ) -> Nanos {
        let timeWaitLength = 60 * Nanos.nanosPerSecond
        guard profile.hasTwRecycle && sysctls.tcpTwRecycle == 1 && tsRecentStamp != 0 else {
            return timeWaitLength
        }
        if let e = recycleCache[peer.value],
            !(Int32(bitPattern: e.ts &- tsRecent) <= 0
                || (seconds(now) - e.stamp > 60 && e.stamp <= tsRecentStamp))
        {
            return short
        }
        recycleCache[peer.value] = (tsRecent, tsRecentStamp)
        return short
    }

    /// TR-2: with tcp_tw_recycle a TIME_WAIT lasts 3.5·RTO (`(rto << 2) - (rto >> 1)`).
    func recycleTimeout(_ rto: Nanos) -> Nanos { (rto << 2) - (rto >> 1) }

    /// The death row reaping a TIME_WAIT at the end of its life (≤4.2): `TW` counted for the
    /// 60 s slots, `TWKilled` for the recycle calendar (TR-2).
    mutating func reapTimeWait(_ w: UInt32) {
        if profile.timeWaitTimer == .deathRow {
            counters.bump(timeWaits[Int(w)].shortLived ? .twKilled : .tw)
        }
        killTimeWait(w)
    }

    /// The moment a TIME_WAIT armed now for `timeout` dies. The death row (≤4.2) files a 60 s
    /// TIME_WAIT 7 slots ahead of the reaper, which ticks every 7.5 s from `deathRowAnchor`, so
    /// it lives (52.5, 60] s (`inet_twsk_schedule`, TW-3).
    func timeWaitExpiry(_ timeout: Nanos, now: Nanos) -> Nanos {
        guard profile.timeWaitTimer == .deathRow && timeout >= 60 * Nanos.nanosPerSecond else {
            return timerExpiry(timeout, now: now)
        }
        let period = 7_500 * Nanos.nanosPerMilli
        let ticks = (now - deathRowAnchor) / period + 1
        return deathRowAnchor + (ticks + 7) * period
    }

    /// Arms a timewait socket's expiry, and, when connect() could take it over, the moment it
    /// becomes reusable (TWR-2, TWR-3). On the death row (≤4.2) a timeout of at most 4 s files it
    /// in the recycle calendar, a longer one on the 7.5-s wheel (`inet_twsk_schedule`), which
    /// decides the counter it is reaped with (TW-7).
    mutating func scheduleTimeWait(_ w: UInt32, timeout: Nanos, now: Nanos, out: inout Effects) {
        timeWaits[Int(w)].generation &+= 1
        timeWaits[Int(w)].shortLived = timeout <= 4 * Nanos.nanosPerSecond
        let tw = timeWaits[Int(w)]
        let expiry = timeWaitExpiry(timeout, now: now)
        timeWaits[Int(w)].expiry = expiry
        out.timers.append(
            TimerRequest(
                time: expiry, kind: .timeWaitExpire, index: w, generation: tw.generation,
                isTimeWaitLength: timeout == 60 * Nanos.nanosPerSecond))
        if tw.autobound && tw.holdsDestBit, let at = reusableAt(tw, tw.tuple), at < expiry {
            out.timers.append(
                TimerRequest(
                    time: max(at, now), kind: .timeWaitReusable, index: w, generation: tw.generation,
                    isTimeWaitLength: false))
        }
    }

    /// The first moment connect() may take TIME_WAIT `tw` over for tuple `t`, or nil when it
    /// never may (`tcp_twsk_unique`): TWR-2 (timestamps seen, tcp_tw_reuse on for this tuple,
    /// not the FIN_WAIT2 substate where the version says so) and TWR-3's age test by version.
    func reusableAt(_ tw: TimeWaitSocket, _ t: FourTuple) -> Nanos? {
        guard tw.tsRecentStamp != 0 && !(tw.finWait2 && profile.twReuseSkipsFinWait2) && reuseAllowed(t)
        else { return nil }
        switch profile.twReuseAge {
        case .delayMs:
            // `now_ms > entry_ms + tcp_tw_reuse_delay`, in ms of the monotonic clock.
            let entryMs = monotonic(tw.entry) / Nanos.nanosPerMilli
            return (entryMs + Int64(sysctls.tcpTwReuseDelayMs) + 1) * Nanos.nanosPerMilli - uptime
        // `seconds > ts_recent_stamp` and `seconds - ts_recent_stamp > 1`.
        case .nextSecond: return (tw.tsRecentStamp + 1) * Nanos.nanosPerSecond - uptime
        case .moreThanOneSecond: return (tw.tsRecentStamp + 2) * Nanos.nanosPerSecond - uptime
        }
    }

    /// Whether connect() may take TIME_WAIT `tw` over now for tuple `t` (`tcp_twsk_unique`).
    func reusableNow(_ tw: TimeWaitSocket, _ t: FourTuple, now: Nanos) -> Bool {
        guard let at = reusableAt(tw, t) else { return false }
        return now >= at
    }

    /// `tcp_tw_reuse` for this tuple: 1 on, 2 only for loopback (TWR-2).
    func reuseAllowed(_ t: FourTuple) -> Bool {
        switch sysctls.tcpTwReuse {
        case 1: return true
        case 2: return t.localAddress.isLoopback || t.remoteAddress.isLoopback
        default: return false
        }
    }

    /// Removes a timewait socket (expiry, RST assassination, SYN takeover, connect() reuse).
    mutating func killTimeWait(_ w: UInt32, releasePort: Bool = true) {
        let tw = timeWaits[Int(w)]
        guard tw.live else { return }
        if case .timeWait(let j)? = ehash.lookup(tw.tuple), j == w { ehash.remove(tw.tuple) }
        if releasePort {
            if tw.holdsDestBit { ports.setHeld(tw.destination, tw.tuple.localPort, false) }
            ports.removeOwner(tw.tuple.localPort, bindOwnerID: tw.bindOwnerID == 0 ? nil : tw.bindOwnerID)
        }
        timeWaits[Int(w)].live = false
        timeWaits[Int(w)].generation &+= 1
        timeWaitCount -= 1
        freeTimeWaits.append(w)
    }

    mutating func freeRequest(_ r: UInt32) {
        let q = requests[Int(r)]
        guard q.live else { return }
        if case .request(let j)? = ehash.lookup(q.tuple), j == r { ehash.remove(q.tuple) }
        if q.listener >= 0 {
            // reqsk_queue_removed(): a request that never timed out was still young.
            listeners[Int(q.listener)].qlen -= 1
            if q.numTimeout == 0 { listeners[Int(q.listener)].young -= 1 }
        }
        requests[Int(r)].live = false
        requests[Int(r)].generation &+= 1
        freeRequests.append(r)
    }
}

/// A slot of one of the stack's slabs (full, timewait and request sockets): slots are reused
/// through a free list, so references carry the slot's generation.
protocol SlabSlot {
    init(tuple: FourTuple)
    var generation: UInt32 { get set }
    var live: Bool { get set }
    /// Takes over what must survive slot reuse from the slot's previous occupant.
    mutating func inherit(from previous: Self)
}

extension SlabSlot {
    mutating func inherit(from previous: Self) { generation = previous.generation &+ 1 }
}

/// Takes a slot from the free list (or grows the slab) for a new socket on `t`.
func allocate<T: SlabSlot>(_ t: FourTuple, in slab: inout [T], free: inout [UInt32]) -> UInt32 {
    var s = T(tuple: t)
    s.live = true
    if let i = free.popLast() {
        s.inherit(from: slab[Int(i)])
        slab[Int(i)] = s
        return i
    }
    slab.append(s)
    return UInt32(slab.count - 1)
}
