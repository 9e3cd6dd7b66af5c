import HostInspect

extension DiagSocket {
    /// A socket for tests built from fixed samples: the kernel `state` number, both ends, and
    /// the fields tests vary (the rest as sock_diag reports a plain socket).
    public static func fixture(
        _ state: Int, _ local: String, _ localPort: Int, _ remote: String, _ remotePort: Int,
        family: Int = 4, recvQ: Int = 0, sendQ: Int = 0, timer: Int = 0, expiresMs: Int = 0,
        timestamps: Bool? = nil
    ) -> DiagSocket {
        DiagSocket(
            family: family, state: state, localAddress: local, localPort: localPort, remoteAddress: remote,
            remotePort: remotePort, recvQ: recvQ, sendQ: sendQ, timer: timer, expiresMs: expiresMs,
            timestamps: timestamps)
    }
}
