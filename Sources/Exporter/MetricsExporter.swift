import Dispatch
import FlyingFox
import FlyingSocks
import FoundationEssentials
import HostInspect
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which namespaces one scrape reads.
public enum NamespaceSelection: Sendable, Equatable {
    /// The exporter's own namespace only (label `netns=""`).
    case current
    /// These names under `/run/netns`.
    case named([String])
    /// The exporter's own namespace and every name under `/run/netns`, looked up at each scrape.
    case all

    /// The `netns` labels of one scrape, `""` for the exporter's own namespace.
    public func labels() -> [String] {
        switch self {
        case .current: [""]
        case .named(let names):
            // Each once: a name given twice would be read twice and its counters added up.
            names.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        case .all: [""] + NetworkNamespace.names()
        }
    }
}

/// `twlab export`: serves `GET /metrics` in the Prometheus text format over HTTP.
///
/// Each scrape reads every selected namespace afresh (one sample each: rates are Prometheus's
/// business) on a POSIX thread of its own, off the Swift-concurrency pool, because the reading
/// blocks: netlink dumps and /proc reads, and for a named namespace a `pthread_join` on the thread
/// ``NetworkNamespace/run(in:_:)`` moves there with setns (that thread, not this one, enters the
/// namespace). The pool has one thread per core, so a blocked scrape on it would stall the HTTP
/// server's other tasks. Scrapes run concurrently and share nothing.
/// `/` answers with a pointer to `/metrics`; any other path is 404, any method but GET and HEAD on
/// `/metrics` is 405 with an `Allow` header. HTTP is FlyingFox's (non-blocking sockets, no
/// SwiftNIO); requests it cannot parse close their connection and nothing else.
public final class MetricsExporter: Sendable {
    public let listen: ListenAddress
    public let selection: NamespaceSelection
    /// Destinations kept per namespace.
    public let top: Int
    private let server: HTTPServer

    public init(listen: ListenAddress = .standard, selection: NamespaceSelection = .current, top: Int = 10) {
        self.listen = listen
        self.selection = selection
        self.top = top
        let address: any SocketAddress =
            listen.isIPv6
            ? (try? sockaddr_in6.inet6(ip6: listen.host, port: listen.port))
                ?? sockaddr_in6.loopback(port: listen.port)
            : (try? sockaddr_in.inet(ip4: listen.host, port: listen.port))
                // Unreachable (``ListenAddress/parse(_:)`` checked the address); never wider
                // than loopback if it were not.
                ?? (try! sockaddr_in.inet(ip4: "127.0.0.1", port: listen.port))
        server = HTTPServer(address: address, timeout: 30, logger: .disabled)
    }

    /// The text of one scrape (what `GET /metrics` returns), read on a thread of its own.
    public func scrape() async -> String {
        let labels = selection.labels()
        let top = self.top
        return await Self.offPool {
            // Slab sizes and the kernel release are the host's, the same for every namespace.
            let host = HostWide.read()
            return Metrics.exposition(labels.map { Self.read($0, top: top, host: host) })
        }
    }

    /// Reads one namespace (`""`: the exporter's own); `host`: this scrape's host-wide part.
    static func read(_ label: String, top: Int, host: HostWide) -> NamespaceReading {
        let start = HostSample.monotonicSeconds()
        let result: Result<Inspection, InspectError>
        do throws(InspectError) {
            let netns = label.isEmpty ? nil : label
            let sample = try Inspector.sample(netns: netns, host: host)
            result = .success(Inspection(sample: sample, netns: netns, top: top))
        } catch {
            result = .failure(error)
        }
        return NamespaceReading(
            netns: label, inspection: result, seconds: HostSample.monotonicSeconds() - start)
    }

    /// Runs `body` on a new detached POSIX thread and resumes with its value.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = DetachedThread {
                continuation.resume(returning: body())
            }
            if !thread.start() { continuation.resume(returning: body()) }
        }
    }

    /// Serves until the task is cancelled or the socket fails. `onListening` gets the bound
    /// address (with the real port when 0 was asked) once connections are accepted.
    public func run(onListening: (@Sendable (ListenAddress) -> Void)? = nil) async throws(ExportError) {
        await server.appendRoute("/metrics") { [self] request in
            guard request.method == .GET || request.method == .HEAD else {
                return HTTPResponse(
                    statusCode: .methodNotAllowed,
                    headers: [.init("Allow"): "GET, HEAD", .contentType: "text/plain"],
                    body: Data("method \(request.method.rawValue) not allowed on /metrics: use GET\n".utf8))
            }
            let text = await scrape()
            return HTTPResponse(
                statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: request.method == .HEAD ? Data() : Data(text.utf8))
        }
        await server.appendRoute("/") { request in
            guard request.path == "/" else { return HTTPResponse(statusCode: .notFound) }
            return HTTPResponse(
                statusCode: .ok, headers: [.contentType: "text/plain"],
                body: Data("twlab exporter: metrics at /metrics\n".utf8))
        }
        await server.appendRoute("*") { request in
            HTTPResponse(
                statusCode: .notFound, headers: [.contentType: "text/plain"],
                body: Data("not found: \(request.path) (metrics are at /metrics)\n".utf8))
        }
        let announcer = Task { [server, listen] in
            try await server.waitUntilListening()
            var bound = listen
            if case .ip4(_, let port) = await server.listeningAddress {
                bound.port = port
            } else if case .ip6(_, let port) = await server.listeningAddress {
                bound.port = port
            }
            onListening?(bound)
        }
        defer { announcer.cancel() }
        do {
            try await server.run()
        } catch is CancellationError {
            return
        } catch {
            throw ExportError("cannot serve on \(listen): \(Self.describe(error))")
        }
    }

    /// Stops serving: the listening socket closes and open connections get `timeout` seconds.
    public func stop(timeout: Double = 0) async {
        await server.stop(timeout: timeout)
    }

    /// Serves on the calling thread until the server fails (the command line's way in).
    public func runBlocking(onListening: (@Sendable (ListenAddress) -> Void)? = nil) throws(ExportError) {
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<ExportError?>(nil)
        Task.detached { [self] in
            do throws(ExportError) {
                try await run(onListening: onListening)
            } catch {
                failure.withLock { $0 = error }
            }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// FlyingSocks' errors say "SocketError. bind(98): Address already in use"; keep the errno text.
    static func describe(_ error: any Error) -> String {
        if let socketError = error as? SocketError, case .failed(let type, _, let message) = socketError {
            return "\(type): \(message)"
        }
        return String(describing: error)
    }
}

/// A POSIX thread that runs one closure and detaches (nobody joins it).
private final class DetachedThread: @unchecked Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    func start() -> Bool {
        let raw = Unmanaged.passRetained(self).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        defer { pthread_attr_destroy(&attributes) }
        var thread = pthread_t()
        let status = pthread_create(
            &thread, &attributes,
            { raw in
                let me = Unmanaged<DetachedThread>.fromOpaque(raw!).takeRetainedValue()
                me.body()
                return nil
            }, raw)
        if status != 0 { Unmanaged<DetachedThread>.fromOpaque(raw).release() }
        return status == 0
    }
}
