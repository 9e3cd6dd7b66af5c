/// The sysctls inspection reports, read from `/proc/sys` on the calling thread.
///
/// The `net.*` tables under `/proc/sys` are looked up in the network namespace of the task that
/// opens the file (`net_ctl_header_lookup` uses `current->nsproxy`), so a thread moved by
/// ``NetworkNamespace/run(in:_:)`` reads that namespace's values. Nothing here ever writes.
public enum Sysctls {
    /// What `inspect` and `advise` look at: the port range and its reserved ports (EP-1, EP-2),
    /// TIME_WAIT reuse, its delay and limits (TWR-2, TWR-3, TW-6), listen queue sizing, cookies
    /// and the SYN retry schedule (LQ-*, LQ-10: `tcp_syn_retries`, `tcp_syn_linear_timeouts`), and the
    /// file limits that bound how many sockets a process can hold. Missing ones (older kernels,
    /// global-only knobs not shown in a child namespace) are left out of the result.
    public static let inspected: [String] = [
        "fs.file-max",
        "fs.nr_open",
        "net.core.somaxconn",
        "net.ipv4.ip_autobind_reuse",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_abort_on_overflow",
        "net.ipv4.tcp_child_ehash_entries",
        "net.ipv4.tcp_ehash_entries",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_max_orphans",
        "net.ipv4.tcp_max_syn_backlog",
        "net.ipv4.tcp_max_tw_buckets",
        "net.ipv4.tcp_rfc1337",
        "net.ipv4.tcp_syn_linear_timeouts",
        "net.ipv4.tcp_syn_retries",
        "net.ipv4.tcp_synack_retries",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.tcp_timestamps",
        "net.ipv4.tcp_tw_recycle",
        "net.ipv4.tcp_tw_reuse",
        "net.ipv4.tcp_tw_reuse_delay",
    ]

    /// `/proc/sys/net/ipv4/tcp_tw_reuse` for `net.ipv4.tcp_tw_reuse`.
    public static func path(of name: String) -> String {
        "/proc/sys/" + String(name.map { $0 == "." ? "/" : $0 })
    }

    /// The values of `names` that exist and can be read, normalized (``normalize(_:)``).
    public static func read(_ names: [String] = inspected) -> [String: String] {
        var values: [String: String] = [:]
        for name in names {
            if let text = try? ProcFile.readFile(path(of: name)) { values[name] = normalize(text) }
        }
        return values
    }

    /// Runs of spaces, tabs and newlines become one space, without any at either end:
    /// `"32768\t60999\n"` is `"32768 60999"`, as `sysctl` prints it.
    public static func normalize(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
    }
}
