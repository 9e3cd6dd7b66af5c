/// SplitMix64: the model's only source of randomness, seeded from the scenario's seed.
///
/// Each host owns one, so a host's draws do not depend on what other hosts did.
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    @inlinable public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix64(state)
    }

    /// Uniform in 0..<bound (bound > 0), like the kernel's `get_random_u32_below`.
    @inlinable public mutating func below(_ bound: UInt32) -> UInt32 {
        UInt32(((next() >> 32) &* UInt64(bound)) >> 32)
    }

    /// Uniform in [0, 1).
    @inlinable public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

/// The SplitMix64 finaliser: a fast, well-mixed 64-bit hash step. Stands in for the kernel's
/// keyed siphash (`secure_seq.c`): what matters to the model is that outputs look random and
/// that equal inputs give equal outputs.
@inlinable public func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A keyed hash of up to three 64-bit words.
@inlinable public func keyedHash(_ key: UInt64, _ a: UInt64, _ b: UInt64 = 0, _ c: UInt64 = 0) -> UInt64 {
    mix64(mix64(mix64(key ^ a) ^ b) &+ c)
}
