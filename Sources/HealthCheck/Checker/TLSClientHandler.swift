// Drives a TLSConnection (OpenSSL over memory BIOs) between the socket and the HTTP codec. Plaintext writes wait
// until the handshake is done; then every read is decrypted and passed on.
import NIOCore

/// Fired inbound once the handshake completes, so the fetch can move from the handshake phase to the response.
struct TLSHandshakeCompleted {}

final class TLSClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: TLSConnection
    private var handshakeDone = false
    private var failed = false
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []

    init(connection: TLSConnection) {
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { advanceHandshake(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        advanceHandshake(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        do {
            try buffer.withUnsafeReadableBytes { try connection.feed($0) }
        } catch {
            fail(context: context, error as? CheckFailure ?? .tlsFailed("\(error)"))
            return
        }
        if !handshakeDone {
            advanceHandshake(context: context)
            guard handshakeDone else { return }
        }
        decrypt(context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        guard handshakeDone else {
            pendingWrites.append((buffer, promise))
            return
        }
        encrypt(context: context, buffer, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        if handshakeDone { context.flush() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        let writes = pendingWrites
        pendingWrites = []
        for (_, promise) in writes { promise?.fail(ChannelError.ioOnClosedChannel) }
    }

    private func advanceHandshake(context: ChannelHandlerContext) {
        guard !handshakeDone, !failed else { return }
        let step = connection.handshake()
        sendOutgoing(context: context, promise: nil)
        switch step {
        case .done:
            handshakeDone = true
            context.fireUserInboundEventTriggered(TLSHandshakeCompleted())
            let writes = pendingWrites
            pendingWrites = []
            for (buffer, promise) in writes { encrypt(context: context, buffer, promise: promise) }
            context.flush()
        case .wantMore:
            context.flush()
        case .closed:
            fail(context: context, .tlsHandshakeFailed("peer closed the TLS session during the handshake"))
        case .failed(let message):
            fail(context: context, .tlsHandshakeFailed(message))
        }
    }

    private func decrypt(context: ChannelHandlerContext) {
        let step = connection.read { bytes in
            context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: bytes)))
        }
        // TLS 1.3 servers may send session tickets after the handshake; they need no answer, but alerts might.
        sendOutgoing(context: context, promise: nil)
        context.flush()
        switch step {
        case .done, .wantMore:
            break
        case .closed:
            // close_notify: the peer is done, as a TCP EOF would say.
            context.fireChannelReadComplete()
            context.close(promise: nil)
        case .failed(let message):
            fail(context: context, .tlsFailed(message))
        }
    }

    private func encrypt(context: ChannelHandlerContext, _ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        do {
            try buffer.withUnsafeReadableBytes { try connection.write($0) }
        } catch {
            let failure = error as? CheckFailure ?? .tlsFailed("\(error)")
            promise?.fail(failure)
            fail(context: context, failure)
            return
        }
        sendOutgoing(context: context, promise: promise)
    }

    private func sendOutgoing(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let bytes = connection.takeOutgoing()
        guard !bytes.isEmpty else {
            promise?.succeed(())
            return
        }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: promise)
    }

    private func fail(context: ChannelHandlerContext, _ error: CheckFailure) {
        guard !failed else { return }
        failed = true
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
