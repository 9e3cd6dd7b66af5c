import Yams

/// A YAML node with its position, detached from Yams so that `--set` can edit the tree before
/// validation and the validator can report where every value came from.
struct YNode {
    enum Value {
        /// `plain` is false for quoted and block scalars: `"null"` is a string, `null` is not.
        case scalar(String, plain: Bool)
        case map([(key: YNode, value: YNode)])
        case list([YNode])
    }

    var value: Value
    /// 1-based position in the file; 0 for nodes made by `--set`.
    var line: Int
    var column: Int
    /// The `--set KEY=VALUE` argument that put this node here; nil for nodes from the file.
    var origin: String?

    init(_ value: Value, line: Int, column: Int, origin: String? = nil) {
        self.value = value
        self.line = line
        self.column = column
        self.origin = origin
    }

    /// The scalar's text, or nil for maps and lists.
    var scalar: String? {
        if case .scalar(let s, _) = value { return s }
        return nil
    }

    /// A YAML null: an empty value, `~` or `null` written plain.
    var isNull: Bool {
        if case .scalar(let s, let plain) = value {
            return plain && (s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL")
        }
        return false
    }

    /// What this node is, for "expected X, got Y" messages.
    var shortDescription: String {
        switch value {
        case .map: return "a map"
        case .list: return "a list"
        case .scalar(let s, _) where isNull: return s.isEmpty ? "nothing" : "null"
        case .scalar(let s, _): return quoted(s)
        }
    }
}

/// `'text'` for messages: one line, at most 60 characters.
func quoted(_ s: String) -> String {
    var out = ""
    for ch in s {
        switch ch {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default: out.append(ch)
        }
    }
    if out.count > 60 { out = String(out.prefix(57)) + "..." }
    return "'\(out)'"
}

/// Most nodes a document may expand to (aliases are shared in Yams but expanded here).
let maxNodes = 200_000

extension YNode {
    /// Composes YAML text into a tree; nil for an empty document.
    ///
    /// Syntax errors keep libyaml's position. `origin` marks every node as coming from `--set`.
    static func compose(_ yaml: String, file: String, origin: String? = nil) throws(ScenarioError) -> YNode? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let e as YamlError {
            throw syntaxError(e, file: file, yaml: yaml, positions: origin == nil)
        } catch {
            throw ScenarioError(file: file, message: "YAML: \(oneLine("\(error)"))")
        }
        guard let root else { return nil }
        var budget = maxNodes
        guard let tree = convert(root, budget: &budget, origin: origin) else {
            throw ScenarioError(
                file: file,
                message: "the document expands to more than \(maxNodes) nodes (aliases nested too deep?)")
        }
        return tree
    }

    private static func convert(_ node: Node, budget: inout Int, origin: String?) -> YNode? {
        budget -= 1
        if budget < 0 { return nil }
        let mark = node.mark
        let line = origin == nil ? mark?.line ?? 0 : 0
        let column = origin == nil ? mark?.column ?? 0 : 0
        switch node {
        case .scalar(let s):
            return YNode(
                .scalar(s.string, plain: s.style == .plain || s.style == .any), line: line, column: column,
                origin: origin)
        case .mapping(let m):
            var pairs: [(key: YNode, value: YNode)] = []
            pairs.reserveCapacity(m.count)
            for (k, v) in m {
                guard let kk = convert(k, budget: &budget, origin: origin),
                    let vv = convert(v, budget: &budget, origin: origin)
                else { return nil }
                pairs.append((kk, vv))
            }
            return YNode(.map(pairs), line: line, column: column, origin: origin)
        case .sequence(let q):
            var items: [YNode] = []
            items.reserveCapacity(q.count)
            for v in q {
                guard let vv = convert(v, budget: &budget, origin: origin) else { return nil }
                items.append(vv)
            }
            return YNode(.list(items), line: line, column: column, origin: origin)
        case .alias:
            // compose() resolves aliases to the anchored node; an unresolved one reads as null.
            return YNode(.scalar("", plain: true), line: line, column: column, origin: origin)
        }
    }

    /// A libyaml error as one positioned line.
    /// Without `positions` (a `--set` value) the message is only libyaml's problem text.
    static func syntaxError(_ e: YamlError, file: String, yaml: String, positions: Bool = true)
        -> ScenarioError
    {
        func make(_ context: YamlError.Context?, _ problem: String, _ mark: Mark) -> ScenarioError {
            if !positions { return ScenarioError(file: file, message: oneLine(problem)) }
            if problem == "but found another document" {
                return ScenarioError(
                    file: file, line: max(mark.line, 1), column: max(mark.column, 1),
                    message: "YAML: a scenario is one YAML document, but a second one starts here")
            }
            if problem.hasPrefix("Maximum nesting level") {
                return ScenarioError(
                    file: file, line: max(mark.line, 1), column: max(mark.column, 1),
                    message: "YAML: nested more than 1000 levels deep")
            }
            var msg = "YAML syntax error: \(problem)"
            if let c = context, !c.text.isEmpty {
                msg += " (\(c.text) at line \(c.mark.line))"
            }
            return ScenarioError(
                file: file, line: max(mark.line, 1), column: max(mark.column, 1), message: oneLine(msg))
        }
        switch e {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return make(context, problem, mark)
        case .reader(let problem, let offset, _, _):
            let (line, column) = position(ofCharacter: offset ?? 0, in: yaml)
            return ScenarioError(file: file, line: line, column: column, message: oneLine("YAML: \(problem)"))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { quoted($0) }.joined(separator: ", ")
            let what = duplicates.count == 1 ? "key \(keys) appears" : "keys \(keys) appear"
            return ScenarioError(
                file: file, line: max(context.mark.line, 1), column: max(context.mark.column, 1),
                message: "\(what) more than once in the same map")
        default:
            return ScenarioError(file: file, message: oneLine("YAML: \(e)"))
        }
    }

    /// 1-based line and column (in Unicode scalars) of the character at `offset`.
    private static func position(ofCharacter offset: Int, in text: String) -> (Int, Int) {
        var line = 1
        var column = 1
        var i = 0
        for ch in text {
            if i >= offset { break }
            if ch == "\n" || ch == "\r\n" {
                line += 1
                column = 1
            } else {
                column += ch.unicodeScalars.count
            }
            i += 1
        }
        return (line, column)
    }
}

/// Collapses line breaks so a message stays on one line.
func oneLine(_ s: String) -> String {
    var out = ""
    var lastSpace = false
    for ch in s {
        if ch == "\n" || ch == "\r" || ch == "\r\n" {
            if !lastSpace { out.append(" ") }
            lastSpace = true
        } else {
            out.append(ch)
            lastSpace = ch == " "
        }
    }
    while out.last == " " { out.removeLast() }
    return out
}
