#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failure to read the host: a syscall, a `/proc` file, or a netlink reply.
public struct InspectError: Error, Sendable, CustomStringConvertible {
    /// What failed, in words, with the errno text when there is one.
    public var message: String
    /// The errno behind the failure, if it came from a syscall or the kernel.
    public var code: Int32?

    public init(_ message: String, code: Int32? = nil) {
        self.message = message
        self.code = code
    }

    public var description: String { message }
}

extension InspectError {
    /// `"<what>: <strerror(code)> (errno <code>)"`.
    static func errno(_ what: String, _ code: Int32) -> InspectError {
        InspectError("\(what): \(String(cString: strerror(code))) (errno \(code))", code: code)
    }
}
