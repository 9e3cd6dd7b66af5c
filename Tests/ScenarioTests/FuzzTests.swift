import Testing

@testable import Scenario

/// No input crashes the loader: every failure is a ScenarioError on one line.
@Suite struct FuzzTests {
    /// Parses and checks that a failure is well formed.
    func survive(_ yaml: String, _ note: @autoclosure () -> String) {
        do {
            _ = try ScenarioLoader.parse(yaml, file: "f.yaml")
        } catch {
            #expect(!error.message.isEmpty, "\(note())")
            #expect(!error.description.contains("\n"), "\(note()): \(error.description)")
            #expect(error.line >= 0 && error.column >= 0, "\(note())")
            #expect(error.line <= yaml.count + 1, "\(note())")
        }
    }

    @Test func truncatedFiles() throws {
        for entry in Catalogue.entries.prefix(4) {
            let chars = Array(entry.yaml)
            for cut in stride(from: 0, to: chars.count, by: 11) {
                survive(String(chars[..<cut]), "\(entry.name) cut at \(cut)")
            }
        }
    }

    @Test func wrongTypesEverywhere() throws {
        let replacements = [
            "[1, 2]", "{a: 1}", "-1", "x", "", "1.5", "null", "\"\"", "0", "&a b", "*a", "!!binary x",
        ]
        for entry in Catalogue.entries
        where ["seed000-s-port-parity", "seed000-e-http10-server-closes"].contains(entry.name) {
            let lines = entry.yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for (i, line) in lines.enumerated() {
                guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("#") else { continue }
                for r in replacements {
                    var mutated = lines
                    mutated[i] = String(line[...colon]) + " " + r
                    survive(mutated.joined(separator: "\n"), "\(entry.name) line \(i + 1) = \(r)")
                }
            }
        }
        survive(baseYAML, "base")
    }

    @Test func strangeDocuments() {
        let docs = [
            "", " ", "\n\n", "---", "--- \n...", "---\na: 1\n---\nb: 2", "~", "null", "[]", "{}", "[[[[]]]]",
            String(repeating: "[", count: 5000), String(repeating: "- ", count: 3000) + "x",
            "twlab: 1\nname: t\nhosts: {a: {address: 10.0.0.1}}\nworkloads: [{name: w, from: a, to: 'a:1', kind: curl, count: 1, after: w}]",
            "twlab: &v 1\nname: *v\nhosts: *v\nworkloads: *v", "? [a]\n: b", "a: !!str\n", "\u{0}",
            "\u{7}x: y",
            "twlab: 1\nname: t\nhosts:\n  h: {address: 10.0.0.1, listen: [{port: 80}, {port: 80}]}\nworkloads: []",
            "twlab: 99999999999999999999999", "twlab: 1\nseed: 99999999999999999999999", "\u{FEFF}twlab: 1",
        ]
        for (i, d) in docs.enumerated() { survive(d, "document \(i)") }
    }

    @Test func aliasBombStopsEarly() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<9 {
            yaml +=
                "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        #expect(
            parseError(yaml)
                == "t.yaml: the document expands to more than 200000 nodes (aliases nested too deep?)")
    }

    @Test func randomText() {
        var rng = SplitMix(seed: 42)
        let alphabet = Array("ab:- \n\t[]{},&*!|>'\"#%@`?0123456789.name:twlab:hosts:")
        for n in 0..<300 {
            let length = Int(rng.next() % 120)
            let text = String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
            survive(text, "random \(n)")
        }
    }
}

/// Deterministic generator for the fuzz inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
