// The checkers: run one probe against the network and answer up or down with a reason. No policy here.
import NIOCore
import NIOPosix

/// Runs one check; the scheduler's seam (tests use a fake that answers from a script).
public protocol CheckProber: Sendable {
    func probe(_ probe: CheckProbe, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult>
}

/// The real checkers over sockets.
public struct NetworkProber: CheckProber {
    /// MISC_CHECK's scripts and FILE_CHECK's files.
    public let scripts: MiscChecker
    public let files = FileChecker()

    /// `scripts`: how MISC_CHECK runs its programs (nil: MISC_CHECK answers down, as in tools without a runner).
    public init(scripts: (any CheckScriptRunning)? = nil) {
        self.scripts = MiscChecker(runner: scripts)
    }

    public func probe(_ probe: CheckProbe, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        switch probe {
        case .http(let check): HTTPChecker.check(check, on: eventLoop)
        case .tcp(let check): TCPChecker.check(check, on: eventLoop)
        case .misc(let check): scripts.check(check, on: eventLoop)
        case .file(let check): files.check(check, on: eventLoop)
        case .smtp(let check): SMTPChecker.check(check, on: eventLoop)
        case .dns(let check): DatagramChecker.check(dns: check, on: eventLoop)
        case .udp(let check): DatagramChecker.check(udp: check, on: eventLoop)
        case .ping(let check): PingChecker.check(check, on: eventLoop)
        }
    }
}

public enum HTTPChecker {
    /// Fetches every url in order and stops at the first that fails; up only when all pass.
    public static func check(_ check: HTTPCheck, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        let promise = eventLoop.makePromise(of: CheckResult.self)
        fetch(check, url: 0, promise: promise)
        return promise.futureResult
    }

    /// One url, then the next from its completion: one promise per check, not a chain of futures per url.
    private static func fetch(_ check: HTTPCheck, url index: Int, promise: EventLoopPromise<CheckResult>) {
        guard index < check.urls.count else {
            promise.succeed(.up)
            return
        }
        let url = check.urls[index]
        HTTPFetch.run(HTTPFetchRequest(check: check, url: url, keepBody: url.regex != nil), on: promise.futureResult.eventLoop).whenComplete { result in
            switch result {
            case .success(let response):
                if !url.statusCodes.contains(response.status) {
                    promise.succeed(.down(.statusCode(got: response.status, expected: url.statusCodes), path: url.path))
                } else if let expected = url.digest, expected != response.digest {
                    promise.succeed(.down(.digestMismatch(got: response.digest, expected: expected), path: url.path))
                } else if let regex = url.regex, let why = regex.judge(response.body ?? []) {
                    promise.succeed(.down(.regexMismatch(why), path: url.path))
                } else {
                    fetch(check, url: index + 1, promise: promise)
                }
            case .failure(let error):
                promise.succeed(.down(error as? CheckFailure ?? .ioError("\(error)"), path: url.path))
            }
        }
    }
}

public enum TCPChecker {
    public static func check(_ check: TCPCheck, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        eventLoop.startingOnLoop(of: CheckResult.self) { start(check, promise: $0) }
    }

    private static func start(_ check: TCPCheck, promise: EventLoopPromise<CheckResult>) {
        let eventLoop = promise.futureResult.eventLoop
        guard let connection = CheckConnection.opening(check.connect, bindAddress: check.bindAddress, bindPort: check.bindPort,
                                                       socket: check.socket, orAnswering: promise)
        else { return }
        let attempt = ConnectAttempt(timeout: check.connectTimeout, promise: promise)
        let box = NIOLoopBound(attempt, eventLoop: eventLoop)
        let bootstrap = connection.bootstrap(on: eventLoop, deadline: check.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectClock(attempt: box.value))
                }
            }
        attempt.arm(on: eventLoop)
        bootstrap.connect(to: connection.remote).whenComplete { result in
            switch result {
            case .success: box.value.finish(.up)
            case .failure(let error): box.value.finish(.down(FetchHandler.connectFailure(error)))
            }
        }
    }
}

/// One TCP_CHECK connect: up when it connects within the timeout. At the deadline the kernel is asked first, so a
/// connect made in time counts even when the loop was too busy to handle it yet.
final class ConnectAttempt {
    private let timeout: TimeAmount
    private let promise: EventLoopPromise<CheckResult>
    private var issued = NIODeadline.now()
    private var channel: (any Channel)?
    private var deadline: Scheduled<Void>?
    private var done = false

    init(timeout: Duration, promise: EventLoopPromise<CheckResult>) {
        self.timeout = .nanoseconds(timeout.nanoseconds)
        self.promise = promise
    }

    func arm(on eventLoop: any EventLoop) {
        issued = .now()
        schedule(on: eventLoop, at: issued + timeout)
    }

    private func schedule(on eventLoop: any EventLoop, at time: NIODeadline) {
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        deadline = eventLoop.scheduleTask(deadline: time) {
            let attempt = loopBound.value
            guard !attempt.done else { return }
            let now = NIODeadline.now()
            let due = attempt.issued + attempt.timeout
            if due > now {
                attempt.schedule(on: eventLoop, at: due)
            } else if let kernel = KernelWitness(of: attempt.channel, now: now), kernel.connected(issuedAt: attempt.issued, by: due) {
                attempt.finish(.up)
            } else {
                attempt.finish(.down(.timeout(.connect)))
            }
        }
    }

    /// The channel exists and its connect is leaving for the kernel: the clock starts again from here, so a loop
    /// that was busy since `arm` does not shorten the real's time.
    func connecting(_ channel: any Channel) {
        self.channel = channel
        if done {
            channel.close(promise: nil)
        } else {
            issued = .now()
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

/// Tells the attempt when its connect leaves for the kernel.
private final class ConnectClock: ChannelOutboundHandler {
    typealias OutboundIn = Never

    private let attempt: ConnectAttempt

    init(attempt: ConnectAttempt) {
        self.attempt = attempt
    }

    func connect(context: ChannelHandlerContext, to address: SocketAddress, promise: EventLoopPromise<Void>?) {
        attempt.connecting(context.channel)
        context.connect(to: address, promise: promise)
    }
}
