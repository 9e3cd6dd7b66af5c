import Foundation
import Scenario
import TestSupport
import Testing

/// The `twlab` executable, run as a user would: exit codes and the one stderr line.
///
/// `swift test` builds every product, so the binary sits next to the test bundle; when it does
/// not (a filtered build), these tests are skipped and say why.
@Suite(
    "twlab command line",
    .enabled(if: Twlab.binary != nil, "the twlab executable was not built next to the tests"))
struct CommandLineTests {
    @Test func unknownScenarioName() throws {
        let r = try Twlab.run("run", "no-such-scenario-name")
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderrLines.count == 1)
        #expect(r.stderr.hasPrefix("twlab: no-such-scenario-name: "))
    }

    @Test func badSet() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("twlab-cli-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("s.yaml")
        try "twlab: 1\nname: s\n".write(to: file, atomically: true, encoding: .utf8)

        let r = try Twlab.run("run", file.path, "--set", "no-equals-sign")
        #expect(r.status == 2)
        #expect(r.stderrLines.count == 1)
        #expect(r.stderr.hasPrefix("twlab: --set: "))
    }

    /// Without root the kernel engine refuses in one line (as root: run as nobody via setpriv).
    @Test func kernelEngineWithoutRoot() throws {
        let args = ["run", "seed000-b-http11-reuse1-burst", "--engine", "kernel"]
        let r: Twlab.Result
        if getuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), let bin = Twlab.binary
            else {
                print("skipping: no setpriv to drop root")
                return
            }
            r = try Twlab.runProgram(
                "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", bin.path] + args)
        } else {
            r = try Twlab.run(args)
        }
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(
            r.stderrLines == [
                "twlab: the kernel engine needs root: it creates network namespaces (run it with sudo); the simulator needs nothing"
            ])
    }

    /// `--kernel all`: one row per profile; seed 000's 22 server TIME-WAITs up to 4.4 (EP-4's
    /// all-parity hint), 10 from 4.9 on; TcpExtTW 0 on the death-row kernels (counted at reap);
    /// one TS offset per client up to 6.12 (none, then per host pair), one per port on 6.18.
    @Test func kernelAllTable() throws {
        let r = try Twlab.run("run", "seed000-g-two-clients-http10", "--kernel", "all")
        #expect(r.status == 0)
        let rows = r.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(rows.contains("kernel c1 c2 c1 TS offsets c2 TS offsets server TIME-WAIT server TcpExtTW"))
        #expect(rows.contains("2.6.32 20 404 20 404 1 1 22 0"))
        #expect(rows.contains("3.10 20 404 20 404 1 1 22 0"))
        #expect(rows.contains("4.4 20 404 20 404 1 1 22 40"))
        #expect(rows.contains("4.9 20 404 20 404 1 1 10 40"))
        #expect(rows.contains("6.18 20 404 20 404 5 5 10 40"))
        #expect(rows.filter { $0.hasSuffix(" 20 404 20 404 1 1 10 40") }.count == 8)
    }

    /// `--kernel all --html FILE` writes the page besides the table, which stays what it is
    /// without `--html` (the JSON too: the runs sampled for the charts are separate). Without
    /// `sample_every` or `--sample` the page samples a hundredth of the longest run (0.269 s:
    /// 5ms). Bad input is still exit 2 on one line, and writes no page.
    @Test func runHTMLIsSampledWhenTheScenarioIsNot() throws {
        let dir = try Chromium.workDirectory("run-page")
        let page = dir.appendingPathComponent("run.html")
        let name = "seed000-b-http11-reuse1-burst"
        let r = try Twlab.run("run", name, "--html", page.path)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == (try Twlab.run("run", name)).stdout)
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(
            html.contains("Sampled every 5ms for this page: neither the scenario nor <code>--sample</code>"))
        #expect(HTMLFixtures.occurrences("<figure class=\"chart\"", in: html) == 7)
        // With --sample the scenario's interval is used and nothing is chosen.
        let s = try Twlab.run("run", name, "--sample", "20ms", "--html", page.path)
        #expect(s.status == 0)
        let sampled = try String(contentsOf: page, encoding: .utf8)
        #expect(!sampled.contains("for this page") && sampled.contains("Sampled every 20ms for the charts."))
    }

    @Test func kernelAllHTML() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("twlab-cli-sweep-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = "seed000-g-two-clients-http10"
        let page = dir.appendingPathComponent("sweep.html")
        let r = try Twlab.run("run", name, "--kernel", "all", "--html", page.path)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stderr.isEmpty)
        #expect(r.stdout == (try Twlab.run("run", name, "--kernel", "all")).stdout)
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>\n") && html.hasSuffix("</html>\n"))
        #expect(html.contains("<h1>\(name)</h1>"))
        #expect(
            html.contains(
                "<p class=\"meta\">simulator, every kernel profile (12 profiles, 2.6.32 to 6.18), seed 1</p>")
        )
        #expect(html.contains("; sampled every 5ms (neither the scenario nor <code>--sample</code>"))
        #expect(HTMLFixtures.occurrences("<article class=\"panel\"", in: html) == 7)
        #expect(HTMLFixtures.occurrences("<figure class=\"chart\"", in: html) == 7 * 8)
        #expect(
            html.contains("<th class=\"num\">server TIME-WAIT</th><th class=\"num\">server TcpExtTW</th>"))

        let jsonPage = dir.appendingPathComponent("sweep-json.html")
        let j = try Twlab.run("run", name, "--kernel", "all", "--json", "--html", jsonPage.path)
        #expect(j.status == 0)
        #expect(j.stdout == (try Twlab.run("run", name, "--kernel", "all", "--json")).stdout)
        #expect(FileManager.default.fileExists(atPath: jsonPage.path))

        let sampledPage = dir.appendingPathComponent("sweep-sampled.html")
        let s = try Twlab.run("run", name, "--kernel", "all", "--sample", "20ms", "--html", sampledPage.path)
        #expect(s.status == 0)
        let sampled = try String(contentsOf: sampledPage, encoding: .utf8)
        #expect(sampled.contains("; sampled every 20ms. A grey dashed line"))

        let missing = dir.appendingPathComponent("no-such-dir/sweep.html").path
        let bad = try Twlab.run("run", name, "--kernel", "all", "--html", missing)
        #expect(bad.status == 2)
        #expect(bad.stderrLines == ["twlab: --html \(missing): No such file or directory"])
        #expect(bad.stdout.isEmpty)  // found before anything ran
        for arguments in [["run", name, "--html", dir.path], ["compare", name, "--html", dir.path]] {
            let e = try Twlab.run(arguments)
            #expect(e.status == 2, "\(arguments)")
            #expect(e.stdout.isEmpty)
            #expect(e.stderrLines == ["twlab: --html \(dir.path): Is a directory"], "\(arguments)")
        }
        // Written whole, by a rename: no temporary file stays next to the page.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasSuffix(".tmp") }
        )
        for arguments in [
            ["run", name, "--kernel", "all", "--check", "--html", page.path + ".check"],
            ["run", "no-such-scenario-name", "--kernel", "all", "--html", page.path + ".unknown"],
            ["run", name, "--kernel", "all", "--sample", "0s", "--html", page.path + ".sample"],
        ] {
            let e = try Twlab.run(arguments)
            #expect(e.status == 2, "\(arguments)")
            #expect(
                e.stdout.isEmpty && e.stderrLines.count == 1 && e.stderr.hasPrefix("twlab: "), "\(arguments)")
            #expect(!FileManager.default.fileExists(atPath: arguments.last!), "\(arguments)")
        }
    }

    /// A profile a scenario cannot run on is a row saying why; a scenario no profile runs is bad
    /// input; `--kernel` with the kernel engine is refused.
    @Test func kernelOptionErrors() throws {
        let r = try Twlab.run("run", "seed002-nat-tw-recycle-on-2.6.32", "--kernel", "all", "--json")
        #expect(r.status == 0)
        let notRun = r.stdout.split(separator: "\n").filter { $0.contains("\"error\":") }
        #expect(notRun.count == 8)  // 4.19 to 6.18
        #expect(notRun.first?.hasPrefix("{\"error\":\"catalogue:") == true)
        #expect(notRun.first?.hasSuffix(",\"kernel\":\"4.19\"},") == true)
        #expect(r.stdout.contains("does not exist on kernel 6.18: it was removed in 4.12"))

        let one = try Twlab.run("run", "seed002-nat-tw-recycle-on-2.6.32", "--kernel", "6.18")
        #expect(one.status == 2)
        #expect(
            one.stderrLines == [
                "twlab: catalogue:seed002-nat-tw-recycle-on-2.6.32:32:7: host 's': net.ipv4.tcp_tw_recycle does not exist on kernel 6.18: it was removed in 4.12"
            ])
        let unknown = try Twlab.run("run", "seed000-b-http11-reuse1-burst", "--kernel", "5.11")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("kernel: no kernel profile '5.11'"))
        let engine = try Twlab.run(
            "run", "seed000-b-http11-reuse1-burst", "--kernel", "3.10", "--engine", "kernel")
        #expect(engine.status == 2)
        #expect(engine.stderrLines.count == 1)
    }

    /// What the kernel engine cannot run is refused in one line before anything is made (no
    /// root needed to be told): an older profile's scenario, and hosts with different uptimes.
    @Test func kernelEngineRefusesWhatOnlyTheSimulatorModels() throws {
        let old = try Twlab.run("run", "seed002-nat-tw-recycle-on-2.6.32", "--engine", "kernel")
        #expect(old.status == 2)
        #expect(
            old.stderrLines == [
                "twlab: catalogue:seed002-nat-tw-recycle-on-2.6.32: the scenario simulates kernel 2.6.32; the kernel engine runs this machine's kernel (profile 6.18), so run it on the simulator"
            ])
        let clocks = try Twlab.run(
            "run", "seed002-nat-tw-recycle-on-2.6.32", "--engine", "kernel", "--set", "kernel=6.18", "--set",
            "hosts.s.sysctl=null")
        #expect(clocks.status == 2)
        #expect(
            clocks.stderrLines == [
                "twlab: catalogue:seed002-nat-tw-recycle-on-2.6.32: hosts 'c1' and 'c2' have different uptimes, but the kernel engine's namespaces share this machine's clock; run it on the simulator"
            ])
    }

    /// wrk's "Socket errors" line under the histogram; `socket_errors` in the JSON.
    @Test func wrkSocketErrors() throws {
        let r = try Twlab.run("run", "wrk-more-connections-than-ports")
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("\n      4 000 EADDRNOTAVAIL\n    120 404\n"))
        #expect(r.stdout.contains("\n  Socket errors: connect 4, read 0, write 0, timeout 0\n"))
        let j = try Twlab.run("run", "wrk-more-connections-than-ports", "--json")
        let json = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        let load = (json?["workloads"] as? [String: Any])?["load"]
        #expect(
            (load as? [String: Any])?["socket_errors"] as? [String: Int] == [
                "connect": 4, "read": 0, "write": 0, "timeout": 0,
            ])
    }

    @Test func unknownEngine() throws {
        let r = try Twlab.run("run", "seed000-b-http11-reuse1-burst", "--engine", "qemu")
        #expect(r.status == 2)
        #expect(r.stderrLines == ["twlab: unknown engine 'qemu' (expected simulator or kernel)"])
    }

    @Test func checkNeedsTheScenarioAsWritten() throws {
        let r = try Twlab.run("run", "seed000-b-http11-reuse1-burst", "--seed", "7", "--check")
        #expect(r.status == 2)
        #expect(r.stderrLines.count == 1)
        #expect(r.stderr.contains("--check"))
    }

    @Test(arguments: [
        ["run", "x", "--no-such-option"], ["run"], ["run", "x", "--seed", "minus-one"], ["no-such-command"],
        ["compare", "seed000-b-http11-reuse1-burst", "--kernel-runs", "0"],
    ])
    func usageErrorsExit2OnOneLine(arguments: [String]) throws {
        let r = try Twlab.run(arguments)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderrLines.count == 1)
        #expect(r.stderr.hasPrefix("twlab: "))
    }

    @Test func jsonIsTheOnlyThingOnStdout() throws {
        let r = try Twlab.run("run", "seed000-b-http11-reuse1-burst", "--json")
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(object?["twlab"] as? Int == 1)
        #expect(object?["scenario"] as? String == "seed000-b-http11-reuse1-burst")
    }

    @Test func modifiedScenarioSaysExpectationsDoNotApply() throws {
        let r = try Twlab.run(
            "run", "seed000-b-http11-reuse1-burst", "--set", "hosts.client.sysctl.net.ipv4.tcp_tw_reuse=0")
        #expect(r.status == 0)
        #expect(r.stdout.contains("do not apply to a modified scenario"))
        #expect(!r.stdout.contains("expectations (what"))
    }

    @Test func version() throws {
        let r = try Twlab.run("--version")
        #expect(r.status == 0)
        #expect(r.stdout == "twlab 0.1.0\n")
        #expect(r.stderr.isEmpty)
    }

    @Test func help() throws {
        let r = try Twlab.run("run", "--help")
        #expect(r.status == 0)
        #expect(r.stdout.contains("USAGE: twlab run"))
    }

    @Test func scenariosListsTheCatalogue() throws {
        let r = try Twlab.run("scenarios")
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == Catalogue.entries.count)
        for (line, entry) in zip(lines, Catalogue.entries) {
            #expect(line.hasPrefix(entry.name))
            #expect(line.hasSuffix(entry.description))
        }
    }
}
