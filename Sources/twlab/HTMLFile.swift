import Glibc

/// Writes a report file; a failure is bad input (the path), one line, exit 2.
enum HTMLFile {
    static func write(_ text: String, to path: String) throws {
        guard let f = fopen(path, "w") else {
            throw CommandFailure.bad("--html \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        let bytes = Array(text.utf8)
        guard fwrite(bytes, 1, bytes.count, f) == bytes.count else {
            throw CommandFailure.bad("--html \(path): \(String(cString: strerror(errno)))")
        }
    }
}
