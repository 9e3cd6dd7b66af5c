import Testing

@testable import Scenario

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The package root, from this file's path (Tests/ScenarioTests/CatalogueTests.swift).
let packageRoot: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

@Suite struct CatalogueTests {
    /// `scenarios/NAME.yaml` on disk, sorted by name.
    static func filesOnDisk() throws -> [(name: String, text: String)] {
        let dir = packageRoot + "/scenarios"
        // Sorted by scenario name, as the catalogue is ("x-on-3.10.yaml" sorts before "x.yaml").
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }
            .sorted { $0.dropLast(5) < $1.dropLast(5) }
        return try names.map { n in
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + n))
            return (String(n.dropLast(5)), String(decoding: data, as: UTF8.self))
        }
    }

    @Test func embeddedCopyMatchesScenarioFiles() throws {
        let disk = try Self.filesOnDisk()
        let fix =
            "scenarios/ and Sources/Scenario/Catalogue+Embedded.swift differ: run `python3 scripts/embed-catalogue.py`"
        #expect(Catalogue.entries.map(\.name) == disk.map(\.name), "\(fix)")
        for (name, text) in disk {
            let same = Catalogue.entry(named: name)?.yaml == text
            #expect(same, "\(name).yaml: \(fix)")
        }
    }

    @Test func entriesAreSortedAndDescribed() {
        #expect(Catalogue.entries.count >= 17)
        #expect(Catalogue.entries.map(\.name) == Catalogue.entries.map(\.name).sorted())
        for e in Catalogue.entries {
            #expect(!e.description.isEmpty, "\(e.name) has no description")
            #expect(!e.description.contains("\n"), "\(e.name): description is not one line")
        }
        #expect(Catalogue.entry(named: "nope") == nil)
    }

    @Test(arguments: Catalogue.entries.map(\.name))
    func entryParses(_ name: String) throws {
        let entry = try #require(Catalogue.entry(named: name))
        let s = try ScenarioLoader.parse(entry.yaml, file: "scenarios/\(name).yaml")
        #expect(s.name == name, "the file name and name: differ")
        #expect(s.description == entry.description)
        // The kernel's figures are from 6.18; an older profile's are the seed's, named in the name.
        #expect(s.kernel.name == "6.18" || name.hasSuffix("-on-\(s.kernel.name)"))
        #expect(s.seed == 1)
        #expect(!s.expect.isEmpty, "\(name) expects nothing")
        #expect(s.network.delay == 50_000)
    }

    @Test func aFewEntriesDecodeAsTheLabRan() throws {
        let b = try ScenarioLoader.load("seed000-b-http11-reuse1-burst")
        let client = try #require(b.host(named: "client"))
        #expect(client.sysctls.portRangeSize == 11)
        #expect(client.sysctls.tcpTwReuse == 1)

        let h = try ScenarioLoader.load("seed000-h-max-tw-buckets5")
        #expect(h.host(named: "server")?.sysctls.tcpMaxTwBuckets == 5)
        #expect(
            h.expect.first { $0.path == "counters.server.TcpExtTCPTimeWaitOverflow" }?.matcher
                == .range(min: 11, max: 23))

        let s = try ScenarioLoader.load("seed000-s-port-parity")
        #expect(
            s.hosts.map { "\($0.sysctls.portRangeLow) \($0.sysctls.portRangeHigh)" }.prefix(5) == [
                "1024 1034", "1024 1035", "1025 1035", "1024 1033", "1024 1034",
            ])
        #expect(
            s.expect.first { $0.path == "workloads.first-choice.local_ports" }?.matcher
                == .equals([1024, 1026, 1028, 1030, 1032]))

        let o = try ScenarioLoader.load("seed001-o-time-wait-duration")
        #expect(o.observe == [.at(59_900_000_000), .at(62_200_000_000)])
        #expect(
            o.expect.map(\.path) == [
                "snapshots.59.9s.hosts.client.states.TIME-WAIT",
                "snapshots.62.2s.hosts.client.states.TIME-WAIT",
            ])

        let e = try ScenarioLoader.load("seed000-e-http10-server-closes")
        #expect(e.observe == [.after("sleep1"), .end])

        let j = try ScenarioLoader.load("seed002-j-so-linger-rst")
        guard case .curl(let c) = j.workloads[0].kind else { Issue.record("not curl"); return }
        #expect(c.close == .linger0 && c.startup == 0)
    }
}
