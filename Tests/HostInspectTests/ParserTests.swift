import Testing

@testable import HostInspect

@Suite("Parsers and summaries (fixed text)")
struct ParserTests {
    // Captured on 6.18: a listener with 3 queued children, ESTAB and CLOSE-WAIT pairs, an
    // orphaned FIN_WAIT2 timewait socket and a TIME_WAIT one (both `tr` 3, inode 0).
    static let procNetTCP = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 188 1 \
        00000000482a1e56 100 0 0 10 0
           1: 0100007F:AABB 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 114703 4 \
        00000000bd70f615 100 0 0 10 0
           2: 0100007F:AABB 0100007F:862A 01 00000000:00000000 00:00000000 00000000     0        0 0 1 \
        00000000fdab8d34 20 0 0 10 -1
           3: 0100007F:AABB 0100007F:8636 08 00000000:00000001 00:00000000 00000000     0        0 0 1 \
        00000000ccb80260 20 4 0 10 -1
           4: 0100007F:862A 0100007F:AABB 01 00000010:00000020 01:0000002A 00000002  1000        0 114705 2 \
        00000000b918766e 20 0 0 10 -1
           5: 0100007F:8636 0100007F:AABB 05 00000000:00000000 03:0000175F 00000000     0        0 0 3 \
        000000006c09a0c1
           6: 0100000A:D431 0500000A:0050 06 00000000:00000000 03:00001770 00000000     0        0 0 3 \
        000000003f5d6e48
           7: 0100007F:AABB 0100007F:C350 03 00000000:00000000 01:00000064 00000000  1000        0 0 1 \
        0000000000000000
        """

    static let procNetTCP6 = """
          sl  local_address                         remote_address                        st tx_queue rx_queue \
        tr tm->when retrnsmt   uid  timeout inode
           0: 00000000000000000000000000000000:C3E9 00000000000000000000000000000000:0000 0A \
        00000000:00000002 00:00000000 00000000     0        0 114710 3 00000000e5adcad7 100 0 0 10 0
           1: 0000000000000000FFFF00000100007F:C0E2 0000000000000000FFFF00000100007F:C3E9 01 \
        00000000:00000000 00:00000000 00000000     0        0 114711 2 00000000becb5b43 20 0 0 10 -1
           2: 00000000000000000000000001000000:BBD6 00000000000000000000000001000000:C3E9 01 \
        00000000:00000000 00:00000000 00000000     0        0 114712 2 00000000e2a90e7e 20 0 0 10 -1
           3: B80D0120000000000000000001000000:0050 B80D0120000000000000000005000000:E2F0 06 \
        00000000:00000000 03:00000BB8 00000000     0        0 0 3 0000000000000000
        """

    @Test("/proc/net/tcp: every column, TIME_WAIT and FIN_WAIT2 timewait sockets, a request")
    func procNetTCP() {
        let sockets = SocketDiag.parseProcNetTCP(Self.procNetTCP, family: 4)
        #expect(
            sockets == [
                DiagSocket(
                    family: 4, state: 10, localAddress: "0.0.0.0", localPort: 2024,
                    remoteAddress: "0.0.0.0", remotePort: 0, inode: 188),
                DiagSocket(
                    family: 4, state: 10, localAddress: "127.0.0.1", localPort: 43707,
                    remoteAddress: "0.0.0.0", remotePort: 0, recvQ: 3, sendQ: 0, inode: 114703),
                DiagSocket(
                    family: 4, state: 1, localAddress: "127.0.0.1", localPort: 43707,
                    remoteAddress: "127.0.0.1", remotePort: 34346),
                DiagSocket(
                    family: 4, state: 8, localAddress: "127.0.0.1", localPort: 43707,
                    remoteAddress: "127.0.0.1", remotePort: 34358, recvQ: 1),
                DiagSocket(
                    family: 4, state: 1, localAddress: "127.0.0.1", localPort: 34346,
                    remoteAddress: "127.0.0.1", remotePort: 43707, recvQ: 32, sendQ: 16,
                    timer: 1, expiresMs: 420, inode: 114705, uid: 1000),
                DiagSocket(
                    family: 4, state: 5, localAddress: "127.0.0.1", localPort: 34358,
                    remoteAddress: "127.0.0.1", remotePort: 43707, timer: 3, expiresMs: 59830),
                DiagSocket(
                    family: 4, state: 6, localAddress: "10.0.0.1", localPort: 54321,
                    remoteAddress: "10.0.0.5", remotePort: 80, timer: 3, expiresMs: 60000),
                DiagSocket(
                    family: 4, state: 3, localAddress: "127.0.0.1", localPort: 43707,
                    remoteAddress: "127.0.0.1", remotePort: 50000, timer: 1, expiresMs: 1000, uid: 1000),
            ])
        #expect(
            sockets.map(\.ssName) == [
                "LISTEN", "LISTEN", "ESTAB", "CLOSE-WAIT", "ESTAB", "FIN-WAIT-2", "TIME-WAIT", "SYN-RECV",
            ])
    }

    @Test("/proc/net/tcp6: ::, ::ffff:a.b.c.d, ::1 and a global address")
    func procNetTCP6() {
        let sockets = SocketDiag.parseProcNetTCP(Self.procNetTCP6, family: 6)
        #expect(
            sockets == [
                DiagSocket(
                    family: 6, state: 10, localAddress: "::", localPort: 50153,
                    remoteAddress: "::", remotePort: 0, recvQ: 2, inode: 114710),
                DiagSocket(
                    family: 6, state: 1, localAddress: "::ffff:127.0.0.1", localPort: 49378,
                    remoteAddress: "::ffff:127.0.0.1", remotePort: 50153, inode: 114711),
                DiagSocket(
                    family: 6, state: 1, localAddress: "::1", localPort: 48086,
                    remoteAddress: "::1", remotePort: 50153, inode: 114712),
                DiagSocket(
                    family: 6, state: 6, ssName: "TIME-WAIT", localAddress: "2001:db8::1", localPort: 80,
                    remoteAddress: "2001:db8::5", remotePort: 58096, timer: 3, expiresMs: 30000),
            ])
    }

    @Test("/proc/net/tcp: the header, blank, short and malformed lines are skipped")
    func procNetTCPMalformed() {
        let text = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode

               0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000
               1: 0100007G:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
               2: 00000000000000000000000000000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 0 0 0 1
               3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7 1
            """
        #expect(
            SocketDiag.parseProcNetTCP(text, family: 4) == [
                DiagSocket(
                    family: 4, state: 10, localAddress: "127.0.0.1", localPort: 8080,
                    remoteAddress: "0.0.0.0", remotePort: 0, inode: 7)
            ])
        #expect(SocketDiag.parseProcNetTCP("", family: 6).isEmpty)
    }

    // /proc/net/snmp (Ip, Tcp) and /proc/net/netstat (TcpExt, IpExt) as captured on 6.18; the
    // TcpExt pair is cut to its first 26 columns.
    static let snmpAndNetstat = """
        Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos \
        InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs \
        ReasmFails FragOKs FragFails FragCreates OutTransmits
        Ip: 2 64 230 0 0 0 0 0 230 242 0 0 0 0 0 0 0 0 0 242
        IcmpMsg: InType3
        IcmpMsg: 1
        Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets \
        CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
        Tcp: 1 200 120000 -1 9 2 0 0 0 52 65 0 0 0 0
        TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned \
        OfoPruned OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab \
        BeyondWindow TSEcrRejected PAWSOldAck PAWSTimewait DelayedACKs DelayedACKLocked DelayedACKLost \
        ListenOverflows ListenDrops TCPHPHits TCPPureAcks
        TcpExt: 0 0 0 0 0 0 0 0 0 0 8 0 0 0 0 0 0 0 0 0 0 0 5 7 4 12
        IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets \
        OutOctets InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts \
        InECT1Pkts InECT0Pkts InCEPkts ReasmOverlaps
        IpExt: 0 0 0 0 0 0 13064 18446744073709551615 0 0 0 0 0 230 0 0 0 0
        """

    @Test("ProcCounters.parse: nstat names and exact values")
    func counters() {
        let counters = ProcCounters.parse(Self.snmpAndNetstat)
        #expect(counters.count == 20 + 1 + 15 + 26 + 18)
        #expect(counters["TcpActiveOpens"] == 9)
        #expect(counters["TcpPassiveOpens"] == 2)
        #expect(counters["TcpMaxConn"] == -1)
        #expect(counters["TcpRtoMax"] == 120_000)
        #expect(counters["TcpOutSegs"] == 65)
        #expect(counters["TcpExtTW"] == 8)
        #expect(counters["TcpExtListenOverflows"] == 5)
        #expect(counters["TcpExtListenDrops"] == 7)
        #expect(counters["TcpExtTCPPureAcks"] == 12)
        #expect(counters["TcpExtSyncookiesSent"] == 0)
        #expect(counters["IpExtInOctets"] == 13064)
        #expect(counters["IpExtOutOctets"] == -1)  // above Int64.max: the bit pattern is kept
        #expect(counters["IpInReceives"] == 230)
        #expect(counters["IcmpMsgInType3"] == 1)
        #expect(counters["ActiveOpens"] == nil)
        #expect(counters["TW"] == nil)
    }

    @Test("ProcCounters.parse: unpaired and mismatched lines add nothing")
    func countersMalformed() {
        let text = """
            Tcp: ActiveOpens PassiveOpens
            Udp: InDatagrams
            Udp: 5
            TcpExt: TW TWKilled
            TcpExt: 1
            IpExt: InOctets
            IpExt: many
            """
        #expect(ProcCounters.parse(text) == ["UdpInDatagrams": 5])
        #expect(ProcCounters.parse("").isEmpty)
    }

    @Test("address names: an IPv4 address is its first 4 bytes only; each address is formatted once")
    func addressNames() {
        var names = AddressNames()
        func name(_ family: Int, _ bytes: [UInt8]) -> String {
            bytes.withUnsafeBytes { names.name(family: family, bytes: $0) }
        }
        let rest = [UInt8](repeating: 0, count: 12)
        let junk = [UInt8](repeating: 0xA5, count: 12)
        #expect(name(4, [10, 0, 0, 1] + rest) == "10.0.0.1")
        // Whatever follows the 4 bytes (sock_diag leaves it zero; here it is not), the key is the same.
        #expect(name(4, [10, 0, 0, 1] + junk) == "10.0.0.1")
        #expect(name(4, [1, 0, 0, 10] + junk) == "1.0.0.10")
        #expect(name(6, [10, 0, 0, 1] + rest) == "a00:1::")
        #expect(name(6, [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 10, 0, 0, 1]) == "::ffff:10.0.0.1")
    }

    @Test("SocketSummary: ss state counts without CLOSE, listeners sorted by port then address")
    func summary() {
        func socket(_ state: Int, _ local: String, _ port: Int, recvQ: Int = 0, sendQ: Int = 0) -> DiagSocket
        {
            DiagSocket(
                family: local.contains(":") ? 6 : 4, state: state, localAddress: local, localPort: port,
                remoteAddress: local.contains(":") ? "::" : "0.0.0.0", remotePort: state == 10 ? 0 : 40000,
                recvQ: recvQ, sendQ: sendQ)
        }
        let sockets = [
            socket(10, "0.0.0.0", 8080, recvQ: 5, sendQ: 4),
            socket(10, "::", 80, recvQ: 0, sendQ: 4096),
            socket(10, "0.0.0.0", 80, recvQ: 11, sendQ: 10),
            socket(10, "127.0.0.1", 22, sendQ: 128),
            socket(1, "10.0.0.1", 80),
            socket(1, "10.0.0.1", 80),
            socket(6, "10.0.0.1", 51000),
            socket(6, "10.0.0.1", 51001),
            socket(6, "10.0.0.1", 51002),
            socket(5, "10.0.0.1", 51003),
            socket(3, "10.0.0.1", 80),
            socket(7, "10.0.0.1", 51004),
            socket(8, "10.0.0.1", 80),
            socket(2, "10.0.0.1", 51005),
        ]
        let summary = SocketSummary(sockets)
        #expect(
            summary.states == [
                "LISTEN": 4, "ESTAB": 2, "TIME-WAIT": 3, "FIN-WAIT-2": 1, "SYN-RECV": 1, "CLOSE-WAIT": 1,
                "SYN-SENT": 1,
            ])
        #expect(
            summary.listeners == [
                ListenerQueue(address: "127.0.0.1", port: 22, recvQ: 0, sendQ: 128),
                ListenerQueue(address: "0.0.0.0", port: 80, recvQ: 11, sendQ: 10),
                ListenerQueue(address: "::", port: 80, recvQ: 0, sendQ: 4096),
                ListenerQueue(address: "0.0.0.0", port: 8080, recvQ: 5, sendQ: 4),
            ])
        #expect(SocketSummary([]) == SocketSummary([socket(7, "0.0.0.0", 1)]))
        #expect(SocketSummary([]).states.isEmpty)
    }

    @Test(
        "ss state names",
        arguments: [
            (1, "ESTAB"), (2, "SYN-SENT"), (3, "SYN-RECV"), (4, "FIN-WAIT-1"), (5, "FIN-WAIT-2"),
            (6, "TIME-WAIT"), (7, "CLOSE"), (8, "CLOSE-WAIT"), (9, "LAST-ACK"), (10, "LISTEN"),
            (11, "CLOSING"), (0, "UNKNOWN"), (14, "UNKNOWN"),
        ])
    func stateNames(state: Int, name: String) {
        #expect(TCPState.ssName(state) == name)
        #expect(
            DiagSocket(
                family: 4, state: state, localAddress: "", localPort: 0, remoteAddress: "", remotePort: 0
            ).ssName == name)
    }
}
