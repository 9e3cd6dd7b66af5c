import ArgumentParser
import Exporter
import HostInspect

#if canImport(Glibc)
    import Glibc
#endif

/// `twlab export [--listen 127.0.0.1:9840]`: the Prometheus exporter.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Serve inspection metrics for Prometheus at http://ADDRESS:PORT/metrics.",
        discussion: """
            Every scrape reads the selected namespaces afresh: socket states, the riskiest \
            destinations' port pressure, listener queues and the kernel counters, all named \
            twlab_* with a netns label ("" for this namespace). --netns and --all-netns need root.
            """)

    @Option(help: "Address and port to listen on (numeric; [::1]:9840 for IPv6; port 0 picks one).")
    var listen: String = ListenAddress.standard.description

    @Option(help: "Export this network namespace (/run/netns/NAME) instead of this one (repeatable).")
    var netns: [String] = []

    @Flag(help: "Export this namespace and every namespace under /run/netns.")
    var allNetns = false

    @Option(
        help:
            "Destinations exported per namespace, riskiest first (0: none; never all, unlike inspect, so that label cardinality stays bounded)."
    )
    var top: Int = 10

    func run() throws {
        let address: ListenAddress
        switch ListenAddress.parse(listen) {
        case .success(let value): address = value
        case .failure(let error): throw CommandFailure.bad("--listen \(error.message)")
        }
        guard top >= 0 else { throw CommandFailure.bad("--top \(top): must be 0 or more") }
        if allNetns && !netns.isEmpty {
            throw CommandFailure.bad("--all-netns and --netns exclude each other")
        }
        for name in netns {
            // Fail at start, not at the first scrape: the name must exist and be enterable.
            do {
                _ = try NetworkNamespace.run(in: name) { () throws(InspectError) in 0 }
            } catch {
                throw CommandFailure.bad("--netns \(name): \(error.message)")
            }
        }
        // The exporter runs until killed: a parent may have left SIGINT/SIGTERM/SIGHUP blocked
        // (the mask is inherited), and then Ctrl-C or `kill` would not stop it.
        var stop = sigset_t()
        sigemptyset(&stop)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&stop, signal) }
        pthread_sigmask(SIG_UNBLOCK, &stop, nil)
        let exporter = MetricsExporter(
            listen: address, selection: allNetns ? .all : netns.isEmpty ? .current : .named(netns), top: top)
        do {
            try exporter.runBlocking { bound in
                Terminal.writeError("twlab export: serving http://\(bound)/metrics")
            }
        } catch {
            throw CommandFailure.bad("--listen \(address): \(error.message)")
        }
    }
}
