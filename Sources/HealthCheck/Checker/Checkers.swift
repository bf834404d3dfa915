// The checkers: run one probe against the network and answer up or down with a reason. No policy here.
import Reactor

/// Runs one check; the scheduler's seam (tests use a fake that answers from a script).
public protocol CheckProber: Sendable {
    /// Starts the check; `done` is called exactly once, on `reactor`'s thread.
    func probe(_ probe: CheckProbe, on reactor: Reactor, done: @escaping (CheckResult) -> Void)
}

/// The real checkers, all on the reactor: a non-blocking socket per network check (no NIO channel), MISC_CHECK's
/// script waited for in the concurrency pool, FILE_CHECK's file read at once.
public struct NetworkProber: CheckProber {
    /// MISC_CHECK's scripts and FILE_CHECK's files.
    public let scripts: MiscChecker
    public let files = FileChecker()

    /// `scripts`: how MISC_CHECK runs its programs (nil: MISC_CHECK answers down, as in tools without a runner).
    public init(scripts: (any CheckScriptRunning)? = nil) {
        self.scripts = MiscChecker(runner: scripts)
    }

    public func probe(_ probe: CheckProbe, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        switch probe {
        case .http(let check): HTTPChecker.check(check, on: reactor, done: done)
        case .tcp(let check): TCPChecker.check(check, on: reactor, done: done)
        case .misc(let check): scripts.check(check, on: reactor, done: done)
        case .file(let check): done(files.check(check))
        case .smtp(let check): SMTPChecker.check(check, on: reactor, done: done)
        case .dns(let check): DatagramChecker.check(dns: check, on: reactor, done: done)
        case .udp(let check): DatagramChecker.check(udp: check, on: reactor, done: done)
        case .ping(let check): PingChecker.check(check, on: reactor, done: done)
        }
    }
}

public enum HTTPChecker {}

public enum TCPChecker {}

/// SMTP_CHECK (on the reactor: ReactorSMTP.swift).
public enum SMTPChecker {}
