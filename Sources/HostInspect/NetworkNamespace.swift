import CNetlink

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Named network namespaces (`ip netns add NAME` makes `/run/netns/NAME`) and running code in one.
///
/// setns(2) with `CLONE_NEWNET` moves only the calling thread, so ``run(in:_:)`` starts a fresh
/// POSIX thread, moves it, runs the body there and lets the thread end: the caller's thread (and
/// every Swift-concurrency thread) stays where it was. What the body opens (netlink sockets, TCP
/// sockets) belongs to the namespace for good, and `/proc/thread-self/net/...` and
/// `/proc/sys/net/...` show that namespace's tables and sysctls while the body runs.
public enum NetworkNamespace {
    /// The directory `ip netns` keeps its namespace files in.
    public static let directory = "/run/netns"

    /// `/run/netns/NAME`.
    public static func path(of name: String) -> String { directory + "/" + name }

    /// Whether `name` is a plain file name (no `/`, not `.` or `..`, not empty): anything else could
    /// point outside `/run/netns`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }

    /// The names under `/run/netns`, sorted; empty when the directory does not exist.
    public static func names() -> [String] {
        guard let directory = opendir(directory) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Runs `body` on a new thread that has entered the namespace `name` (nil: on the calling
    /// thread, in its own namespace), and returns what it returns.
    ///
    /// Errors name the namespace: "network namespace 'x' does not exist (no /run/netns/x)" for
    /// ENOENT, and the errno text otherwise (EPERM: entering a namespace needs CAP_SYS_ADMIN).
    public static func run<T: Sendable>(
        in name: String?, _ body: @escaping @Sendable () throws(InspectError) -> T
    ) throws(InspectError) -> T {
        guard let name else { return try body() }
        guard isValidName(name) else {
            throw InspectError("'\(name)' is not a network namespace name (a file name under \(directory))")
        }
        let path = path(of: name)
        let outcome = OnThread.run { () -> Result<T, InspectError> in
            var step: UnsafePointer<CChar>?
            let status = cnl_enter_netns(path, &step)
            if status < 0 {
                let code = -status
                if code == ENOENT {
                    return .failure(
                        InspectError("network namespace '\(name)' does not exist (no \(path))", code: code))
                }
                let what = step.map { String(cString: $0) } ?? "setns"
                var error = InspectError.errno(
                    "cannot enter network namespace '\(name)' (\(what) \(path))", code)
                if code == EPERM { error.message += "; entering a namespace needs root (CAP_SYS_ADMIN)" }
                return .failure(error)
            }
            do throws(InspectError) {
                return .success(try body())
            } catch {
                return .failure(error)
            }
        }
        guard let outcome else { throw InspectError("cannot start a thread to enter namespace '\(name)'") }
        return try outcome.get()
    }
}

/// Runs a closure on a new POSIX thread and waits for it (not a Swift-concurrency thread: a
/// thread moved by setns must not go back to a shared pool).
enum OnThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// nil when the thread could not be created.
    static func run<T>(_ body: @escaping () -> T) -> T? {
        var result: T?
        let raw = Unmanaged.passRetained(Body { result = body() }).toOpaque()
        defer { Unmanaged<Body>.fromOpaque(raw).release() }
        #if canImport(Darwin)
            var thread: pthread_t?
        #else
            var thread = pthread_t()
        #endif
        let status = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Body>.fromOpaque(raw!).takeUnretainedValue().run()
                return nil
            }, raw)
        guard status == 0 else { return nil }
        #if canImport(Darwin)
            pthread_join(thread!, nil)
        #else
            pthread_join(thread, nil)
        #endif
        return result
    }
}
