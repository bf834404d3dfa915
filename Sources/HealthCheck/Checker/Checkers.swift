// The checkers: run one probe against the network and answer up or down with a reason. No policy here.
import NIOCore
import NIOPosix
import Reactor

/// Runs one check; the scheduler's seam (tests use a fake that answers from a script).
public protocol CheckProber: Sendable {
    /// Starts the check; `done` is called exactly once, on `reactor`'s thread.
    func probe(_ probe: CheckProbe, on reactor: Reactor, done: @escaping (CheckResult) -> Void)
}

/// The real checkers. HTTP_GET, SSL_GET and TCP_CHECK run on the reactor itself (a socket each, no NIO channel);
/// SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, MISC_CHECK and FILE_CHECK still run on a SwiftNIO event loop, and
/// their results come back to the reactor.
public struct NetworkProber: CheckProber {
    /// MISC_CHECK's scripts and FILE_CHECK's files.
    public let scripts: MiscChecker
    public let files = FileChecker()
    private let eventLoop: any EventLoop

    /// `scripts`: how MISC_CHECK runs its programs (nil: MISC_CHECK answers down, as in tools without a runner).
    /// `eventLoop`: where the checkers still on SwiftNIO run (nil: NIO's shared group).
    public init(scripts: (any CheckScriptRunning)? = nil, eventLoop: (any EventLoop)? = nil) {
        self.scripts = MiscChecker(runner: scripts)
        self.eventLoop = eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
    }

    public func probe(_ probe: CheckProbe, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        switch probe {
        case .http(let check): HTTPChecker.check(check, on: reactor, done: done)
        case .tcp(let check): TCPChecker.check(check, on: reactor, done: done)
        case .misc(let check): Self.bridge(scripts.check(check, on: eventLoop), to: reactor, done)
        case .file(let check): Self.bridge(files.check(check, on: eventLoop), to: reactor, done)
        case .smtp(let check): Self.bridge(SMTPChecker.check(check, on: eventLoop), to: reactor, done)
        case .dns(let check): Self.bridge(DatagramChecker.check(dns: check, on: eventLoop), to: reactor, done)
        case .udp(let check): Self.bridge(DatagramChecker.check(udp: check, on: eventLoop), to: reactor, done)
        case .ping(let check): Self.bridge(PingChecker.check(check, on: eventLoop), to: reactor, done)
        }
    }

    /// A NIO checker's answer, handed back to the reactor's thread.
    private static func bridge(_ future: EventLoopFuture<CheckResult>, to reactor: Reactor, _ done: @escaping (CheckResult) -> Void) {
        let done = Confined(done)
        future.whenComplete { result in
            let answer: CheckResult
            switch result {
            case .success(let r): answer = r
            case .failure(let error): answer = .down(error as? CheckFailure ?? .ioError("\(error)"))
            }
            // Refused only once the reactor has stopped, when nobody waits for the answer.
            reactor.submit { done.value(answer) }
        }
    }
}

public enum HTTPChecker {}

public enum TCPChecker {}
