/// An IPv4 address held as its 32-bit value (network order of octets, most significant first).
public struct IPv4Address: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var value: UInt32

    @inlinable public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text ("10.0.0.1"); nil for anything else.
    public init?(_ text: some StringProtocol) {
        var octets: [UInt32] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit),
                let v = UInt32(part), v <= 255
            else { return nil }
            octets.append(v)
        }
        guard octets.count == 4 else { return nil }
        value = octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]
    }

    /// 127.0.0.0/8: what `tcp_tw_reuse=2` counts as loopback (TWR-2).
    @inlinable public var isLoopback: Bool { value >> 24 == 127 }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
}

extension Character {
    @usableFromInline var isASCIIDigit: Bool { isASCII && isNumber }
}
