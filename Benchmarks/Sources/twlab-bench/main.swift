// twlab-bench: wall-time benchmark of the simulator on an open-loop `rate` workload.
//
// Usage: swift run -c release twlab-bench [--runs N]
//
// Exit status 0 when every check holds and the best wall time of the 2,000/s case is under
// 2 s; 1 otherwise (a benchmark that silently measures a broken run is worthless).

import Results
import Scenario
import Simulation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: - Arguments

var runs = 3
do {
    var args = CommandLine.arguments.dropFirst()
    while let a = args.popFirst() {
        switch a {
        case "--runs":
            guard let v = args.popFirst(), let n = Int(v), n >= 1 else {
                usage("--runs needs a positive integer")
            }
            runs = n
        case "-h", "--help":
            print("usage: twlab-bench [--runs N]   (default 3 runs per case)")
            exit(0)
        default:
            usage("unknown argument '\(a)'")
        }
    }
}

func usage(_ message: String) -> Never {
    var text = "twlab-bench: \(message)\nusage: twlab-bench [--runs N]\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

// MARK: - Formatting (no Foundation)

/// `x` with exactly `digits` decimals, rounded half away from zero.
func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    let whole = Int(scaled / scale)
    let frac = Int(scaled - Double(whole) * scale)
    var s = (x < 0 && scaled > 0 ? "-" : "") + grouped(whole)
    if digits > 0 {
        let f = String(frac)
        s += "." + String(repeating: "0", count: digits - f.count) + f
    }
    return s
}

/// An integer with thousands separators: 1200000 -> "1,200,000".
func grouped(_ n: Int) -> String {
    let digits = Array(String(n.magnitude))
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

/// A rate in millions or thousands: "12.34 M", "567.8 k".
func perSecond(_ x: Double) -> String {
    x >= 1e6 ? fixed(x / 1e6, 2) + " M/s" : fixed(x / 1e3, 1) + " k/s"
}

func seconds(_ d: Duration) -> Double {
    let c = d.components
    return Double(c.seconds) + Double(c.attoseconds) / 1e18
}

func padded(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

// MARK: - Peak memory

/// VmHWM from /proc/self/status ("123456 kB"), nil where there is no procfs.
func peakResident() -> String? {
    guard let f = fopen("/proc/self/status", "r") else { return nil }
    defer { fclose(f) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var cap = 0
    defer { free(line) }
    while getline(&line, &cap, f) > 0 {
        let s = String(cString: line!)
        if s.hasPrefix("VmHWM:") {
            return s.dropFirst("VmHWM:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" })
                .split(separator: "\n").first.map(String.init)
        }
    }
    return nil
}

// MARK: - The cases

struct Case {
    var name: String
    var rate: Int
    var durationSeconds: Int
    /// Outcome keys every attempt must end as.
    var allowed: [String]
    var expectedAttempts: Int { rate * durationSeconds }

    var yaml: String {
        """
        twlab: 1
        name: \(name)
        description: open-loop \(rate) new connections/s for \(durationSeconds) s against the default 28232-port range
        kernel: "6.18"
        seed: 1
        hosts:
          client: { address: 10.0.0.1 }
          server:
            address: 10.0.0.2
            listen: [ { port: 80 } ]
        workloads:
          - name: load
            from: client
            to: server:80
            kind: rate
            rate: \(rate)/s
            duration: \(durationSeconds)s
        """
    }
}

var failures: [String] = []

@MainActor func check(_ ok: Bool, _ what: String) {
    print("  check: \(what): \(ok ? "ok" : "FAILED")")
    if !ok { failures.append(what) }
}

/// Runs `c` `runs` times and prints one line per run; returns the wall times.
@MainActor func bench(_ c: Case) -> [Double] {
    let scenario: Scenario
    do {
        scenario = try ScenarioLoader.parse(c.yaml, file: c.name)
    } catch {
        print("FAIL: \(c.name): the scenario does not load: \(error)")
        exit(1)
    }
    print(
        "\(c.name): rate \(grouped(c.rate))/s for \(c.durationSeconds) s simulated, "
            + "default ip_local_port_range (32768-60999, 28,232 ports)")
    let engine = SimulatorEngine()
    let clock = ContinuousClock()
    var walls: [Double] = []
    var first: (RunResult, Int)? = nil
    for i in 1...runs {
        let start = clock.now
        let outcome: (RunResult, events: Int)
        do {
            outcome = try engine.runMeasured(scenario)
        } catch {
            print("FAIL: \(c.name) run \(i): the simulator stopped: \(error)")
            exit(1)
        }
        let wall = seconds(clock.now - start)
        walls.append(wall)
        let (result, events) = outcome
        guard let w = result.workload("load") else {
            print("FAIL: \(c.name) run \(i): no result for workload 'load'")
            exit(1)
        }
        let outcomes = w.outcomes.map { "\($0.key) \(grouped($0.count))" }.joined(separator: ", ")
        print(
            "  run \(i): wall \(fixed(wall, 3)) s, simulated \(c.durationSeconds) s, attempts \(grouped(w.attempts)) (\(outcomes)), "
                + "events \(grouped(events)); \(perSecond(Double(w.attempts) / wall)) attempts, "
                + "\(perSecond(Double(events) / wall)) events, \(grouped(Int((Double(c.durationSeconds) / wall).rounded())))x simulated/wall"
        )
        if let (r0, e0) = first {
            if r0 != result || e0 != events {
                failures.append("\(c.name) run \(i) differs from run 1 (not deterministic)")
            }
        } else {
            first = (result, events)
        }
    }
    if let (r, _) = first, let w = r.workload("load") {
        let ports = w.localPorts
        print(
            "  local ports used: \(grouped(ports.count))"
                + (ports.isEmpty ? "" : " (\(ports.first!)-\(ports.last!))"))
        check(
            w.attempts == c.expectedAttempts,
            "attempts \(grouped(w.attempts)) == \(grouped(c.expectedAttempts))")
        let sum = c.allowed.reduce(0) { $0 + w.count($1) }
        check(
            sum == w.attempts,
            "\(c.allowed.joined(separator: " + ")) = \(grouped(sum)) == attempts \(grouped(w.attempts))")
    }
    if runs > 1 {
        check(
            !failures.contains { $0.hasPrefix("\(c.name) run") },
            "identical result and event count in every run")
    }
    let sorted = walls.sorted()
    let median =
        sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    print(
        "  wall time: best \(fixed(sorted[0], 3)) s, median \(fixed(median, 3)) s over \(runs) run\(runs == 1 ? "" : "s")"
    )
    return walls
}

// MARK: - Main

print(
    "twlab-bench: \(runs) run\(runs == 1 ? "" : "s") per case, SimulatorEngine().runMeasured, wall time by ContinuousClock"
)
#if DEBUG
    print("warning: this is a debug build; the figures mean nothing (use swift run -c release twlab-bench)")
#endif
print("")

let main = Case(
    name: "rate-2000-default-range", rate: 2000, durationSeconds: 600, allowed: ["404", "EADDRNOTAVAIL"])
let mainWalls = bench(main)
let best = mainWalls.min()!
print("")

let small = Case(name: "rate-200-default-range", rate: 200, durationSeconds: 600, allowed: ["404"])
_ = bench(small)
print("")

print("peak resident memory (VmHWM): \(peakResident() ?? "unknown")")
if !failures.isEmpty {
    for f in failures { print("FAIL: \(f)") }
    exit(1)
}
if best < 2 {
    print("PASS: best wall time \(fixed(best, 3)) s < 2 s (\(main.name))")
} else {
    print("FAIL: best wall time \(fixed(best, 3)) s >= 2 s (\(main.name))")
    exit(1)
}
