// SMTP_CHECK over a NIO channel: the connection and timers here, the conversation in SMTPConversation (pure).
import NIOCore
import NIOPosix

public enum SMTPChecker {
    public static func check(_ check: SMTPCheck, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        eventLoop.startingOnLoop(of: CheckResult.self) { start(check, promise: $0) }
    }

    private static func start(_ check: SMTPCheck, promise: EventLoopPromise<CheckResult>) {
        let eventLoop = promise.futureResult.eventLoop
        guard let connection = CheckConnection.opening(check.connect, bindAddress: check.bindAddress, bindPort: check.bindPort,
                                                       socket: check.socket, orAnswering: promise)
        else { return }
        let session = SMTPSession(check: check, promise: promise)
        let box = NIOLoopBound(session, eventLoop: eventLoop)
        let bootstrap = connection.bootstrap(on: eventLoop, deadline: check.sessionTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    box.value.registered(channel)
                    try channel.pipeline.syncOperations.addHandler(box.value)
                }
            }
        session.arm(on: eventLoop)
        bootstrap.connect(to: connection.remote).whenFailure { error in box.value.finish(.down(CheckConnection.connectFailure(error))) }
    }
}

/// One SMTP_CHECK on its channel. One timer, due at the earlier of the session's end and the last progress plus
/// connect_timeout (keepalived bounds each read by connect_timeout); at the deadline the kernel is asked first, so
/// a reply that arrived in time but that a busy loop has not read yet does not blame the real.
final class SMTPSession: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let check: SMTPCheck
    private let promise: EventLoopPromise<CheckResult>
    private var conversation: SMTPConversation
    private var connected = false
    private var done = false
    private var channel: (any Channel)?
    private var deadline: Scheduled<Void>?
    private var sessionEnd = NIODeadline.now()
    private var lastProgress = NIODeadline.now()

    init(check: SMTPCheck, promise: EventLoopPromise<CheckResult>) {
        self.check = check
        self.promise = promise
        conversation = SMTPConversation(heloName: check.heloName, maxReplyBytes: check.maxReplyBytes)
    }

    private var stepTimeout: TimeAmount { .nanoseconds(check.connectTimeout.nanoseconds) }

    func arm(on eventLoop: any EventLoop) {
        let now = NIODeadline.now()
        lastProgress = now
        sessionEnd = now + .nanoseconds(check.sessionTimeout.nanoseconds)
        schedule(on: eventLoop, at: now + stepTimeout)
    }

    private func schedule(on eventLoop: any EventLoop, at time: NIODeadline) {
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        deadline = eventLoop.scheduleTask(deadline: min(time, sessionEnd)) {
            let session = loopBound.value
            guard !session.done else { return }
            let now = NIODeadline.now()
            let due = min(session.sessionEnd, session.lastProgress + session.stepTimeout)
            if due > now {
                session.schedule(on: eventLoop, at: due)
            } else if session.sessionEnd > now, session.kernelHeardInTime(now: now, by: due) {
                session.schedule(on: eventLoop, at: now + session.stepTimeout)
            } else {
                let phase: CheckPhase = session.connected ? session.conversation.phase : .connect
                session.finish(.down(session.sessionEnd <= now && session.connected ? .fetchTimeout(phase) : .timeout(phase)))
            }
        }
    }

    private func kernelHeardInTime(now: NIODeadline, by due: NIODeadline) -> Bool {
        guard let kernel = KernelWitness(of: channel, now: now) else { return false }
        return connected ? kernel.receivedData(after: lastProgress, by: due) : kernel.connected(issuedAt: lastProgress, by: due)
    }

    func registered(_ channel: any Channel) {
        self.channel = channel
        if done { channel.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        connected = true
        lastProgress = .now()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let buffer = unwrapInboundIn(data)
        lastProgress = .now()
        for action in conversation.received(buffer.readableBytesView) {
            switch action {
            case .send(let line):
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: line)), promise: nil)
            case .finish(let result):
                finish(result)
                return
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.down(.closedEarly(conversation.phase)))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let io = error as? IOError, io.errnoCode == ECONNRESET {
            finish(.down(.connectionReset(conversation.phase)))
        } else {
            finish(.down(.ioError("\(error)")))
        }
    }

    func finish(_ result: CheckResult) {
        guard !done else { return }
        done = true
        deadline?.cancel()
        channel?.close(promise: nil)
        promise.succeed(result)
    }
}
