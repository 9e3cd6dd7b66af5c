import Testing

@testable import Scenario

@Suite struct DurationTests {
    @Test(
        arguments: [
            ("0", 0), ("0s", 0), ("1s", 1_000_000_000), ("1.5s", 1_500_000_000), ("250ms", 250_000_000),
            ("0.1ms", 100_000), ("100us", 100_000), ("100µs", 100_000), ("7ns", 7), ("2m", 120_000_000_000),
            ("1h", 3_600_000_000_000), ("3d", 259_200_000_000_000), ("60.3s", 60_300_000_000),
            ("0.000000001s", 1), ("1.25000000000000000000s", 1_250_000_000), ("0.05ms", 50_000),
        ] as [(String, Int64)])
    func parses(_ text: String, _ nanos: Int64) throws {
        #expect(try Durations.parse(text).get() == nanos)
    }

    @Test(arguments: [
        ("5", "'5' needs a unit (e.g. 1.5s, 250ms, 100us, 2m, 1h, 3d)"),
        ("1.5", "'1.5' needs a unit (e.g. 1.5s, 250ms, 100us, 2m, 1h, 3d)"),
        ("-1s", "'-1s' is negative; durations start at 0"),
        ("soon", "'soon' is not a duration (e.g. 1.5s, 250ms, 100us, 2m, 1h, 3d)"),
        ("1 s", "'1 s' is not a duration (e.g. 1.5s, 250ms, 100us, 2m, 1h, 3d)"),
        (".5s", "'.5s' is not a duration (e.g. 1.5s, 250ms, 100us, 2m, 1h, 3d)"),
        ("5.s", "'5.s' is not a duration (e.g. 1.5s, 250ms, 100us, 2m, 1h, 3d)"),
        ("", "'' is not a duration (e.g. 1.5s, 250ms, 100us, 2m, 1h, 3d)"),
        ("0.0000000001s", "'0.0000000001s' is finer than one nanosecond"),
        ("1.5ns", "'1.5ns' is finer than one nanosecond"),
        ("999999999999d", "'999999999999d' is too large"),
        ("99999999999999999999999s", "'99999999999999999999999s' is too large"),
    ])
    func rejects(_ text: String, _ message: String) {
        guard case .failure(let e) = Durations.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(e.message == message)
    }

    @Test func rates() throws {
        #expect(try Durations.parseRate("2000/s").get() == 2000)
        #expect(try Durations.parseRate("1.5/s").get() == 1.5)
        #expect(try Durations.parseRate("120/m").get() == 2)
        #expect(throws: DurationError.self) { try Durations.parseRate("2000").get() }
        #expect(throws: DurationError.self) { try Durations.parseRate("fast/s").get() }
        #expect(throws: DurationError.self) { try Durations.parseRate("1/week").get() }
    }
}
