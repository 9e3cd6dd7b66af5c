import LinuxTCP
import Scenario

/// An unanswered SYN flood (design.md `synflood`), like `hping3 -S -i u100` with the SYN-ACKs
/// dropped on the flooding host: bare SYNs (no options, hence no timestamps) from source ports
/// counting up from a random base, `perSecond` apart. Each SYN is an attempt with outcome
/// "sent"; what the victim made of them shows in its SYN-RECV count and counters (LQ-4).
final class SynFlooder: Workload, Application {
    let id: UInt32
    let host: Int
    let flood: SynFloodSpec
    private var sent = 0
    private var startTime: Nanos = 0
    private var basePort: UInt16 = 0
    private var rng: SplitMix64

    init(id: UInt32, host: Int, index: Int, spec: WorkloadSpec, flood: SynFloodSpec, seed: UInt64) {
        self.id = id
        self.host = host
        self.flood = flood
        rng = SplitMix64(seed: mix64(seed ^ mix64(UInt64(index) &+ 0x5359_4E46_4C4F_4F44)))
        super.init(index: index, spec: spec)
    }

    /// From its start the flooding host drops inbound SYN-ACKs, so its stack never resets them
    /// (the kernel engine's nftables rule).
    override func start(stack: inout HostStack, io: inout AppIO) {
        stack.dropInboundSynAck = true
        startTime = io.now
        basePort = UInt16(1024 + rng.below(60000))
        if flood.total == 0 { finish(io: &io) } else { io.after(0, app: id, token: 0) }
    }

    func timer(_ t: UInt32, stack: inout HostStack, io: inout AppIO) {
        let seg = Segment(
            src: stack.addresses[0], dst: spec.to.address,
            sport: basePort &+ UInt16(truncatingIfNeeded: sent),
            dport: spec.to.port, flags: [.syn], seq: UInt32(truncatingIfNeeded: rng.next()), ack: 0)
        io.fx.segments.append(seg)
        sent += 1
        recorder.attempts += 1
        recorder.record(Recorder.sent)
        if sent < flood.total {
            io.timers.append((startTime + Nanos((Double(sent) * 1e9 / flood.perSecond).rounded()), id, 0, -1))
        } else {
            finish(io: &io)
        }
    }

    func handle(_ e: AppEvent, stack: inout HostStack, io: inout AppIO) {}
}
