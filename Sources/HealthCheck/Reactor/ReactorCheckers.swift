// TCP_CHECK and HTTP_GET/SSL_GET on the checker's reactor: a non-blocking socket each, one reactor timer each, and
// the kernel asked (TCP_INFO) before a deadline blames the real, because a saturated loop handles events late.
import Glibc
import Platform
import Reactor

/// A reactor on a thread of its own (the health checker's, genhash's): work goes to it with `execute`, and `result`
/// waits for what a check hands to its completion.
public final class ReactorThread: Sendable {
    public let reactor: Reactor

    public init(name: String) throws(SystemError) {
        let reactor = try Reactor()
        self.reactor = reactor
        try OSThread.start(name: name) { reactor.run() }
    }

    deinit { reactor.stop() }

    public func stop() { reactor.stop() }

    /// Runs `body` on the thread; false once it has stopped.
    @discardableResult
    public func execute(_ body: @escaping @Sendable (Reactor) -> Void) -> Bool {
        let reactor = self.reactor
        return reactor.submit { body(reactor) }
    }

    /// One check that `start` begins on the thread, and its verdict.
    public func check(_ start: @escaping @Sendable (Reactor, @escaping (CheckResult) -> Void) -> Void) async -> CheckResult {
        await result(start) ?? .down(.ioError("the checker has stopped"))
    }

    /// Starts `body` on the thread and returns what it completes with (nil if the thread has stopped). `body` must
    /// call its completion exactly once, on the thread.
    public func result<T: Sendable>(_ body: @escaping @Sendable (Reactor, @escaping (T) -> Void) -> Void) async -> T? {
        await withCheckedContinuation { (c: CheckedContinuation<T?, Never>) in
            let accepted = execute { reactor in body(reactor) { c.resume(returning: $0) } }
            if !accepted { c.resume(returning: nil) }
        }
    }
}

extension TCPChecker {
    /// Connects; up when the connect completes within the timeout. `done` runs once, on the reactor's thread.
    public static func check(_ check: TCPCheck, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        TCPAttempt(check: check, reactor: reactor, done: done).start()
    }

    public static func check(_ check: TCPCheck, on thread: ReactorThread) async -> CheckResult {
        await thread.check { Self.check(check, on: $0, done: $1) }
    }
}

final class TCPAttempt {
    private let check: TCPCheck
    private let reactor: Reactor
    private var done: ((CheckResult) -> Void)?
    private var socket: CheckSocket?
    private var timer: ReactorTimer?
    private var issued: Moment

    init(check: TCPCheck, reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        self.check = check
        self.reactor = reactor
        self.done = done
        issued = reactor.now
    }

    func start() {
        do throws(CheckFailure) {
            let socket = try CheckSocket(reactor: reactor, connect: check.connect, bindAddress: check.bindAddress,
                                         bindPort: check.bindPort, options: check.socket)
            self.socket = socket
            // The clock starts once the SYN has left.
            issued = reactor.now
            try socket.watch(for: .writable) { [self] _ in finish(socket.connectOutcome().map { .down($0) } ?? .up) }
            timer = reactor.schedule(at: issued + check.connectTimeout) { [self] in deadline() }
        } catch {
            finish(.down(error))
        }
    }

    /// At the deadline the kernel is asked first: a connect made in time counts even when the loop was too busy to
    /// handle it yet.
    private func deadline() {
        timer = nil
        let now = reactor.now
        if let kernel = socket?.witness(now: now), kernel.connected(issuedAt: issued, by: issued + check.connectTimeout) {
            finish(.up)
        } else {
            finish(.down(.timeout(.connect)))
        }
    }

    private func finish(_ result: CheckResult) {
        guard let done else { return }
        self.done = nil
        if let timer { reactor.cancel(timer) }
        socket?.close()
        socket = nil
        done(result)
    }
}

extension HTTPChecker {
    /// Fetches every url in order and stops at the first that fails; up only when all pass. `done` runs once, on
    /// the reactor's thread.
    public static func check(_ check: HTTPCheck, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        fetch(check, url: 0, on: reactor, done: done)
    }

    public static func check(_ check: HTTPCheck, on thread: ReactorThread) async -> CheckResult {
        await thread.check { Self.check(check, on: $0, done: $1) }
    }

    private static func fetch(_ check: HTTPCheck, url index: Int, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        guard index < check.urls.count else {
            done(.up)
            return
        }
        let url = check.urls[index]
        HTTPFetch.run(HTTPFetchRequest(check: check, url: url, keepBody: url.regex != nil), on: reactor) { result in
            switch result {
            case .success(let response):
                if !url.statusCodes.contains(response.status) {
                    done(.down(.statusCode(got: response.status, expected: url.statusCodes), path: url.path))
                } else if let expected = url.digest, expected != response.digest {
                    done(.down(.digestMismatch(got: response.digest, expected: expected), path: url.path))
                } else if let regex = url.regex, let why = regex.judge(response.body ?? []) {
                    done(.down(.regexMismatch(why), path: url.path))
                } else {
                    fetch(check, url: index + 1, on: reactor, done: done)
                }
            case .failure(let failure):
                done(.down(failure, path: url.path))
            }
        }
    }
}

extension HTTPFetch {
    /// One fetch on `reactor`; `done` runs once, on its thread.
    public static func run(_ request: HTTPFetchRequest, on reactor: Reactor, done: @escaping (Result<HTTPFetchResponse, CheckFailure>) -> Void) {
        ReactorFetch(request: request, reactor: reactor, done: done).start()
    }
}

/// One GET over one connection: connect, TLS when asked (OpenSSL over memory BIOs, its bytes carried on the same
/// non-blocking socket), the request, and the response through HTTPResponseParser with its body digested.
final class ReactorFetch {
    private let request: HTTPFetchRequest
    private let reactor: Reactor
    private var done: ((Result<HTTPFetchResponse, CheckFailure>) -> Void)?
    private var socket: CheckSocket?
    private var tls: TLSConnection?
    private var phase = CheckPhase.connect
    private var parser: HTTPResponseParser
    private var head: HTTPResponseHead?
    private var digest: MD5Digest?
    private var body: [UInt8]?
    private var bodyBytes = 0
    /// Bytes for the socket that it did not take yet.
    private var outgoing: [UInt8] = []
    private var outgoingSent = 0
    /// One timer for the whole fetch, due at the earlier of the fetch's end and the last progress plus the read
    /// timeout; re-armed from there rather than one timer per read.
    private var timer: ReactorTimer?
    private var fetchEnd: Moment
    private var lastProgress: Moment

    init(request: HTTPFetchRequest, reactor: Reactor, done: @escaping (Result<HTTPFetchResponse, CheckFailure>) -> Void) {
        self.request = request
        self.reactor = reactor
        self.done = done
        parser = HTTPResponseParser(maxHeaderBytes: request.maxHeaderBytes)
        lastProgress = reactor.now
        fetchEnd = lastProgress + request.fetchTimeout
    }

    private var readTimeout: Duration { request.connectTimeout }

    func start() {
        do throws(CheckFailure) {
            if request.tls != nil {
                tls = try TLSConnection(context: try TLSClientContext.context(for: request.tls?.identity), serverName: request.serverName)
            }
            let socket = try CheckSocket(reactor: reactor, connect: request.connect, bindAddress: request.bindAddress,
                                         bindPort: request.bindPort, options: request.socket)
            self.socket = socket
            // The clock starts once the SYN has left: the connect, then every read, then the whole fetch.
            lastProgress = reactor.now
            fetchEnd = lastProgress + request.fetchTimeout
            try socket.watch(for: .writable) { [self] readiness in ready(readiness) }
            arm(at: min(fetchEnd, lastProgress + readTimeout))
        } catch {
            finish(.failure(error))
        }
    }

    private func arm(at deadline: Moment) {
        timer = reactor.schedule(at: deadline) { [self] in expired() }
    }

    private func expired() {
        timer = nil
        guard done != nil else { return }
        let now = reactor.now
        let due = min(fetchEnd, lastProgress + readTimeout)
        if due > now {
            arm(at: due)
        } else if kernelHeardInTime(now: now) {
            // The loop is behind, not the real: look again once it has had time to handle what arrived.
            arm(at: now + readTimeout)
        } else if fetchEnd <= now {
            // Reaching this while connecting means fetchTimeout < connectTimeout.
            finish(.failure(phase == .connect ? .timeout(.connect) : .fetchTimeout(phase)))
        } else {
            finish(.failure(.timeout(phase)))
        }
    }

    /// Whether the kernel received something from the real that the loop has not handled yet, in time.
    private func kernelHeardInTime(now: Moment) -> Bool {
        guard let kernel = socket?.witness(now: now) else { return false }
        let inTime = min(fetchEnd, lastProgress + readTimeout)
        if phase == .connect { return kernel.connected(issuedAt: lastProgress, by: inTime) }
        return kernel.receivedData(after: lastProgress, by: inTime)
    }

    private func ready(_ readiness: IOReadiness) {
        guard done != nil, let socket else { return }
        do throws(CheckFailure) {
            if phase == .connect {
                if let failure = socket.connectOutcome() { throw failure }
                try connected()
                return
            }
            if readiness.contains(.writable), outgoingSent < outgoing.count { try flush() }
            if !readiness.isDisjoint(with: [.readable, .hangup, .error]) { try readAvailable() }
        } catch {
            finish(.failure(error))
        }
    }

    private func connected() throws(CheckFailure) {
        lastProgress = reactor.now
        if let tls {
            phase = .tlsHandshake
            try handshake(tls)
        } else {
            phase = .responseHead
            try send(request.requestBytes)
        }
    }

    private func handshake(_ tls: TLSConnection) throws(CheckFailure) {
        let step = tls.handshake()
        try send(tls.takeOutgoing())
        switch step {
        case .done:
            phase = .responseHead
            var failure: CheckFailure?
            request.requestBytes.withUnsafeBytes { text in
                do throws(CheckFailure) { try tls.write(text) } catch { failure = error }
            }
            if let failure { throw failure }
            try send(tls.takeOutgoing())
            // Application data may have come with the handshake's last flight.
            try decrypt(tls)
        case .wantMore:
            return
        case .closed:
            throw .tlsHandshakeFailed("peer closed the TLS session during the handshake")
        case .failed(let message):
            throw .tlsHandshakeFailed(message)
        }
    }

    /// Queues bytes for the socket and writes what it takes now; the rest waits for writable.
    private func send(_ bytes: [UInt8]) throws(CheckFailure) {
        guard !bytes.isEmpty else { return }
        if outgoingSent >= outgoing.count {
            outgoing = bytes
            outgoingSent = 0
        } else {
            outgoing += bytes
        }
        try flush()
    }

    private func flush() throws(CheckFailure) {
        guard let socket else { return }
        while outgoingSent < outgoing.count {
            let sent = outgoingSent
            let attempt: Result<IOProgress, SystemError> = outgoing.withUnsafeBytes { all in
                do throws(SystemError) {
                    return .success(try Syscall.write(socket.fd, from: UnsafeRawBufferPointer(rebasing: all[sent...])))
                } catch {
                    return .failure(error)
                }
            }
            let progress: IOProgress
            switch attempt {
            case .success(let p): progress = p
            case .failure(let error): throw CheckSocket.ioFailure(error, phase: phase)
            }
            guard case .done(let n) = progress else {
                try socket.watch(for: [.readable, .writable]) { [self] readiness in ready(readiness) }
                return
            }
            outgoingSent += n
        }
        outgoing = []
        outgoingSent = 0
        try socket.watch(for: .readable) { [self] readiness in ready(readiness) }
    }

    private func readAvailable() throws(CheckFailure) {
        guard let socket else { return }
        // The reactor's: everything read is parsed, digested or copied before this returns.
        let buffer = reactor.readBuffer
        while done != nil {
            let progress: IOProgress
            do throws(SystemError) {
                progress = try Syscall.read(socket.fd, into: buffer)
            } catch {
                throw CheckSocket.ioFailure(error, phase: phase)
            }
            guard case .done(let n) = progress else { return }
            guard n > 0 else {
                try endOfStream()
                return
            }
            lastProgress = reactor.now
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            if let tls {
                try tls.feed(bytes)
                if phase == .tlsHandshake {
                    try handshake(tls)
                } else {
                    try decrypt(tls)
                }
            } else {
                try parse(bytes)
            }
        }
    }

    private func decrypt(_ tls: TLSConnection) throws(CheckFailure) {
        var failure: CheckFailure?
        let step = tls.read { plaintext in
            guard failure == nil, done != nil else { return }
            do throws(CheckFailure) { try parse(plaintext) } catch { failure = error }
        }
        if let failure { throw failure }
        // TLS 1.3 servers may send session tickets after the handshake; they need no answer, but alerts might.
        try send(tls.takeOutgoing())
        switch step {
        case .done, .wantMore: return
        case .closed: try endOfStream()  // close_notify: the peer is done, as a TCP EOF would say
        case .failed(let message): throw .tlsFailed(message)
        }
    }

    private func endOfStream() throws(CheckFailure) {
        guard done != nil else { return }
        if phase == .tlsHandshake { throw .tlsHandshakeFailed("peer closed the TLS session during the handshake") }
        let event: HTTPResponseEvent?
        do throws(HTTPResponseError) {
            event = try parser.finish()
        } catch {
            throw failure(error)
        }
        if let event { try handle(event, UnsafeRawBufferPointer(start: nil, count: 0)) }
        if done != nil { throw .closedEarly(phase) }
    }

    private func parse(_ input: UnsafeRawBufferPointer) throws(CheckFailure) {
        var offset = 0
        while done != nil {
            let event: HTTPResponseEvent?
            do throws(HTTPResponseError) {
                event = try parser.next(input, offset: &offset)
            } catch {
                throw failure(error)
            }
            guard let event else { return }
            try handle(event, input)
        }
    }

    private func handle(_ event: HTTPResponseEvent, _ input: UnsafeRawBufferPointer) throws(CheckFailure) {
        switch event {
        case .head(let head):
            self.head = head
            phase = .responseBody
            if let expected = request.failFastStatus, !expected.contains(head.status) {
                throw .statusCode(got: head.status, expected: expected)
            }
            digest = try MD5Digest()
            if request.keepBody { body = [] }
        case .body(let range):
            bodyBytes += range.count
            guard bodyBytes <= request.maxBodyBytes else { throw .bodyTooLarge(limit: request.maxBodyBytes) }
            let bytes = UnsafeRawBufferPointer(rebasing: input[range])
            try digest?.update(bytes)
            body?.append(contentsOf: bytes)
        case .end:
            guard let head, let digest else { throw .malformedResponse("end of response without a status line") }
            finish(.success(HTTPFetchResponse(
                version: head.version, status: head.status, reason: head.reason, headers: head.headers,
                bodyBytes: bodyBytes, digest: try digest.finish(), chunked: head.chunked, body: body)))
        }
    }

    /// A parse failure as the check reports it, naming the phase a truncation happened in.
    private func failure(_ error: HTTPResponseError) -> CheckFailure {
        switch error {
        case .headersTooLarge(let limit): .headersTooLarge(limit: limit)
        case .malformed(let why): .malformedResponse(why)
        case .closedInHead, .closedInBody: .closedEarly(phase)
        }
    }

    private func finish(_ result: Result<HTTPFetchResponse, CheckFailure>) {
        guard let done else { return }
        self.done = nil
        if let timer { reactor.cancel(timer) }
        timer = nil
        // A whole plain response: the server closes next (the request said Connection: close).
        if case .success = result, tls == nil {
            socket?.closeAfterPeer(linger: min(readTimeout, .seconds(1)))
        } else {
            socket?.close()
        }
        socket = nil
        done(result)
    }
}

extension CheckProber {
    /// Runs one probe on `thread` and returns its answer.
    public func probe(_ probe: CheckProbe, on thread: ReactorThread) async -> CheckResult {
        await thread.check { self.probe(probe, on: $0, done: $1) }
    }
}
