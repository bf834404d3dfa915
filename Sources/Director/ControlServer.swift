import CPlatform
import ControlProtocol
import FoundationEssentials
import Glibc
import Platform
import Logging
import NIOCore
import NIOPosix

/// Who is on the other end of a control connection (SO_PEERCRED), for the log of every runtime change.
public struct ControlPeer: Sendable, Hashable, CustomStringConvertible {
    public var uid: UInt32
    public var pid: Int32

    public init(uid: UInt32, pid: Int32) {
        self.uid = uid
        self.pid = pid
    }

    public var description: String { "uid \(uid) pid \(pid)" }
}

/// The control socket: a Unix stream socket, mode 0600 in a 0700 directory, one JSON request per connection.
public final class ControlServer: Sendable {
    public typealias Handler = @Sendable (ControlRequest, ControlPeer?) async -> ControlResponse

    let path: String
    let channel: any Channel

    /// Binds `path` (replacing a stale socket from a crashed run) and serves `handler` on `group`.
    public static func start(path: String, group: any EventLoopGroup, logger: Logger, handler: @escaping Handler) async throws -> ControlServer {
        try Files.makeDirectories(Files.directory(of: path), mode: 0o700)
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    try child.pipeline.syncOperations.addHandler(ControlHandler(handler: handler, logger: logger))
                }
            }
            .bind(unixDomainSocketPath: path)
            .get()
        // Root only: the socket can reload and reveal the whole configuration.
        chmod(path, 0o600)
        return ControlServer(path: path, channel: channel)
    }

    init(path: String, channel: any Channel) {
        self.path = path
        self.channel = channel
    }

    public func stop() async {
        try? await channel.close()
        unlink(path)
    }
}

/// Splits the stream into lines, refusing a line longer than the protocol allows.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            guard let line = buffer.readSlice(length: length) else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: 1)
            context.fireChannelRead(Self.wrapInboundOut(line))
            return .continue
        }
        if buffer.readableBytes > ControlFraming.maximumMessageBytes { throw ControlRequestTooLarge() }
        return .needMoreData
    }
}

struct ControlRequestTooLarge: Error {}

final class ControlHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let handler: ControlServer.Handler
    let logger: Logger

    init(handler: @escaping ControlServer.Handler, logger: Logger) {
        self.handler = handler
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        let channel = context.channel
        let handler = self.handler
        let logger = self.logger
        let request: ControlRequest
        do {
            request = try ControlFraming.decode(ControlRequest.self, from: line.readableBytesView)
        } catch {
            Self.reply(ControlResponse(ok: false, message: "request not understood: \(error)"), on: channel)
            return
        }
        let credentials: EventLoopFuture<directord_peer_credentials>? = (channel as? any SocketOptionProvider)?
            .unsafeGetSocketOption(level: .socket, name: .init(rawValue: SO_PEERCRED))
        Task {
            let peer = (try? await credentials?.get()).map { ControlPeer(uid: $0.uid, pid: $0.pid) }
            logger.debug("control request from \(peer?.description ?? "an unknown peer"): \(request)")
            let response = await handler(request, peer)
            Self.reply(response, on: channel)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.warning("control connection: \(error)")
        context.close(promise: nil)
    }

    static func reply(_ response: ControlResponse, on channel: any Channel) {
        let bytes: [UInt8]
        do { bytes = try ControlFraming.encode(response) } catch {
            bytes = Array("{\"ok\":false,\"message\":\"cannot encode the answer\"}\n".utf8)
        }
        let buffer = channel.allocator.buffer(bytes: bytes)
        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
    }
}
