import Glibc
import LinuxTCP
import Scenario

/// An unanswered SYN flood with real packets (mirrors the simulator's `SynFlooder`): bare TCP
/// SYNs (20-byte header, no options: what `hping3 -S` sends) on a raw socket, from source ports
/// counting up from a random base, SYN k at k/rate s. The kernel engine has already installed
/// a rule in this namespace that drops inbound SYN-ACKs, so this host's kernel, which has no
/// socket for these flows, never answers them with RST.
struct AgentSynFlood {
    let name: String
    let source: IPv4Address
    let to: Endpoint
    let spec: SynFloodSpec
    let writer: AgentLineWriter
    let stop: AgentStopSignal

    func run() {
        let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_TCP))
        guard fd >= 0 else {
            writer.send(
                .failure(message: "synflood '\(name)': raw socket: \(POSIXErrno.name(errno)) (needs root)"))
            return
        }
        defer { Glibc.close(fd) }
        var dst = POSIXSocket.address(to.address, 0)
        let total = spec.total
        let base = UInt16(1024 + Int(POSIXClock.now() % 60000))
        var seq = UInt32(truncatingIfNeeded: POSIXClock.now() &* 2_654_435_761)
        let start = POSIXClock.now()
        for k in 0..<total {
            let at = start + Nanos((Double(k) * 1e9 / spec.perSecond).rounded())
            if !stop.sleep(until: at) { return }
            seq = seq &* 1_664_525 &+ 1_013_904_223
            var segment = synHeader(sport: base &+ UInt16(truncatingIfNeeded: k), seq: seq)
            let n = withUnsafePointer(to: &dst) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    sendto(fd, &segment, segment.count, 0, sa, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            let outcome = n == segment.count ? "sent" : POSIXErrno.name(errno)
            writer.attempt(name, outcome)
        }
        writer.send(.finished(workload: name))
    }

    /// A 20-byte TCP header with SYN set and its checksum over the IPv4 pseudo-header.
    func synHeader(sport: UInt16, seq: UInt32) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 20)
        func put16(_ v: UInt16, _ at: Int) {
            h[at] = UInt8(v >> 8)
            h[at + 1] = UInt8(v & 0xff)
        }
        put16(sport, 0)
        put16(to.port, 2)
        for i in 0..<4 { h[4 + i] = UInt8(truncatingIfNeeded: seq >> (24 - 8 * UInt32(i))) }
        h[12] = 5 << 4  // data offset: 5 words, no options
        h[13] = 0x02  // SYN
        put16(64240, 14)  // window
        var sum: UInt32 = 0
        for a in [source.value, to.address.value] { sum += (a >> 16) + (a & 0xffff) }
        sum += 6 + 20  // protocol, TCP length
        for i in stride(from: 0, to: 20, by: 2) { sum += UInt32(h[i]) << 8 | UInt32(h[i + 1]) }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        put16(~UInt16(sum), 16)
        return h
    }
}
