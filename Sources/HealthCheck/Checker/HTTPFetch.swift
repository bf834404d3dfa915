// One GET of one url: connect, optional TLS, request, and a bounded read of the response with its body's MD5.
// The HTTP checker judges the result; `directorctl genhash` prints it. Both share this code so the digest an
// operator obtains is exactly the one the checker compares.
import Addresses
import NIOCore
import NIOPosix


/// What came back from one url.
public struct HTTPFetchResponse: Sendable, Hashable {
    /// `HTTP/1.1`
    public let version: String
    public let status: Int
    public let reason: String
    public let headers: [HTTPHeaderField]
    /// Size of the decoded body (chunk framing removed).
    public let bodyBytes: Int
    /// MD5 of the decoded body, lower-case hex.
    public let digest: String
    public let chunked: Bool
    /// The body itself, only when asked for (genhash comparing with a local file).
    public let body: [UInt8]?

    public var statusLine: String { "\(version) \(status) \(reason)" }
}

/// The request one fetch sends and the limits it reads under; derived from an HTTPCheck and one of its urls.
public struct HTTPFetchRequest: Sendable, Hashable {
    public var connect: Endpoint
    public var bindAddress: IPAddress?
    public var bindPort: Int
    public var socket: CheckSocketOptions
    public var path: String
    /// Host header value; nil means the connect address (with the port unless it is the scheme's default).
    public var virtualhost: String?
    public var protocolVersion: HTTPRequestVersion
    public var tls: TLSOptions?
    public var connectTimeout: Duration
    public var fetchTimeout: Duration
    public var maxBodyBytes: Int
    public var maxHeaderBytes: Int
    /// When set, a status outside it fails at once without reading the body.
    public var failFastStatus: StatusCodeSet?
    public var keepBody: Bool

    public init(check: HTTPCheck, url: HTTPURLCheck, failFastStatus: Bool = true, keepBody: Bool = false) {
        connect = check.connect
        bindAddress = check.bindAddress
        bindPort = check.bindPort
        socket = check.socket
        path = url.path
        virtualhost = url.virtualhost ?? check.virtualhost
        protocolVersion = check.protocolVersion
        tls = check.tls
        connectTimeout = check.connectTimeout
        fetchTimeout = check.effectiveFetchTimeout
        maxBodyBytes = check.maxBodyBytes
        maxHeaderBytes = check.maxHeaderBytes
        self.failFastStatus = failFastStatus ? url.statusCodes : nil
        self.keepBody = keepBody
    }

    var hostHeader: String {
        if let virtualhost { return virtualhost }
        let defaultPort = tls == nil ? 80 : 443
        return connect.port == defaultPort ? connect.bracketedHost : "\(connect.bracketedHost):\(connect.port)"
    }

    /// RFC 6066 §3: SNI carries a host name, never an address literal.
    var serverName: String? {
        guard let tls, tls.enableSNI, let name = tls.sniName ?? virtualhost else { return nil }
        let bare = name.split(separator: ":").count > 2 ? name : String(name.split(separator: ":").first ?? "")
        if (try? SocketAddress(ipAddress: bare, port: 0)) != nil || bare.isEmpty { return nil }
        return bare
    }

    /// The request as sent: `GET path HTTP/1.x`, Host, User-Agent, and `Connection: close` except for plain 1.0.
    /// Written as bytes by the connection's front handler (no request encoder in the pipeline).
    var requestText: String {
        let version = protocolVersion == .http11 ? "HTTP/1.1" : "HTTP/1.0"
        let close = protocolVersion == .http10 ? "" : "Connection: close\r\n"
        return "GET \(path) \(version)\r\nHost: \(hostHeader)\r\nUser-Agent: directord-healthcheck\r\n\(close)\r\n"
    }
}

public enum HTTPFetch {
    /// Runs one fetch on `eventLoop`. The future fails only with `CheckFailure`.
    public static func run(_ request: HTTPFetchRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPFetchResponse> {
        eventLoop.startingOnLoop(of: HTTPFetchResponse.self) { start(request, promise: $0) }
    }

    private static func start(_ request: HTTPFetchRequest, promise: EventLoopPromise<HTTPFetchResponse>) {
        let eventLoop = promise.futureResult.eventLoop
        let connection: CheckConnection
        var tls: TLSConnection?
        do throws(CheckFailure) {
            connection = try CheckConnection(connect: request.connect, bindAddress: request.bindAddress, bindPort: request.bindPort,
                                             socket: request.socket)
            if request.tls != nil {
                tls = try TLSConnection(context: try TLSClientContext.context(for: request.tls?.identity), serverName: request.serverName)
            }
        } catch {
            promise.fail(error)
            return
        }
        let handler = FetchHandler(request: request, promise: promise)
        let tlsBox = NIOLoopBound(tls, eventLoop: eventLoop)
        let handlerBox = NIOLoopBound(handler, eventLoop: eventLoop)
        // One handler for plain HTTP (it writes the request and parses the response itself), three with TLS (a
        // progress meter below it): every handler is paid for on every check.
        let bootstrap = connection.bootstrap(on: eventLoop, deadline: request.fetchTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = handlerBox.value
                    handler.registered(channel)
                    let sync = channel.pipeline.syncOperations
                    if let tls = tlsBox.value {
                        try sync.addHandler(ByteMeter(after: { handler.madeProgress() }))
                        try sync.addHandler(TLSClientHandler(connection: tls))
                    }
                    try sync.addHandler(handler)
                }
            }
        handler.armDeadline(on: eventLoop)
        bootstrap.connect(to: connection.remote).whenFailure { error in handlerBox.value.connectFailed(error) }
    }
}

/// Counts inbound bytes as progress; below TLS, where the front handler sees only plaintext.
final class ByteMeter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let after: () -> Void

    init(after: @escaping () -> Void) {
        self.after = after
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
        after()
    }
}

/// The fetch over one connection: writes the request once connected, parses the response as it arrives (the
/// HTTP/1 parser of HTTPResponseParser.swift, with the head's cap), digests the body, and judges the clock.
final class FetchHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: HTTPFetchRequest
    private let promise: EventLoopPromise<HTTPFetchResponse>
    private var phase: CheckPhase = .connect
    private var done = false
    private var channel: (any Channel)?
    /// One timer for the whole fetch, due at the earlier of the fetch's end and the last progress plus the read
    /// timeout; re-armed from there rather than one timer per read or per bound.
    private var deadline: Scheduled<Void>?
    private var fetchEnd = NIODeadline.now()
    private var lastProgress = NIODeadline.now()
    private var parser: HTTPResponseParser
    private var head: HTTPResponseHead?
    private var bodyBytes = 0
    private var digest: MD5Digest?
    private var body: [UInt8]?

    init(request: HTTPFetchRequest, promise: EventLoopPromise<HTTPFetchResponse>) {
        self.request = request
        self.promise = promise
        parser = HTTPResponseParser(maxHeaderBytes: request.maxHeaderBytes)
    }

    private var readTimeout: TimeAmount { .nanoseconds(request.connectTimeout.nanoseconds) }

    /// Starts the clock: the connect, then every read, then the whole fetch.
    func armDeadline(on eventLoop: any EventLoop) {
        startClock()
        arm(on: eventLoop, at: min(fetchEnd, lastProgress + readTimeout))
    }

    private func startClock() {
        let now = NIODeadline.now()
        lastProgress = now
        fetchEnd = now + .nanoseconds(request.fetchTimeout.nanoseconds)
    }

    /// The connect is leaving for the kernel. A loop that was busy between the fetch's start and this moment has not
    /// given the real its time yet: the clock starts again (the armed deadline finds it moved and waits on).
    func connecting() {
        guard !done, phase == .connect else { return }
        startClock()
    }

    private func arm(on eventLoop: any EventLoop, at time: NIODeadline) {
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        deadline = eventLoop.scheduleTask(deadline: time) {
            let handler = loopBound.value
            guard !handler.done else { return }
            let now = NIODeadline.now()
            let due = min(handler.fetchEnd, handler.lastProgress + handler.readTimeout)
            if due > now {
                handler.arm(on: eventLoop, at: due)
            } else if handler.kernelHeardInTime(now: now) {
                // The loop is behind, not the real: look again once it has had time to handle what arrived.
                handler.arm(on: eventLoop, at: now + handler.readTimeout)
            } else if handler.fetchEnd <= now {
                // Reaching this while connecting means fetchTimeout < connectTimeout.
                handler.finish(.failure(handler.phase == .connect ? .timeout(.connect) : .fetchTimeout(handler.phase)))
            } else {
                handler.finish(.failure(.timeout(handler.phase)))
            }
        }
    }

    /// Whether the kernel received something from the real that the event loop has not handled yet, and received it
    /// in time (within the read timeout of the last progress the loop saw, and before the fetch's end): the
    /// handshake's answer while the loop still waits for the connect, or data newer than the loop's last read.
    func kernelHeardInTime(now: NIODeadline) -> Bool {
        guard let kernel = KernelWitness(of: channel, now: now) else { return false }
        let inTime = min(fetchEnd, lastProgress + readTimeout)
        if phase == .connect {
            return kernel.connected(issuedAt: lastProgress, by: inTime)
        }
        return kernel.receivedData(after: lastProgress, by: inTime)
    }

    /// The channel exists (before its connect): a deadline reached while connecting can close it.
    func registered(_ channel: any Channel) {
        self.channel = channel
        if done { channel.close(promise: nil) }
    }

    func connectFailed(_ error: any Error) {
        finish(.failure(Self.connectFailure(error)))
    }

    /// The connect is leaving for the kernel: the clock starts again from here (see `connecting`).
    func connect(context: ChannelHandlerContext, to address: SocketAddress, promise: EventLoopPromise<Void>?) {
        connecting()
        context.connect(to: address, promise: promise)
    }

    func channelActive(context: ChannelHandlerContext) {
        phase = request.tls == nil ? .responseHead : .tlsHandshake
        madeProgress()
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request.requestText)), promise: nil)
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSHandshakeCompleted, phase == .tlsHandshake { phase = .responseHead }
        context.fireUserInboundEventTriggered(event)
    }

    func madeProgress() { lastProgress = .now() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        if request.tls == nil { madeProgress() }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { input in
            var offset = 0
            do throws(HTTPResponseError) {
                while !done, let event = try parser.next(input, offset: &offset) {
                    handle(event, input)
                }
            } catch {
                finish(.failure(failure(error)))
            }
        }
    }

    private func handle(_ event: HTTPResponseEvent, _ input: UnsafeRawBufferPointer) {
        switch event {
        case .head(let head):
            self.head = head
            phase = .responseBody
            if let expected = request.failFastStatus, !expected.contains(head.status) {
                finish(.failure(.statusCode(got: head.status, expected: expected)))
                return
            }
            do throws(CheckFailure) {
                digest = try MD5Digest()
            } catch {
                finish(.failure(error))
                return
            }
            if request.keepBody { body = [] }
        case .body(let range):
            bodyBytes += range.count
            guard bodyBytes <= request.maxBodyBytes else {
                finish(.failure(.bodyTooLarge(limit: request.maxBodyBytes)))
                return
            }
            let bytes = UnsafeRawBufferPointer(rebasing: input[range])
            do throws(CheckFailure) {
                try digest?.update(bytes)
            } catch {
                finish(.failure(error))
                return
            }
            body?.append(contentsOf: bytes)
        case .end:
            guard let head, let digest else {
                finish(.failure(.malformedResponse("end of response without a status line")))
                return
            }
            do throws(CheckFailure) {
                finish(.success(HTTPFetchResponse(
                    version: head.version, status: head.status, reason: head.reason, headers: head.headers,
                    bodyBytes: bodyBytes, digest: try digest.finish(), chunked: head.chunked, body: body)))
            } catch {
                finish(.failure(error))
            }
        }
    }

    /// A parse failure as the check reports it, naming the phase a truncation happened in.
    private func failure(_ error: HTTPResponseError) -> CheckFailure {
        switch error {
        case .headersTooLarge(let limit): .headersTooLarge(limit: limit)
        case .malformed(let why): .malformedResponse(why)
        case .closedInHead, .closedInBody: .closedEarly(phase)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(mapError(error)))
    }

    /// The server's close ends a body that runs to the end of the connection; anywhere else it is too early.
    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            do throws(HTTPResponseError) {
                if let event = try parser.finish() { handle(event, UnsafeRawBufferPointer(start: nil, count: 0)) }
            } catch {
                finish(.failure(failure(error)))
            }
        }
        finish(.failure(.closedEarly(phase)))
        context.fireChannelInactive()
    }

    private func mapError(_ error: any Error) -> CheckFailure {
        switch error {
        case let failure as CheckFailure:
            return failure
        case let io as IOError where io.errnoCode == ECONNRESET || io.errnoCode == EPIPE:
            return .connectionReset(phase)
        default:
            return .ioError("\(error)")
        }
    }

    static func connectFailure(_ error: any Error) -> CheckFailure {
        switch error {
        case let failure as CheckFailure: return failure
        case ChannelError.connectTimeout: return .timeout(.connect)
        case let io as IOError where io.errnoCode == ECONNREFUSED: return .connectionRefused
        case let io as IOError where io.errnoCode == EADDRINUSE || io.errnoCode == EADDRNOTAVAIL:
            return .bindFailed("\(io)")
        default: return .connectFailed("\(error)")
        }
    }

    private func finish(_ result: Result<HTTPFetchResponse, CheckFailure>) {
        guard !done else { return }
        done = true
        deadline?.cancel()
        channel?.close(promise: nil)
        promise.completeWith(result.mapError { $0 as any Error })
    }
}

extension EventLoop {
    /// A promise that `start` completes, started at once when already on this loop (no extra turn of the loop per
    /// check), else from the loop's queue.
    func startingOnLoop<Value: Sendable>(of: Value.Type, _ start: @escaping @Sendable (EventLoopPromise<Value>) -> Void)
        -> EventLoopFuture<Value>
    {
        let promise = makePromise(of: Value.self)
        if inEventLoop {
            start(promise)
        } else {
            execute { start(promise) }
        }
        return promise.futureResult
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max : product.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
