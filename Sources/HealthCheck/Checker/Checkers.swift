// The checkers: run one probe against the network and answer up or down with a reason. No policy here.
import NIOCore
import NIOPosix

/// Runs one check; the scheduler's seam (tests use a fake that answers from a script).
public protocol CheckProber: Sendable {
    func probe(_ probe: CheckProbe, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult>
}

/// The real checkers over sockets.
public struct NetworkProber: CheckProber {
    public init() {}

    public func probe(_ probe: CheckProbe, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        switch probe {
        case .http(let check): HTTPChecker.check(check, on: eventLoop)
        case .tcp(let check): TCPChecker.check(check, on: eventLoop)
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
        HTTPFetch.run(HTTPFetchRequest(check: check, url: url), on: promise.futureResult.eventLoop).whenComplete { result in
            switch result {
            case .success(let response):
                if !url.statusCodes.contains(response.status) {
                    promise.succeed(.down(.statusCode(got: response.status, expected: url.statusCodes), path: url.path))
                } else if let expected = url.digest, expected != response.digest {
                    promise.succeed(.down(.digestMismatch(got: response.digest, expected: expected), path: url.path))
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
        let remote: SocketAddress
        do {
            remote = try check.connect.socketAddress()
        } catch {
            return eventLoop.makeSucceededFuture(.down(.connectFailed("bad address \(check.connect): \(error)")))
        }
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(check.connectTimeout.nanoseconds))
        if check.bindAddress != nil || check.bindPort != 0 {
            let host = check.bindAddress ?? (check.connect.isIPv6 ? "::" : "0.0.0.0")
            guard let local = try? SocketAddress(ipAddress: host, port: check.bindPort) else {
                return eventLoop.makeSucceededFuture(.down(.bindFailed("\(host):\(check.bindPort)")))
            }
            bootstrap = bootstrap.bind(to: local)
            if check.bindPort != 0 { bootstrap = bootstrap.channelOption(.socketOption(.so_reuseaddr), value: 1) }
        }
        return bootstrap.connect(to: remote)
            .flatMap { channel in channel.close().map { CheckResult.up }.recover { _ in .up } }
            .recover { error in .down(FetchHandler.connectFailure(error)) }
    }
}
