import Glibc

/// A problem running the real-kernel lab, with a message fit for one error line.
public struct LabError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A child process started by twlab, with pipes to its stdin and from its stdout.
struct ChildProcess {
    var pid: pid_t
    var stdin: Int32
    var stdout: Int32

    /// Starts `arguments` (looked up in PATH) with pipes on stdin and stdout; stderr is merged
    /// into stdout when `mergeStderr`, else inherited.
    static func spawn(_ arguments: [String], mergeStderr: Bool, newProcessGroup: Bool = false)
        throws(LabError)
        -> ChildProcess
    {
        var inPipe: [Int32] = [0, 0]
        var outPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0 else { throw LabError("pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&outPipe) == 0 else {
            let e = errno
            close(inPipe[0])
            close(inPipe[1])
            throw LabError("pipe: \(String(cString: strerror(e)))")
        }
        // Our ends must not leak into other children (dup2 into 0/1/2 clears the flag there).
        for fd in inPipe + outPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        if mergeStderr { posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2) }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Default dispositions and an empty mask in the child, whatever twlab inherited.
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int16(POSIX_SPAWN_SETPGROUP)
        }
        posix_spawnattr_setflags(&attributes, flags)
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, environ)
        close(inPipe[0])
        close(outPipe[1])
        guard rc == 0 else {
            close(inPipe[1])
            close(outPipe[0])
            throw LabError("cannot start \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        return ChildProcess(pid: pid, stdin: inPipe[1], stdout: outPipe[0])
    }

    /// Waits for the child and returns its exit status (128 + signal when killed).
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Waits up to `seconds`; nil if the child is still running.
    func wait(seconds: Double) -> Int32? {
        let deadline = Clock.now + seconds
        while Clock.now < deadline {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            if r < 0 && errno != EINTR { return -1 }
            usleep(10_000)
        }
        return nil
    }
}

/// Runs a command to completion, returning its status and combined output.
@discardableResult
func run(_ arguments: [String]) throws(LabError) -> (status: Int32, output: String) {
    let child = try ChildProcess.spawn(arguments, mergeStderr: true)
    close(child.stdin)
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(child.stdout, &buf, buf.count)
        if n > 0 { bytes.append(contentsOf: buf[0..<n]) } else if n == 0 || errno != EINTR { break }
    }
    close(child.stdout)
    return (child.wait(), String(decoding: bytes, as: UTF8.self))
}

/// Runs a command that must succeed.
func must(_ arguments: [String]) throws(LabError) {
    let r = try run(arguments)
    guard r.status == 0 else {
        let out = r.output.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        throw LabError("'\(arguments.joined(separator: " "))' failed: \(out)")
    }
}

/// Monotonic seconds.
enum Clock {
    static var now: Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
