import Foundation

/// What kernel-engine tests need to know about this machine, and what they inspect.
public enum KernelLabSupport {
    /// nil when the kernel engine can run here (root, `ip` present); else why not.
    public static let unavailableReason: String? = {
        guard getuid() == 0 else { return "not root: the kernel engine creates network namespaces" }
        guard
            FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
                || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
                || FileManager.default.isExecutableFile(atPath: "/usr/bin/ip")
        else { return "iproute2's ip is not installed" }
        guard Twlab.binary != nil else { return "the twlab executable was not built next to the tests" }
        return nil
    }()

    /// Prints why kernel tests are skipped (once per test), and says whether they can run.
    public static var available: Bool {
        if let r = unavailableReason { print("skipping kernel-engine test: \(r)") }
        return unavailableReason == nil
    }

    /// Network namespaces named twlab-*, except this test process's own fixtures, named
    /// twlab-<test pid>-… (``TestNamespace`` and the in-process `Lab`s of NATGatewayTests),
    /// which other suites may hold meanwhile; each of those tests checks its own removal.
    public static func namespaces() -> [String] {
        let own = "twlab-\(getpid())-"
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).filter {
            $0.hasPrefix("twlab-") && !$0.hasPrefix(own)
        }.sorted()
    }

    /// Processes whose command line is a twlab agent (`twlab lab agent …`).
    public static func agentProcesses() -> [Int32] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return ids.compactMap { Int32($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
                return false
            }
            let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return args.count >= 3 && args[0].hasSuffix("twlab") && args[1] == "lab" && args[2] == "agent"
        }
    }

    /// Every readable value under /proc/sys/net of the calling process's namespace.
    public static func procSysNet() -> [String: String] {
        var out: [String: String] = [:]
        let root = "/proc/sys/net"
        guard let e = FileManager.default.enumerator(atPath: root) else { return out }
        while let rel = e.nextObject() as? String {
            let path = root + "/" + rel
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                let fh = FileHandle(forReadingAtPath: path)
            else { continue }
            if let d = try? fh.readToEnd() { out[rel] = String(decoding: d, as: UTF8.self) }
            try? fh.close()
        }
        return out
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    public static func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// Starts the twlab binary in the background.
    public static func start(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = Twlab.binary
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }
}
