// twlab-inspect-bench: `twlab inspect` against the seeds' `ss` pipeline on 256k TIME-WAITs.
//
// Usage (root): swift run -c release twlab-inspect-bench [--sockets N] [--runs R]
//
// Creates the namespace twlab-<pid>-insp-bench, widens ip_local_port_range (1024-65535) and
// raises tcp_max_tw_buckets inside it (never the host's), puts one source and 16 destination
// addresses on its lo (10.210.x, so the 4-tuples suffice: 16 x 64512 ports), and makes N client
// TIME-WAITs (default 262144) with batches of nonblocking connects to a listener of the same
// namespace, each closed client-first. Then, R times and alternating which goes first, it times
// in the same namespace:
//   - twlab inspect --json, in process: the sock_diag dump, /proc counters and sysctls, the
//     analysis and the JSON text;
//   - ss -ant | awk '{print $1}' | sort | uniq -c, run by sh from a thread inside the namespace;
//   - one exporter scrape (the Prometheus text of the same namespace).
// It prints the medians and the ratio, checks that both count the same TIME-WAITs, and removes
// the namespace on exit, on Ctrl-C and on SIGTERM (a killed run's namespace goes at the next run).
// Exit 0 when the counts agree, 1 when they do not, 2 when it cannot run here.

import CNetlink
import Exporter
import Foundation
import HostInspect
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

@main
enum Bench {
    static func main() async {
        // MARK: - Arguments

        var sockets = 262_144
        var runs = 3
        do {
            var args = CommandLine.arguments.dropFirst()
            while let a = args.popFirst() {
                switch a {
                case "--sockets":
                    guard let v = args.popFirst(), let n = Int(v), n >= 1, n <= 500_000 else {
                        fail(2, "--sockets needs a number from 1 to 500000")
                    }
                    sockets = n
                case "--runs":
                    guard let v = args.popFirst(), let n = Int(v), n >= 1 else {
                        fail(2, "--runs needs a positive integer")
                    }
                    runs = n
                case "-h", "--help":
                    print(
                        "usage: twlab-inspect-bench [--sockets N] [--runs R]   (default 262144 sockets, 3 runs)"
                    )
                    exit(0)
                default:
                    fail(2, "unknown argument '\(a)'")
                }
            }
        }

        if let reason = TestNamespace.unavailableReason { fail(2, "cannot run: \(reason)") }

        // MARK: - The namespace, removed however the run ends

        // More descriptors than the batches need, whatever the shell's soft limit.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

        let source = "10.210.1.1"
        // 16 destinations: 16384 TIME-WAITs each stay within the first parity's 32256 ports of the range.
        // Past that, every connect() to the destination walks the whole full half before trying the
        // other parity (EP-3, MEM-4): 8 destinations took 12 s for the first 229k and 49 s for the
        // last 32k.
        let destinations = (1...16).map { "10.210.0.\($0)" }
        let setupStart = now()
        let namespace: TestNamespace
        do {
            namespace = try TestNamespace(
                tag: "bench", addresses: [source] + destinations,
                sysctls: [
                    ("net.ipv4.ip_local_port_range", "1024 65535"),
                    ("net.ipv4.tcp_max_tw_buckets", String(max(sockets + sockets / 4, 131072))),
                    ("net.core.somaxconn", "4096"),
                ])
        } catch {
            fail(2, "cannot create the namespace: \(error)")
        }

        // Ctrl-C and SIGTERM: a thread waits for them (they are blocked everywhere else) and removes
        // the namespace before exiting.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&stopSignals, s) }
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        let signalSet = stopSignals
        Thread.detachNewThread {
            var set = signalSet
            var received: Int32 = 0
            sigwait(&set, &received)
            namespace.remove()
            fail(128 + received, "interrupted; namespace \(namespace.name) removed")
        }

        func finish(_ code: Int32) -> Never {
            namespace.remove()
            exit(code)
        }

        // MARK: - Setup: N TIME-WAITs

        print(
            "namespace \(namespace.name): making \(sockets) TIME-WAITs from \(source) to \(destinations.count) addresses:80"
        )
        let made: Int
        do {
            let listener = try namespace.listen("0.0.0.0", 80, backlog: 4096)
            let targets = destinations.map { (address: $0, port: 80) }
            let count = sockets
            made = try namespace.run {
                let start = now()
                return try TimeWaitFactory.make(count, from: source, to: targets, listener: listener) {
                    made in
                    print("  \(made) after \(String(format: "%.1f", now() - start)) s")
                }
            }
        } catch {
            print("setup failed: \(error)")
            finish(1)
        }
        let setupSeconds = now() - setupStart
        print(
            "setup: \(made) TIME-WAITs in \(String(format: "%.1f", setupSeconds)) s "
                + "(\(Int(Double(made) / setupSeconds)) connections/s, namespace and sysctls included)")
        guard made == sockets else {
            print("connect() ran out of ports after \(made)")
            finish(1)
        }
        if setupSeconds > 45 {
            print(
                "note: setup took over 45 s; the first TIME-WAITs expire at 60 s, so counts may fall during the run"
            )
        }

        // MARK: - The two contenders

        /// `twlab inspect --json` in process: returns the TIME-WAIT count it saw.
        func runInspect() throws -> (seconds: Double, timeWait: Int, json: Int) {
            let start = now()
            let inspection = try Inspector.inspect(netns: namespace.name, interval: 0, top: 20)
            let json = inspection.jsonText()
            return (now() - start, inspection.states["TIME-WAIT"] ?? 0, json.utf8.count)
        }

        /// The seeds' pipeline, run by /bin/sh spawned from a thread inside the namespace (a child
        /// inherits the spawning thread's namespaces); returns the TIME-WAIT count it printed.
        func runPipeline() throws -> (seconds: Double, timeWait: Int) {
            let command = "ss -ant | awk '{print $1}' | sort | uniq -c"
            let output = try namespace.run { () throws -> String in
                var pipeFDs: [Int32] = [0, 0]
                guard pipe(&pipeFDs) == 0 else { throw TestNamespaceError("pipe failed") }
                var actions = posix_spawn_file_actions_t()
                posix_spawn_file_actions_init(&actions)
                defer { posix_spawn_file_actions_destroy(&actions) }
                posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
                posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
                var attributes = posix_spawnattr_t()
                posix_spawnattr_init(&attributes)
                defer { posix_spawnattr_destroy(&attributes) }
                var none = sigset_t()
                sigemptyset(&none)
                posix_spawnattr_setsigmask(&attributes, &none)
                posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
                let words: [String] = ["/bin/sh", "-c", command]
                let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
                defer { for p in argv { free(p) } }
                var pid: pid_t = 0
                let status = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
                close(pipeFDs[1])
                guard status == 0 else {
                    close(pipeFDs[0])
                    throw TestNamespaceError("cannot start sh: \(String(cString: strerror(status)))")
                }
                var bytes: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = read(pipeFDs[0], &buffer, buffer.count)
                    if n > 0 {
                        bytes += buffer[0..<n]
                    } else if n == 0 || errno != EINTR {
                        break
                    }
                }
                close(pipeFDs[0])
                var exitStatus: Int32 = 0
                while waitpid(pid, &exitStatus, 0) < 0 && errno == EINTR {}
                return String(decoding: bytes, as: UTF8.self)
            }
            return (
                0,
                output.split(separator: "\n").compactMap { line -> Int? in
                    let fields = line.split(separator: " ")
                    return fields.count == 2 && fields[1] == "TIME-WAIT" ? Int(fields[0]) : nil
                }.first ?? 0
            )
        }

        func timedPipeline() throws -> (seconds: Double, timeWait: Int) {
            let start = now()
            let result = try runPipeline()
            return (now() - start, result.timeWait)
        }

        // MARK: - Runs

        var inspectTimes: [Double] = []
        var pipelineTimes: [Double] = []
        var scrapeTimes: [Double] = []
        var agree = true
        do {
            // One untimed round first: page cache, code paths, the shell.
            _ = try runInspect()
            _ = try timedPipeline()
            for run in 1...runs {
                var inspect: (seconds: Double, timeWait: Int, json: Int)
                var pipeline: (seconds: Double, timeWait: Int)
                if run % 2 == 1 {
                    inspect = try runInspect()
                    pipeline = try timedPipeline()
                } else {
                    pipeline = try timedPipeline()
                    inspect = try runInspect()
                }
                let exporter = MetricsExporter(selection: .named([namespace.name]), top: 10)
                let scrapeStart = now()
                let text = await exporter.scrape()
                let scrape = now() - scrapeStart
                inspectTimes.append(inspect.seconds)
                pipelineTimes.append(pipeline.seconds)
                scrapeTimes.append(scrape)
                // TIME-WAITs only expire (none are made now), so the two counts may differ by the few
                // that expired between the two measurements, never by more than that.
                let same = abs(inspect.timeWait - pipeline.timeWait) <= max(made / 1000, 1)
                if !same || inspect.timeWait < made * 9 / 10 { agree = false }
                print(
                    "run \(run): twlab inspect --json \(ms(inspect.seconds)) (\(inspect.timeWait) TIME-WAIT, "
                        + "\(inspect.json) bytes of JSON); ss | awk | sort | uniq -c \(ms(pipeline.seconds)) "
                        + "(\(pipeline.timeWait) TIME-WAIT); exporter scrape \(ms(scrape)) (\(text.utf8.count) bytes)"
                )
            }
        } catch {
            print("a run failed: \(error)")
            finish(1)
        }

        // MARK: - Where twlab's time goes (one more run, phase by phase)

        do {
            let rawStart = now()
            let rawCount = try NetworkNamespace.run(in: namespace.name) { () throws(InspectError) -> Int in
                var list = cnl_tcp_list()
                defer { cnl_tcp_list_free(&list) }
                _ = cnl_dump_tcp(Int32(CNL_DUMP_IPV4 | CNL_DUMP_IPV6), &list, nil)
                return list.count
            }
            let rawSeconds = now() - rawStart
            let dumpStart = now()
            _ = try NetworkNamespace.run(in: namespace.name) { () throws(InspectError) -> Int in
                try SocketDiag.dumpTCP(from: .netlink).count
            }
            let dumpSeconds = now() - dumpStart
            let t0 = now()
            let sample = try Inspector.sample(netns: namespace.name)
            let t1 = now()
            let inspection = Inspection(sample: sample, netns: namespace.name, top: 20)
            let t2 = now()
            _ = inspection.jsonText()
            let t3 = now()
            print(
                "twlab phases: sock_diag dump of \(rawCount) rows in C \(ms(rawSeconds)), as Swift values "
                    + "\(ms(dumpSeconds)); whole sample with counters and sysctls \(ms(t1 - t0)); "
                    + "analysis \(ms(t2 - t1)), JSON \(ms(t3 - t2)); \(inspection.destinationsTotal) destinations, "
                    + "riskiest at pressure \(String(format: "%.3f", inspection.destinations.first?.pressure ?? 0))"
            )
        } catch {
            print("phase run failed: \(error)")
        }

        let inspectMedian = median(inspectTimes)
        let pipelineMedian = median(pipelineTimes)
        print(
            "median over \(runs) runs at \(made) TIME-WAITs: twlab inspect \(ms(inspectMedian)), "
                + "ss pipeline \(ms(pipelineMedian)), exporter scrape \(ms(median(scrapeTimes)))")
        print(
            "ratio (ss pipeline / twlab inspect): \(String(format: "%.2f", pipelineMedian / inspectMedian))x")
        if !agree { print("FAILED: twlab and ss disagree on the TIME-WAIT count") }
        finish(agree ? 0 : 1)

    }
}

func fail(_ code: Int32, _ message: String) -> Never {
    FileHandle.standardError.write(Data("twlab-inspect-bench: \(message)\n".utf8))
    exit(code)
}

func now() -> Double { HostSample.monotonicSeconds() }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func ms(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }
