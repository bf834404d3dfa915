// SMTP_CHECK on the checker's reactor: the connection and its clock here, the conversation in SMTPConversation (pure).
import Glibc
import Platform
import Reactor

extension SMTPChecker {
    /// Greeting, HELO, QUIT; `done` runs once, on the reactor's thread.
    public static func check(_ check: SMTPCheck, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        SMTPAttempt(check: check, reactor: reactor, done: done).start()
    }

    public static func check(_ check: SMTPCheck, on thread: ReactorThread) async -> CheckResult {
        await thread.check { Self.check(check, on: $0, done: $1) }
    }
}

/// One SMTP_CHECK on its socket. One timer, due at the earlier of the session's end and the last progress plus
/// connect_timeout (keepalived bounds each read by connect_timeout); at the deadline the kernel is asked first, so a
/// reply that arrived in time but that a busy reactor has not read yet does not blame the real.
final class SMTPAttempt {
    private let check: SMTPCheck
    private let reactor: Reactor
    private var done: ((CheckResult) -> Void)?
    private var socket: CheckSocket?
    private var conversation: SMTPConversation
    private var connected = false
    private var timer: ReactorTimer?
    private var sessionEnd: Moment
    private var lastProgress: Moment

    init(check: SMTPCheck, reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        self.check = check
        self.reactor = reactor
        self.done = done
        conversation = SMTPConversation(heloName: check.heloName, maxReplyBytes: check.maxReplyBytes)
        lastProgress = reactor.now
        sessionEnd = lastProgress + check.sessionTimeout
    }

    private var stepTimeout: Duration { check.connectTimeout }

    func start() {
        do throws(CheckFailure) {
            let socket = try CheckSocket(reactor: reactor, connect: check.connect, bindAddress: check.bindAddress,
                                         bindPort: check.bindPort, options: check.socket)
            self.socket = socket
            lastProgress = reactor.now
            sessionEnd = lastProgress + check.sessionTimeout
            try socket.watch(for: .writable) { [self] _ in ready() }
            arm(at: lastProgress + stepTimeout)
        } catch {
            finish(.down(error))
        }
    }

    private func arm(at time: Moment) {
        timer = reactor.schedule(at: min(time, sessionEnd)) { [self] in expired() }
    }

    private func expired() {
        timer = nil
        guard done != nil else { return }
        let now = reactor.now
        let due = min(sessionEnd, lastProgress + stepTimeout)
        if due > now {
            arm(at: due)
        } else if sessionEnd > now, kernelHeardInTime(now: now, by: due) {
            arm(at: now + stepTimeout)
        } else {
            let phase: CheckPhase = connected ? conversation.phase : .connect
            finish(.down(sessionEnd <= now && connected ? .fetchTimeout(phase) : .timeout(phase)))
        }
    }

    private func kernelHeardInTime(now: Moment, by due: Moment) -> Bool {
        guard let kernel = socket?.witness(now: now) else { return false }
        return connected ? kernel.receivedData(after: lastProgress, by: due) : kernel.connected(issuedAt: lastProgress, by: due)
    }

    private func ready() {
        guard done != nil, let socket else { return }
        do throws(CheckFailure) {
            if !connected {
                if let failure = socket.connectOutcome() { throw failure }
                connected = true
                lastProgress = reactor.now
                try socket.watch(for: .readable) { [self] _ in ready() }
                return
            }
            try readAvailable(socket)
        } catch {
            finish(.down(error))
        }
    }

    private func readAvailable(_ socket: CheckSocket) throws(CheckFailure) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while done != nil {
            let progress: Result<IOProgress, SystemError> = buffer.withUnsafeMutableBytes { bytes in
                do throws(SystemError) { return .success(try Syscall.read(socket.fd, into: bytes)) } catch { return .failure(error) }
            }
            let n: Int
            switch progress {
            case .failure(let error): throw CheckSocket.ioFailure(error, phase: conversation.phase)
            case .success(.wouldBlock): return
            case .success(.done(let count)): n = count
            }
            guard n > 0 else { throw .closedEarly(conversation.phase) }
            lastProgress = reactor.now
            for action in conversation.received(buffer.prefix(n)) {
                switch action {
                case .send(let line): try send(line, on: socket)
                case .finish(let result):
                    finish(result)
                    return
                }
            }
        }
    }

    /// A command line: a few bytes, which an empty send buffer always takes whole.
    private func send(_ line: String, on socket: CheckSocket) throws(CheckFailure) {
        let bytes = Array(line.utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else {
            if sent < 0, errno == ECONNRESET || errno == EPIPE { throw .connectionReset(conversation.phase) }
            throw .ioError("send of \(bytes.count) bytes took \(sent): \(String(cString: strerror(errno)))")
        }
    }

    private func finish(_ result: CheckResult) {
        guard let done else { return }
        self.done = nil
        if let timer { reactor.cancel(timer) }
        timer = nil
        socket?.close()
        socket = nil
        done(result)
    }
}
