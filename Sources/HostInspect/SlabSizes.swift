/// Bytes the kernel spends on one timewait socket and one request socket (kernel-spec MEM-1).
///
/// A TIME_WAIT (either substate) is a `tcp_timewait_sock` from the `tw_sock_TCP` cache
/// (`tw_sock_TCPv6` for IPv6); a SYN-RECV request is a `tcp_request_sock` from `request_sock_TCP`
/// (`request_sock_TCPv6`). `/proc/slabinfo` gives each cache's object stride (its `objsize`
/// column is `s->size` in `mm/slab_common.c: cache_show`), but only root can read it; otherwise,
/// or for a cache merged away, the 6.18 x86_64 strides measured for MEM-1 stand in.
public struct SlabSizes: Sendable, Equatable {
    public var timeWait4: Int
    public var timeWait6: Int
    public var request4: Int
    public var request6: Int
    /// `"slabinfo"` when all four came from `/proc/slabinfo`, `"defaults"` when none did,
    /// `"slabinfo+defaults"` in between.
    public var source: String

    public init(timeWait4: Int, timeWait6: Int, request4: Int, request6: Int, source: String) {
        self.timeWait4 = timeWait4
        self.timeWait6 = timeWait6
        self.request4 = request4
        self.request6 = request6
        self.source = source
    }

    /// MEM-1 (6.18, x86_64): `tw_sock_TCP` 256 B and `request_sock_TCP` 320 B per object,
    /// the same for IPv6.
    public static let defaults = SlabSizes(
        timeWait4: 256, timeWait6: 256, request4: 320, request6: 320, source: "defaults")

    /// The four caches' strides from `/proc/slabinfo` text (`name active num objsize ...` rows),
    /// defaults for the ones not listed.
    public static func parse(_ slabinfo: String) -> SlabSizes {
        var found: [String: Int] = [:]
        let wanted: Set<Substring> = [
            "tw_sock_TCP", "tw_sock_TCPv6", "request_sock_TCP", "request_sock_TCPv6",
        ]
        for line in slabinfo.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 4)
            guard fields.count >= 4, wanted.contains(fields[0]), let size = Int(fields[3]), size > 0 else {
                continue
            }
            found[String(fields[0])] = size
        }
        let source = found.count == 4 ? "slabinfo" : found.isEmpty ? "defaults" : "slabinfo+defaults"
        return SlabSizes(
            timeWait4: found["tw_sock_TCP"] ?? defaults.timeWait4,
            timeWait6: found["tw_sock_TCPv6"] ?? defaults.timeWait6,
            request4: found["request_sock_TCP"] ?? defaults.request4,
            request6: found["request_sock_TCPv6"] ?? defaults.request6,
            source: source)
    }

    /// From `/proc/slabinfo` (global, not per namespace) when readable, else ``defaults``.
    public static func read() -> SlabSizes {
        guard let text = try? ProcFile.readFile("/proc/slabinfo") else { return defaults }
        return parse(text)
    }
}
