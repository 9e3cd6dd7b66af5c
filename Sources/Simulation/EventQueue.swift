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

/// The engine's agenda: a binary min-heap ordered by (time, sequence) for most events, plus
/// FIFO lanes for timers whose expiries never decrease (60 s TIME_WAIT), which are the bulk
/// of live events in long runs. Ties break by the global sequence number, so the order is the
/// same as one heap would give.
struct EventQueue {
    private var heap: [Event] = []
    private var lanes: [Ring] = []
    private var nextSeq: UInt64 = 0
    private(set) var processed = 0

    init(lanes n: Int) { lanes = Array(repeating: Ring(), count: n) }

    var isEmpty: Bool { heap.isEmpty && lanes.allSatisfy { $0.isEmpty } }
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
    }

    /// The earliest event, if any, without removing it.
    func peekTime() -> Nanos? {
        var best: Event? = heap.first
        for l in lanes where !l.isEmpty {
            let h = l.front
            if best == nil || h < best! { best = h }
        }
        return best?.time
    }

    mutating func pop() -> Event? {
        var bestLane = -1
        var best: Event? = heap.first
        for (i, l) in lanes.enumerated() where !l.isEmpty {
            let h = l.front
            if best == nil || h < best! {
                best = h
                bestLane = i
            }
        }
        guard let e = best else { return nil }
        processed += 1
        if bestLane >= 0 {
            _ = lanes[bestLane].pop()
        } else {
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
        }
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
