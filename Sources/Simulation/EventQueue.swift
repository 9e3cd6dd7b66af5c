import LinuxTCP

/// What an event does when it comes due.
enum EventKind: UInt8 {
    /// Deliver pooled segment `a` to host `host`.
    case deliver
    /// A TCP timer of host `host`: `a` = index, `b` = generation; the kind is in `timer`.
    case tcpTimer
    /// An application timer: `a` = application id, `b` = application token.
    case appTimer
    /// Start workload `a`.
    case startWorkload
    /// Take snapshot `a`.
    case observe
    /// Take a time-series sample.
    case sample
    /// Pooled segment `a` reaches NAT gateway `host`: `b` = 0 from an inside host, 1 from outside.
    case gateway
}

/// One scheduled event: small and bitwise-copyable (conventions: no class, closure or String).
struct Event: BitwiseCopyable {
    var time: Nanos
    var seq: UInt64
    var kind: EventKind
    var timer: TimerKind
    var host: UInt16
    var a: UInt32
    var b: UInt32

    @inline(__always) static func < (x: Event, y: Event) -> Bool {
        x.time != y.time ? x.time < y.time : x.seq < y.seq
    }
}

/// The engine's agenda: a binary min-heap ordered by (time, sequence), plus FIFO lanes for
/// event classes whose times never decrease: segment deliveries over the (constant-delay)
/// network, 60 s TIME_WAIT expiries per host, keep-alive timeouts per server. Those are the
/// bulk of events in long runs, so the heap stays small. Ties break by the global sequence
/// number, so the order is exactly the one a single heap would give.
struct EventQueue {
    private var heap: [Event] = []
    private var lanes: [Ring] = []
    /// Time of each lane's front event (Int64.max when empty): pop scans this flat array.
    private var laneFront: [Nanos] = []
    private var nextSeq: UInt64 = 0
    private(set) var processed = 0

    init() {}

    /// Adds a FIFO lane and returns its index.
    mutating func addLane() -> Int {
        lanes.append(Ring())
        laneFront.append(Nanos.max)
        return lanes.count - 1
    }

    var isEmpty: Bool { heap.isEmpty && laneFront.allSatisfy { $0 == Nanos.max } }
    var liveCount: Int { heap.count + lanes.reduce(0) { $0 + $1.count } }

    mutating func schedule(_ e: Event) {
        var e = e
        e.seq = nextSeq
        nextSeq &+= 1
        heap.append(e)
        siftUp(heap.count - 1)
    }

    /// Appends to a FIFO lane; `e.time` must be ≥ every time already in that lane.
    mutating func scheduleInLane(_ lane: Int, _ e: Event) {
        var e = e
        e.seq = nextSeq
        nextSeq &+= 1
        lanes[lane].push(e)
        if lanes[lane].count == 1 { laneFront[lane] = e.time }
    }

    /// Appends to a FIFO lane when that keeps the lane in order, else schedules on the heap:
    /// timers of one class (SYN 1 s, RTO ≈ 200 ms) almost always arrive in order.
    mutating func scheduleInLaneIfOrdered(_ lane: Int, _ e: Event) {
        if let last = lanes[lane].back, e.time < last.time {
            schedule(e)
        } else {
            scheduleInLane(lane, e)
        }
    }

    /// The earliest event, if any, without removing it.
    func peekTime() -> Nanos? {
        var t = heap.first?.time ?? Nanos.max
        for f in laneFront where f < t { t = f }
        return t == Nanos.max ? nil : t
    }

    mutating func pop() -> Event? {
        // The lane whose front comes first; ties between lanes and heap go by sequence number.
        var bestLane = -1
        var bestTime = Nanos.max
        for i in laneFront.indices {
            let t = laneFront[i]
            if t < bestTime
                || (t == bestTime && t != Nanos.max && lanes[i].front.seq < lanes[bestLane].front.seq)
            {
                bestTime = t
                bestLane = i
            }
        }
        if let h = heap.first, bestLane < 0 || h < lanes[bestLane].front {
            processed += 1
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
            return h
        }
        guard bestLane >= 0 else { return nil }
        processed += 1
        let e = lanes[bestLane].pop()
        laneFront[bestLane] = lanes[bestLane].isEmpty ? Nanos.max : lanes[bestLane].front.time
        return e
    }

    private mutating func siftUp(_ i0: Int) {
        var i = i0
        let e = heap[i]
        while i > 0 {
            let p = (i - 1) >> 1
            if !(e < heap[p]) { break }
            heap[i] = heap[p]
            i = p
        }
        heap[i] = e
    }

    private mutating func siftDown(_ i0: Int) {
        var i = i0
        let n = heap.count
        let e = heap[i]
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var c = l
            if l + 1 < n && heap[l + 1] < heap[l] { c = l + 1 }
            if !(heap[c] < e) { break }
            heap[i] = heap[c]
            i = c
        }
        heap[i] = e
    }
}

/// A growable ring buffer of events.
struct Ring {
    private var buf: [Event] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }
    var front: Event { buf[head] }
    var back: Event? { count == 0 ? nil : buf[(head + count - 1) % buf.count] }

    mutating func push(_ e: Event) {
        if count == buf.count {
            var n: [Event] = []
            n.reserveCapacity(max(16, buf.count * 2))
            for k in 0..<count { n.append(buf[(head + k) % buf.count]) }
            n.append(contentsOf: repeatElement(e, count: max(16, buf.count * 2) - count))
            buf = n
            head = 0
        }
        buf[(head + count) % buf.count] = e
        count += 1
    }

    mutating func pop() -> Event {
        let e = buf[head]
        head = (head + 1) % buf.count
        count -= 1
        return e
    }
}
