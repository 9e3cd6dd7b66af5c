import Testing

@testable import Report

@Suite("Report formatting")
struct FormattingTests {
    @Test(arguments: [
        ([1024, 1026, 1028, 1030, 1032], "1024,1026,1028,1030,1032"),
        (Array(1024...1034), "1024-1034"),
        ([1024, 1025], "1024,1025"),
        ([1, 2, 3, 5, 7, 8, 9, 10], "1-3,5,7-10"),
        ([80], "80"),
        (
            Array(stride(from: 1000, through: 1040, by: 2)),
            "1000,1002,1004,1006,1008,1010,1012,1014,1016,1018,…,1040"
        ),
    ])
    func portList(ports: [Int], text: String) {
        #expect(TerminalReport.portList(ports) == text)
    }

    @Test(arguments: [
        (0.4123, "0.41"), (1.1, "1.10"), (12.345, "12.3"), (1234.6, "1235"), (0.0123, "0.012"), (0, "0.00"),
    ])
    func millis(value: Double, text: String) {
        #expect(TerminalReport.millis(value) == text)
    }

    @Test func fixedDecimals() {
        #expect(fixed(0.2129, decimals: 3) == "0.213")
        #expect(fixed(64.5, decimals: 3) == "64.500")
        #expect(fixed(-0.0004, decimals: 3) == "0.000")
        #expect(fixed(-1.25, decimals: 1) == "-1.3")
        #expect(fixed(7, decimals: 0) == "7")
    }

    @Test func outcomeLines() {
        #expect(TerminalReport.outcomeLine("404", isConnect: false) == "404")
        #expect(TerminalReport.outcomeLine("EADDRNOTAVAIL", isConnect: false) == "000 EADDRNOTAVAIL")
        #expect(TerminalReport.outcomeLine("EADDRNOTAVAIL", isConnect: true) == "EADDRNOTAVAIL")
        #expect(TerminalReport.outcomeLine("pending", isConnect: false) == "pending")
    }

    @Test func rounds() {
        let text = TerminalReport.roundsText([.init("10", 2), .init("11", 38)], isConnect: true)
        #expect(text == "38 × 11 connected, 2 × 10")
    }
}
