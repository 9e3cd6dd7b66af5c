import Results
import Scenario

/// The scenario in words: the network, each host with the sysctls it sets and what it listens
/// on, each workload as a sentence, and what was observed.
extension HTMLReport {
    /// With `everyProfile` (a kernel sweep) the profile is the one the scenario names, and the
    /// section says that every profile was simulated.
    static func scenarioSection(_ scenario: Scenario, everyProfile: Bool = false) -> String {
        var html = "<section id=\"scenario\">\n<h2>Scenario</h2>\n"
        if !scenario.description.isEmpty {
            html += "<p class=\"description\">\(escape(scenario.description))</p>\n"
        }
        var setting =
            everyProfile
            ? "Written for kernel profile \(escape(scenario.kernel.name)), simulated on every profile"
            : "Simulator kernel profile \(escape(scenario.kernel.name))"
        setting += ", seed \(scenario.seed); "
        setting += "one-way delay \(escape(formatDuration(scenario.network.delay))) between hosts"
        if scenario.network.loss > 0 {
            setting += ", \(number(scenario.network.loss * 100, decimals: 3))% of segments lost"
        }
        if let d = scenario.duration { setting += "; the run stops at \(escape(formatDuration(d)))" }
        html += "<p>\(setting).</p>\n"

        if !scenario.hosts.isEmpty {
            html += "<h3>Hosts</h3>\n<ul class=\"hosts\">\n"
            for host in scenario.hosts { html += "<li>\(hostSentence(host))</li>\n" }
            html += "</ul>\n"
        }
        if !scenario.workloads.isEmpty {
            html += "<h3>Workloads</h3>\n<ul class=\"workloads\">\n"
            for w in scenario.workloads { html += "<li>\(workloadSentence(w))</li>\n" }
            html += "</ul>\n"
        }
        var observed = scenario.observe.map { point -> String in
            switch point {
            case .end: return "at the end (when the last workload finishes)"
            case .at(let t): return "at \(escape(formatDuration(t)))"
            case .after(let w): return "after <code>\(escape(w))</code> finishes"
            }
        }
        if observed.isEmpty { observed = ["none"] }
        var observe = "Snapshots: " + observed.joined(separator: ", ") + ". "
        if let every = scenario.sampleEvery {
            observe += "Sampled every \(escape(formatDuration(every))) for the charts."
        } else {
            observe += "No time series asked for."
        }
        html += "<p>\(observe)</p>\n</section>\n"
        return html
    }

    /// "client (10.77.0.11): sets net.ipv4.tcp_tw_reuse = 1. Listens on port 80 …"
    static func hostSentence(_ host: HostSpec) -> String {
        var s = "<strong>\(escape(host.name))</strong>"
        s += " (" + host.addresses.map { escape($0.description) }.joined(separator: ", ") + ")"
        if host.sysctlOverrides.isEmpty {
            s += ": the profile's sysctls"
        } else {
            s +=
                ": "
                + host.sysctlOverrides.map { "<code>\(escape($0.name)) = \(escape($0.value))</code>" }
                .joined(separator: ", ")
        }
        if host.sysctlOverrides.contains(where: { $0.name == "net.ipv4.ip_local_port_range" }) {
            let size = host.sysctls.portRangeSize
            let usable = usablePorts(host)
            s += " (\(plural(size, "port")) in the range"
            if usable != size { s += "; each connect() scans \(usable) of them, EP-1" }
            s += ")"
        }
        s += "."
        for l in host.listeners {
            s += " " + listenerSentence(l, somaxconn: host.sysctls.somaxconn)
        }
        return s
    }

    static func listenerSentence(_ l: ListenerSpec, somaxconn: Int) -> String {
        var s = "Listens on port \(l.port), backlog \(l.backlog)"
        if l.backlog > somaxconn { s += " (clamped to somaxconn \(somaxconn))" }
        if let http = l.http {
            s +=
                ", answers HTTP \(http.status) (keep-alive timeout \(escape(formatDuration(http.keepaliveTimeout))))"
        } else {
            s += ", never reads or writes"
        }
        switch l.accept {
        case .immediate(let delay) where delay == 0: s += ", accepts at once"
        case .immediate(let delay): s += ", accepts after \(escape(formatDuration(delay)))"
        case .never: s += ", never accepts"
        case .rate(let r): s += ", accepts \(number(r, decimals: 3)) per second"
        }
        return s + "."
    }

    /// One sentence per workload: who, what, to where, how many, how it closes, when.
    static func workloadSentence(_ w: WorkloadSpec) -> String {
        var target = escape(w.to.address.description) + ":\(w.to.port)"
        if let host = w.to.host { target = "\(escape(host)):\(w.to.port) (\(target))" }
        var s = "<strong>\(escape(w.name))</strong>: \(escape(w.from)) "
        switch w.kind {
        case .curl(let c):
            if c.reuseConnection {
                s += "runs one curl process that fetches \(target) \(plural(c.count, "time"))"
                s += " over one kept-alive connection"
            } else {
                s +=
                    "runs a loop of \(plural(c.count, "curl")) to \(target), one process and connection each, "
                s +=
                    c.interval == 0
                    ? "back-to-back" : "with <code>sleep \(escape(formatDuration(c.interval)))</code> between"
            }
            s += "; " + requestWords(c.request) + "; " + closeWords(c.close)
            if let t = c.timeout { s += "; <code>--max-time</code> \(escape(formatDuration(t)))" }
        case .connect(let c):
            s +=
                c.fill
                ? "calls connect() to \(target) until one fails (at most \(c.count)), holding every connection, then closes them all"
                : "calls connect() to \(target) \(plural(c.count, "time"))"
            if !c.fill {
                if c.concurrency > 1 { s += ", \(c.concurrency) at a time" }
                if c.hold > 0 { s += ", holding each for \(escape(formatDuration(c.hold)))" }
            }
            s += "; " + closeWords(c.close)
            if let b = c.bind {
                let address = b.address.map { escape($0.description) } ?? "0.0.0.0"
                s += "; bind() to \(address):\(b.port) first"
                if b.noPort { s += " with IP_BIND_ADDRESS_NO_PORT" }
                if b.reuseAddress { s += " and SO_REUSEADDR" }
            }
            if let t = c.timeout { s += "; each connect() gives up after \(escape(formatDuration(t)))" }
            if c.spacing > 0 { s += "; launches \(escape(formatDuration(c.spacing))) apart" }
            if c.rounds > 1 {
                s += "; \(c.rounds) rounds"
                if c.interval > 0 { s += ", \(escape(formatDuration(c.interval))) apart" }
            }
        case .rate(let r):
            s += "opens \(number(r.perSecond, decimals: 3)) new connections per second to \(target)"
            s += " for \(escape(formatDuration(r.duration))), one request each; " + requestWords(r.request)
            s += "; " + closeWords(r.close)
            if let t = r.timeout { s += "; each gives up after \(escape(formatDuration(t)))" }
        case .wrk(let k):
            s += "runs wrk with \(plural(k.connections, "connection")) to \(target)"
            s += k.request.asksServerToClose ? ", reconnecting after each response" : ", kept alive"
            switch (k.duration, k.requests) {
            case (let d?, let r?):
                s += ", for \(escape(formatDuration(d))) or \(plural(r, "response")), whichever comes first"
            case (let d?, nil): s += ", for \(escape(formatDuration(d)))"
            case (nil, let r?): s += ", until \(plural(r, "response"))"
            case (nil, nil): break
            }
            s +=
                "; " + requestWords(k.request)
                + "; <code>--timeout</code> \(escape(formatDuration(k.timeout)))"
            if k.spacing > 0 { s += "; opens its connections \(escape(formatDuration(k.spacing))) apart" }
        case .synflood(let f):
            s +=
                "sends \(plural(f.total, "bare SYN")) to \(target) at \(number(f.perSecond, decimals: 3)) per second"
            s += " and drops the SYN-ACKs that come back (like <code>hping3 -S</code>)"
        }
        switch w.start {
        case .at(let t) where t == 0: s += "; starts at once"
        case .at(let t): s += "; starts at \(escape(formatDuration(t)))"
        case .after(let other): s += "; starts when <code>\(escape(other))</code> has finished"
        }
        return s + "."
    }

    private static func requestWords(_ r: HTTPRequestSpec) -> String {
        var s = "HTTP/\(r.version.rawValue)"
        for h in r.headers { s += ", <code>\(escape(h.name)): \(escape(h.value))</code>" }
        s += r.asksServerToClose ? " (the server closes first)" : ""
        return s
    }

    private static func closeWords(_ c: CloseMode) -> String {
        switch c {
        case .fin: return "closes with close() (FIN)"
        case .linger0: return "closes with SO_LINGER 0 (RST, no TIME-WAIT)"
        }
    }

    /// The ports connect() can pick from on `host`: the range's size rounded down to even when
    /// larger than one (EP-1, ≥4.6).
    static func usablePorts(_ host: HostSpec) -> Int {
        let size = host.sysctls.portRangeSize
        return size > 1 ? size & ~1 : size
    }
}
