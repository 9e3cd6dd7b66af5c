#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads files under `/proc/thread-self` (the calling thread's network namespace, the same one a
/// netlink socket opened on this thread talks to), falling back to `/proc/self` on kernels
/// before 3.17.
enum ProcFile {
    /// The whole text of `/proc/thread-self/<relativePath>`, e.g. `"net/tcp"`.
    static func read(_ relativePath: String) throws(InspectError) -> String {
        var firstError: InspectError?
        for root in ["/proc/thread-self/", "/proc/self/"] {
            do {
                return try readFile(root + relativePath)
            } catch {
                if firstError == nil { firstError = error }
                // ENOENT on /proc/thread-self itself means an old kernel: try /proc/self.
                guard error.code == ENOENT else { break }
            }
        }
        throw firstError!
    }

    /// Like `read`, but nil when the file does not exist.
    static func readIfPresent(_ relativePath: String) throws(InspectError) -> String? {
        do throws(InspectError) {
            return try read(relativePath)
        } catch {
            if error.code == ENOENT { return nil }
            throw error
        }
    }

    /// Reads a whole file with `read(2)` (proc files report size 0, so no `stat`), retrying `EINTR`.
    static func readFile(_ path: String) throws(InspectError) -> String {
        var fd: Int32
        repeat {
            fd = open(path, O_RDONLY | O_CLOEXEC)
        } while fd < 0 && errno == EINTR
        if fd < 0 { throw .errno("open \(path)", errno) }
        defer { close(fd) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .errno("read \(path)", errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// `read(2)`, at file scope so `ProcFile.read` does not shadow it.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
