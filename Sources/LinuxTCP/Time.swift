/// Simulated time in integer nanoseconds since the start of a run.
///
/// The model never reads a clock: every time it sees is passed in by the engine.
public typealias Nanos = Int64

extension Nanos {
    public static let nanosPerMicro: Int64 = 1_000
    public static let nanosPerMilli: Int64 = 1_000_000
    public static let nanosPerSecond: Int64 = 1_000_000_000

    @inlinable public static func ms(_ v: Int64) -> Nanos { v * nanosPerMilli }
    @inlinable public static func seconds(_ v: Int64) -> Nanos { v * nanosPerSecond }
    @inlinable public static func seconds(_ v: Double) -> Nanos { Nanos((v * 1e9).rounded()) }

    /// This time in seconds, for reports.
    @inlinable public var secondsValue: Double { Double(self) / 1e9 }
    /// This time in milliseconds, for reports.
    @inlinable public var millisValue: Double { Double(self) / 1e6 }
}
