import Glibc

/// Writes a report file. A path that cannot be written is bad input (one line, exit 2), found
/// before any work is done; the page appears whole or not at all.
enum HTMLFile {
    /// Fails, before a run starts, when `path` cannot be written: its folder is missing or not
    /// writable, or the path is a folder.
    static func checkWritable(_ path: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            if st.st_mode & S_IFMT == S_IFDIR { throw bad(path, EISDIR) }
            if access(path, W_OK) != 0 { throw bad(path, errno) }
            return
        }
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let dir = folder.isEmpty ? "/" : folder
        guard stat(dir, &st) == 0 else { throw bad(path, errno) }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw bad(path, ENOTDIR) }
        guard access(dir, W_OK) == 0 else { throw bad(path, errno) }
    }

    /// Writes `text` to a temporary file next to `path` and renames it over `path`, so a
    /// failed write never leaves a truncated page.
    static func write(_ text: String, to path: String) throws {
        let temporary = path + ".twlab-\(getpid()).tmp"
        guard let f = fopen(temporary, "w") else { throw bad(path, errno) }
        let bytes = Array(text.utf8)
        let written = fwrite(bytes, 1, bytes.count, f) == bytes.count
        let e = errno
        guard fclose(f) == 0, written else {
            unlink(temporary)
            throw bad(path, written ? errno : e)
        }
        guard rename(temporary, path) == 0 else {
            let e = errno
            unlink(temporary)
            throw bad(path, e)
        }
    }

    private static func bad(_ path: String, _ code: Int32) -> CommandFailure {
        CommandFailure.bad("--html \(path): \(String(cString: strerror(code)))")
    }
}
