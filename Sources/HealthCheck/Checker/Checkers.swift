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
        @Sendable func next(_ index: Int) -> EventLoopFuture<CheckResult> {
            guard index < check.urls.count else { return eventLoop.makeSucceededFuture(.up) }
            let url = check.urls[index]
            return HTTPFetch.run(HTTPFetchRequest(check: check, url: url), on: eventLoop)
                .map { response -> CheckResult in
                    if !url.statusCodes.contains(response.status) {
                        return .down(.statusCode(got: response.status, expected: url.statusCodes), path: url.path)
                    }
                    if let expected = url.digest, expected != response.digest {
                        return .down(.digestMismatch(got: response.digest, expected: expected), path: url.path)
                    }
                    return .up
                }
                .flatMapError { error in
                    eventLoop.makeSucceededFuture(.down(error as? CheckFailure ?? .ioError("\(error)"), path: url.path))
                }
                .flatMap { result in result.isUp ? next(index + 1) : eventLoop.makeSucceededFuture(result) }
        }
        return next(0)
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
