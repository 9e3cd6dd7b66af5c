import FoundationEssentials

extension Advisor.Advice {
    /// design.md's advice contract (`twlab advise --json`):
    /// `{"twlab": 1, "findings": [{"id", "severity", "evidence", "recommendation", "what_if"}]}`,
    /// sorted keys. Beyond the contract (compatible additions): `netns`, `kernel`, `interval_s`,
    /// each finding's `title`; `evidence` is a list of lines; `what_if` is null when the model
    /// has no answer, else `{"workload", "current", "proposed"}`, each prediction with its
    /// `sysctls`, `attempts`, `outcomes`, `first_eaddrnotavail_s`, `peak_ports_held`,
    /// `time_wait_at_end` and a one-line `summary`.
    public func jsonText() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try! encoder.encode(AdviceJSON(advice: self))
        return String(decoding: data, as: UTF8.self)
    }
}

private struct AdviceJSON: Encodable {
    let advice: Advisor.Advice

    enum Keys: String, CodingKey {
        case twlab, netns, kernel, findings
        case interval = "interval_s"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .twlab)
        try c.encode(advice.inspection.netns, forKey: .netns)
        try c.encode(advice.inspection.kernel, forKey: .kernel)
        try c.encode((advice.inspection.intervalSeconds * 1000).rounded() / 1000, forKey: .interval)
        try c.encode(advice.findings.map(FindingJSON.init), forKey: .findings)
    }
}

private struct FindingJSON: Encodable {
    let f: Finding
    init(_ f: Finding) { self.f = f }

    enum Keys: String, CodingKey {
        case id, severity, title, evidence, recommendation
        case whatIf = "what_if"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(f.id, forKey: .id)
        try c.encode(f.severity.rawValue, forKey: .severity)
        try c.encode(f.title, forKey: .title)
        try c.encode(f.evidence, forKey: .evidence)
        try c.encode(f.recommendation, forKey: .recommendation)
        if let w = f.whatIf {
            try c.encode(WhatIfJSON(w: w), forKey: .whatIf)
        } else {
            try c.encodeNil(forKey: .whatIf)
        }
    }
}

private struct WhatIfJSON: Encodable {
    let w: WhatIf

    enum Keys: String, CodingKey { case workload, current, proposed }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(w.workload, forKey: .workload)
        try c.encode(PredictionJSON(p: w.current), forKey: .current)
        try c.encode(PredictionJSON(p: w.proposed), forKey: .proposed)
    }
}

private struct PredictionJSON: Encodable {
    let p: Prediction

    enum Keys: String, CodingKey {
        case sysctls, attempts, outcomes, summary
        case firstFailure = "first_eaddrnotavail_s"
        case peak = "peak_ports_held"
        case timeWait = "time_wait_at_end"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(p.sysctls, forKey: .sysctls)
        try c.encode(p.attempts, forKey: .attempts)
        try c.encode(p.outcomes, forKey: .outcomes)
        try c.encode(p.firstFailureSeconds, forKey: .firstFailure)
        try c.encode(p.peakPortsHeld, forKey: .peak)
        try c.encode(p.timeWaitAtEnd, forKey: .timeWait)
        try c.encode(p.summary, forKey: .summary)
    }
}
