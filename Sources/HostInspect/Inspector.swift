#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `twlab inspect`: samples a namespace once, or twice an interval apart, and builds the
/// ``Inspection``.
public enum Inspector {
    /// One ``HostSample`` of `netns` (nil: the caller's namespace), read on a thread inside it.
    /// `host`: the host-wide part when the caller reads several namespaces (nil: read it here).
    public static func sample(netns: String?, host: HostWide? = nil) throws(InspectError) -> HostSample {
        let host = host ?? .read()
        return try NetworkNamespace.run(in: netns) { () throws(InspectError) -> HostSample in
            try HostSample.read(host: host)
        }
    }

    /// Two samples `interval` seconds apart (one when `interval` is 0), both on one thread inside
    /// `netns`, and the inspection built from them.
    ///
    /// - Parameter top: how many destinations to keep (nil: all).
    public static func inspect(netns: String?, interval: Double = 0, top: Int? = 20) throws(InspectError)
        -> Inspection
    {
        let (sample, previous) = try samples(netns: netns, interval: interval)
        return Inspection(sample: sample, previous: previous, netns: netns, top: top)
    }

    /// The last sample and, when `interval` > 0, the one taken `interval` seconds before it,
    /// both on one thread inside `netns` (`withTCPInfo`: see ``HostSample/read(withTCPInfo:host:)``),
    /// sharing one reading of the host-wide part (``HostWide``).
    public static func samples(netns: String?, interval: Double, withTCPInfo: Bool = false)
        throws(InspectError)
        -> (sample: HostSample, previous: HostSample?)
    {
        let host = HostWide.read()
        let samples = try NetworkNamespace.run(in: netns) { () throws(InspectError) -> [HostSample] in
            let first = try HostSample.read(withTCPInfo: withTCPInfo, host: host)
            guard interval > 0 else { return [first] }
            pause(seconds: interval)
            return [first, try HostSample.read(withTCPInfo: withTCPInfo, host: host)]
        }
        return (samples[samples.count - 1], samples.count > 1 ? samples[0] : nil)
    }

    /// The longest `--interval` accepted: new connections are told by 4-tuples the first sample
    /// did not have, and a closed one stays visible as TIME-WAIT for 60 s only (TW-3), so a
    /// longer interval would miss some and understate the rate.
    public static let maxInterval = 60.0

    /// Parses an `--interval` value into seconds: `0` (one sample), a number of seconds (`5`,
    /// `1.5`), or a number with a unit: `ms`, `s`, `m` (`500ms`, `5s`, `1m`). The error is a
    /// message without the option's name.
    public static func parseInterval(_ text: String) -> Result<Double, InspectError> {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        var number = Substring(text)
        var scale = 1.0
        if let unit = units.first(where: { text.hasSuffix($0.suffix) }) {
            number = number.dropLast(unit.suffix.count)
            scale = unit.seconds
        }
        let digitsAndPoint = number.allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "." }
        guard !number.isEmpty, digitsAndPoint, number.filter({ $0 == "." }).count <= 1,
            number.first != ".", number.last != ".", let value = Double(number)
        else {
            return .failure(
                InspectError("'\(text)' is not a duration (e.g. 5s, 500ms, 1m, or 0 for one sample)"))
        }
        let seconds = value * scale
        guard seconds <= maxInterval else {
            return .failure(
                InspectError(
                    "'\(text)' is too long (at most \(Int(maxInterval)) s: a closed connection is seen as TIME-WAIT for 60 s only)"
                ))
        }
        return .success(seconds)
    }

    /// Sleeps `seconds`, resuming after signals (nanosleep with the remainder).
    static func pause(seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
