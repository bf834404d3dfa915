// A scripted TCP server on 127.0.0.1 port 0: reads the request head, then plays its steps (send, pause, dribble,
// reset, close, hang). Hostile servers for the checker tests.
import Glibc
import NIOCore
import NIOPosix
import Reactor
import Synchronization
@testable import HealthCheck

enum ServerStep: Sendable {
    case send([UInt8])
    case pause(TimeAmount)
    /// Sends one byte of `bytes` every `interval`, cycling forever.
    case dribble([UInt8], every: TimeAmount)
    /// RST instead of FIN (SO_LINGER 0).
    case reset
    case close
    /// Keeps the connection open and says nothing more.
    case hang

    static func send(_ text: String) -> ServerStep { .send(Array(text.utf8)) }
}

final class LoopbackServer: Sendable {
    let port: Int
    private let channel: any Channel
    private let recorded: Mutex<[String]>
    private let script: Mutex<[ServerStep]>

    /// What the next connection will be answered with (by default: the steps given at start).
    func setScript(_ steps: [ServerStep]) { script.withLock { $0 = steps } }
    var currentScript: [ServerStep] { script.withLock { $0 } }

    private let counted = Mutex(0)

    /// The first 100 requests received, each the text of the head up to the blank line.
    var requests: [String] { recorded.withLock { $0 } }
    var requestCount: Int { counted.withLock { $0 } }

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
        self.recorded = Mutex([])
        self.script = Mutex([])
    }

    static func start(_ steps: [ServerStep], readRequest: Bool = true, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> LoopbackServer {
        try await start(routes: [:], default: steps, readRequest: readRequest, group: group)
    }

    /// Answers by request path; `default` for paths not in `routes`.
    static func start(routes: [String: [ServerStep]], default steps: [ServerStep] = [.send("HTTP/1.0 404 Not Found\r\n\r\n"), .close], readRequest: Bool = true,
                      group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> LoopbackServer {
        let box = RequestLog()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptHandler(routes: routes, steps: box.server?.currentScript ?? steps, readRequest: readRequest, log: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw TestSetupError("server has no port") }
        let server = LoopbackServer(port: port, channel: channel)
        server.setScript(steps)
        box.sink = { request in
            server.counted.withLock { $0 += 1 }
            server.recorded.withLock { if $0.count < 100 { $0.append(request) } }
        }
        box.server = server
        return server
    }

    func stop() async {
        try? await channel.close()
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Carries the recorder into the server's handlers before the server object exists.
final class RequestLog: @unchecked Sendable {
    // Written once right after bind, before any client connects.
    var sink: (@Sendable (String) -> Void)?
    weak var server: LoopbackServer?
}

private final class ScriptHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let routes: [String: [ServerStep]]
    private var steps: [ServerStep]
    private var waitingForRequest: Bool
    private var received: [UInt8] = []
    private let log: RequestLog

    init(routes: [String: [ServerStep]], steps: [ServerStep], readRequest: Bool, log: RequestLog) {
        self.routes = routes
        self.steps = steps
        self.waitingForRequest = readRequest
        self.log = log
    }

    func channelActive(context: ChannelHandlerContext) {
        if !waitingForRequest { play(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard waitingForRequest else { return }
        received.append(contentsOf: unwrapInboundIn(data).readableBytesView)
        if let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
            waitingForRequest = false
            let request = String(decoding: received[..<end.lowerBound], as: UTF8.self)
            log.sink?(request)
            let words = request.split(separator: " ", maxSplits: 2)
            if words.count > 1, let routed = routes[String(words[1])] { steps = routed }
            play(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func play(context: ChannelHandlerContext) {
        guard !steps.isEmpty else { return }
        let step = steps.removeFirst()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        switch step {
        case .send(let bytes):
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes))).whenComplete { _ in
                let (handler, context) = bound.value
                handler.play(context: context)
            }
        case .pause(let delay):
            context.eventLoop.scheduleTask(in: delay) {
                let (handler, context) = bound.value
                handler.play(context: context)
            }
        case .dribble(let bytes, let interval):
            dribble(context: context, bytes: bytes, index: 0, interval: interval)
        case .reset:
            if let provider = context.channel as? any SocketOptionProvider {
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
                    bound.value.1.close(promise: nil)
                }
            } else {
                context.close(promise: nil)
            }
        case .close:
            context.close(promise: nil)
        case .hang:
            break
        }
    }

    private func dribble(context: ChannelHandlerContext, bytes: [UInt8], index: Int, interval: TimeAmount) {
        guard context.channel.isActive, !bytes.isEmpty else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: [bytes[index % bytes.count]])), promise: nil)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: interval) {
            let (handler, context) = bound.value
            handler.dribble(context: context, bytes: bytes, index: index + 1, interval: interval)
        }
    }
}

/// Runs `body` on an event loop of its own that a task blocks for `blockFor`: `blockAfter` into the check, or (nil)
/// right behind the check's start, in the same turn of the loop.
func onBusyLoop(blockAfter: Duration? = nil, blockFor: Duration,
                _ body: @escaping @Sendable (Reactor, @escaping (CheckResult) -> Void) -> Void) async throws -> CheckResult {
    let thread = try ReactorThread(name: "busy-reactor")
    defer { thread.stop() }
    let micros = UInt32(blockFor.components.seconds * 1_000_000 + blockFor.components.attoseconds / 1_000_000_000_000)
    return await thread.result { reactor, done in
        body(reactor, done)
        // The check has started; then the reactor's thread is blocked, as a saturated checker is.
        reactor.schedule(after: blockAfter ?? .zero) { _ = usleep(micros) }
    } ?? .down(.ioError("the reactor stopped"))
}

/// The reactor thread the tests' checks run on.
let testCheckerThread: ReactorThread = {
    do {
        return try ReactorThread(name: "test-checker")
    } catch {
        fatalError("no reactor for the tests: \(error)")
    }
}()
