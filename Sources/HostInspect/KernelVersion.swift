/// A kernel release as `uname -r` prints it (`/proc/sys/kernel/osrelease`), e.g. `6.18.44-fc-v657`.
///
/// Inspection needs it because the port allocator changed: connect() scans one parity, then the
/// other, since 4.6 (kernel-spec EP-1, EP-3), and the whole range one port at a time before.
public struct KernelVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// The leading `MAJOR.MINOR[.PATCH]` of a release string; nil when it has none.
    public init?(release: String) {
        var numbers: [Int] = []
        var current: Int?
        for character in release {
            if let digit = character.wholeNumberValue, character.isASCII {
                current = (current ?? 0) * 10 + digit
                if current! > 1_000_000 { return nil }
            } else if character == ".", let value = current, numbers.count < 2 {
                numbers.append(value)
                current = nil
            } else {
                break
            }
        }
        if let value = current { numbers.append(value) }
        guard numbers.count >= 2 else { return nil }
        self.init(numbers[0], numbers[1], numbers.count > 2 ? numbers[2] : 0)
    }

    /// `"6.18.44"`.
    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (a: KernelVersion, b: KernelVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    /// The release of the running kernel (`/proc/sys/kernel/osrelease`), e.g. `6.18.44-fc-v657`.
    public static func runningRelease() -> String? {
        guard let text = try? ProcFile.readFile("/proc/sys/kernel/osrelease") else { return nil }
        return Sysctls.normalize(text)
    }
}
