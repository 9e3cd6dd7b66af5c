import Scenario

/// A small valid scenario; error tests change one line and know every other line's number.
///
///     1  twlab: 1
///     2  name: t
///     3  hosts:
///     4    client:
///     5      address: 10.0.0.1
///     6      sysctl:
///     7        net.ipv4.tcp_tw_reuse: 1
///     8    server:
///     9      address: 10.0.0.2
///    10      listen:
///    11        - port: 80
///    12  workloads:
///    13    - name: burst
///    14      from: client
///    15      to: server:80
///    16      kind: curl
///    17      count: 20
let baseYAML = """
    twlab: 1
    name: t
    hosts:
      client:
        address: 10.0.0.1
        sysctl:
          net.ipv4.tcp_tw_reuse: 1
      server:
        address: 10.0.0.2
        listen:
          - port: 80
    workloads:
      - name: burst
        from: client
        to: server:80
        kind: curl
        count: 20

    """

/// `baseYAML` with line `line` (1-based) replaced by `text` (which may hold several lines),
/// or with `text` appended when `line` is 18.
/// With `drop`, that line is removed too (after the replacement).
func base(line: Int, _ text: String, drop: Int? = nil) -> String {
    var lines = baseYAML.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    if line == lines.count + 1 { lines.append(text) } else { lines[line - 1] = text }
    if let drop { lines.remove(at: drop - 1) }
    return lines.joined(separator: "\n") + "\n"
}

/// The one-line error `parse` gives, or nil when it succeeds.
func parseError(_ yaml: String, file: String = "t.yaml", overrides: [String] = []) -> String? {
    do {
        _ = try ScenarioLoader.parse(yaml, file: file, overrides: overrides)
        return nil
    } catch {
        return error.description
    }
}
