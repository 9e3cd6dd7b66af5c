/// `--set KEY=VALUE`: edits to the composed YAML tree, applied before validation so every value
/// is checked as if the file had said it.
///
/// KEY is a dotted path through maps. Inside a `sysctl:` map the rest of the key is one sysctl
/// name (`hosts.client.sysctl.net.ipv4.tcp_tw_reuse`). In a list, a segment picks the item whose
/// `name` is that segment (`workloads.burst.count`), or else the item at that 0-based index
/// (`observe.0.at`). The last key is added when missing; a missing `sysctl:` map is created;
/// any other missing step is an error. VALUE is YAML (`1`, `"1024 1034"`, `[10.0.0.1]`).
enum Overrides {
    static let file = "--set"

    static func apply(_ sets: [String], to root: inout YNode) throws(ScenarioError) {
        for s in sets {
            guard let eq = s.firstIndex(of: "=") else {
                throw ScenarioError(
                    file: file,
                    message:
                        "\(quoted(s)) is not KEY=VALUE (e.g. hosts.client.sysctl.net.ipv4.tcp_tw_reuse=1)")
            }
            let key = String(s[..<eq])
            let text = String(s[s.index(after: eq)...])
            let segments = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !key.isEmpty, !segments.contains(where: \.isEmpty) else {
                throw ScenarioError(
                    file: file,
                    message: "\(quoted(s)): \(quoted(key)) is not a dotted path like workloads.burst.count")
            }
            let value: YNode
            do {
                value =
                    try YNode.compose(text, file: file, origin: s)
                    ?? YNode(.scalar("", plain: true), line: 0, column: 0, origin: s)
            } catch {
                throw ScenarioError(
                    file: file, message: "\(quoted(s)): the value is not valid YAML: \(error.message)")
            }
            try set(&root, segments[...], done: [], value: value, arg: s)
        }
    }

    private static func set(
        _ node: inout YNode, _ rest: ArraySlice<String>, done: [String], value: YNode, arg: String
    ) throws(ScenarioError) {
        let seg = rest[rest.startIndex]
        let here = done.isEmpty ? "the top level" : quoted(done.joined(separator: "."))
        switch node.value {
        case .map(var pairs):
            // Inside sysctl: the remaining segments are one name with dots in it.
            let name = done.last == "sysctl" ? rest.joined(separator: ".") : seg
            let last = done.last == "sysctl" || rest.count == 1
            let index = pairs.firstIndex { $0.key.scalar == name }
            if last {
                if let index {
                    pairs[index].value = value
                } else {
                    pairs.append((YNode(.scalar(name, plain: true), line: 0, column: 0, origin: arg), value))
                }
            } else if let index {
                var child = pairs[index].value
                try set(&child, rest.dropFirst(), done: done + [seg], value: value, arg: arg)
                pairs[index].value = child
            } else if seg == "sysctl" {
                var child = YNode(.map([]), line: 0, column: 0, origin: arg)
                try set(&child, rest.dropFirst(), done: done + [seg], value: value, arg: arg)
                pairs.append((YNode(.scalar(seg, plain: true), line: 0, column: 0, origin: arg), child))
            } else {
                throw ScenarioError(
                    file: file,
                    message:
                        "\(quoted(arg)): \(here) has no key \(quoted(seg)), so \(quoted((done + [seg]).joined(separator: "."))) cannot be set"
                )
            }
            node.value = .map(pairs)
        case .list(var items):
            var index = items.firstIndex { item in
                if case .map(let p) = item.value {
                    return p.contains { $0.key.scalar == "name" && $0.value.scalar == seg }
                }
                return false
            }
            if index == nil, let i = Int(seg), items.indices.contains(i) { index = i }
            guard let index else {
                throw ScenarioError(
                    file: file,
                    message:
                        "\(quoted(arg)): \(here) has no item named \(quoted(seg)) (nor an index 0..<\(items.count))"
                )
            }
            if rest.count == 1 {
                items[index] = value
            } else {
                var child = items[index]
                try set(&child, rest.dropFirst(), done: done + [seg], value: value, arg: arg)
                items[index] = child
            }
            node.value = .list(items)
        case .scalar:
            throw ScenarioError(
                file: file,
                message: "\(quoted(arg)): \(here) is a single value, not a map, so it has no \(quoted(seg))")
        }
    }
}
