// The thread that serves directorctl's control socket and /metrics: one reactor, one request and one answer per
// connection. It replaced a SwiftNIO event loop, whose channels, pipelines and thread cost the daemon more than these
// two small protocols need (README, "Written here, and why").
import Addresses
import CPlatform
import Glibc
import Logging
import Platform
import Reactor

/// One OS thread running one reactor, for the listeners on it. Listeners are added before `start` or from any thread
/// after it (their watches are set up on the loop's thread).
public final class ServingLoop: @unchecked Sendable {
    let reactor: Reactor
    private let logger: Logger
    /// The loop thread's own once it runs.
    private var listeners: [RequestListener] = []

    /// Tests give a manual clock and turn `reactor` themselves instead of calling `start`.
    public init(logger: Logger, clock: any ReactorClock = SystemClock()) throws(SystemError) {
        reactor = try Reactor(clock: clock)
        self.logger = logger
    }

    /// Starts the thread; top -H and /proc show it as directord-serve.
    public func start() throws(SystemError) {
        try OSThread.start(name: "directord-serve") { [reactor] in reactor.run() }
    }

    /// Closes every listener and connection, on the loop's thread, and ends the loop.
    public func stop() {
        reactor.submit { [self] in
            for listener in listeners { listener.close() }
            listeners.removeAll()
        }
        reactor.stop()
    }

    func add(_ listener: RequestListener) {
        reactor.submit { [self] in
            listeners.append(listener)
            listener.start()
        }
    }
}

/// What one kind of request is: where a whole one ends, and how it is answered.
struct RequestKind: Sendable {
    /// For the log: "control socket", "metrics".
    var name: String
    /// A request that has not ended within this many bytes is refused.
    var maximumBytes: Int
    /// The length of the request at the start of `received`, nil while it has not ended. The bytes before
    /// `newFrom` were there at the last call, which found no end in them.
    var end: @Sendable (_ received: [UInt8], _ newFrom: Int) -> Int?
    /// What is sent before closing a connection whose request outgrew `maximumBytes` (nil: close without a word).
    var tooLarge: [UInt8]?
    /// Answers the request through `reply`, at once or later from any thread. `reply` takes the bytes to send before
    /// closing; a second call is ignored.
    var answer: @Sendable (_ request: ArraySlice<UInt8>, _ peer: ControlPeer?, _ reply: @escaping @Sendable ([UInt8]) -> Void) -> Void
}

/// A listening socket on a `ServingLoop`. Every connection sends one request and gets one answer, then the server
/// closes it. The loop's thread owns everything here once `start` ran.
final class RequestListener: @unchecked Sendable {
    /// Beyond this many open connections a new one is closed at once: the control socket is root's, /metrics is
    /// scraped a few times a minute, and descriptors are the health checks'.
    static let maximumConnections = 64
    /// A connection whose request has not ended by then is closed (a client that connected and went silent).
    static let requestTimeout: Duration = .seconds(10)
    /// After accept failed for want of descriptors, the listener rests this long (epoll is level-triggered).
    static let acceptPause: Duration = .milliseconds(100)

    let fd: Int32
    let kind: RequestKind
    /// Whether peers are asked for their credentials (SO_PEERCRED, Unix sockets only).
    private let credentials: Bool
    private let reactor: Reactor
    private let logger: Logger
    private var watch: ReactorWatch?
    private var connections: [Int32: Connection] = [:]
    private var closed = false

    /// The loop thread's only, like the listener.
    final class Connection: @unchecked Sendable {
        let fd: Int32
        var watch: ReactorWatch?
        var timer: ReactorTimer?
        var received: [UInt8] = []
        var pending: [UInt8] = []
        var sent = 0
        var answered = false
        var closed = false

        init(fd: Int32) { self.fd = fd }
    }

    private init(fd: Int32, kind: RequestKind, credentials: Bool, loop: ServingLoop, logger: Logger) {
        self.fd = fd
        self.kind = kind
        self.credentials = credentials
        self.reactor = loop.reactor
        self.logger = logger
    }

    /// Listens on a Unix stream socket at `path`, replacing a stale socket a crashed run left there.
    static func unix(path: String, kind: RequestKind, on loop: ServingLoop, logger: Logger) throws(SystemError) -> RequestListener {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SystemError(call: "bind", errno: ENAMETOOLONG, detail: path)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let fd = try Syscall.socket(family: AF_UNIX, type: Int32(SOCK_STREAM.rawValue))
        return try listening(fd, path, kind: kind, credentials: true, on: loop, logger: logger) { () throws(SystemError) in
            var info = stat()
            if lstat(path, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFSOCK else {
                    throw SystemError(call: "bind", errno: EEXIST, detail: "\(path) exists and is not a socket")
                }
                unlink(path)
            }
            try withUnsafePointer(to: &address) { (pointer) throws(SystemError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(SystemError) in
                    do throws(SystemError) {
                        try Syscall.bind(fd, to: raw, length: socklen_t(MemoryLayout<sockaddr_un>.size))
                    } catch {
                        throw SystemError(call: "bind", errno: error.errno, detail: path)
                    }
                }
            }
            // Root only: the socket can reload and reveal the whole configuration.
            chmod(path, 0o600)
        }
    }

    /// Listens on a TCP endpoint (port 0: one the kernel picks, see `port`).
    static func tcp(_ endpoint: Endpoint, kind: RequestKind, on loop: ServingLoop, logger: Logger) throws(SystemError) -> RequestListener {
        let fd = try Syscall.socket(family: endpoint.address.family == .ipv6 ? AF_INET6 : AF_INET, type: Int32(SOCK_STREAM.rawValue))
        return try listening(fd, "\(endpoint)", kind: kind, credentials: false, on: loop, logger: logger) { () throws(SystemError) in
            try Syscall.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, what: "SO_REUSEADDR")
            try endpoint.withSocketAddress { (address, length) throws(SystemError) in
                do throws(SystemError) {
                    try Syscall.bind(fd, to: address, length: length)
                } catch {
                    throw SystemError(call: "bind", errno: error.errno, detail: "\(endpoint)")
                }
            }
        }
    }

    /// Binds `fd` with `bind`, listens, and hands the listener to `loop`; closes `fd` when either fails.
    private static func listening(_ fd: Int32, _ what: String, kind: RequestKind, credentials: Bool, on loop: ServingLoop,
                                  logger: Logger, bind: () throws(SystemError) -> Void) throws(SystemError) -> RequestListener {
        do throws(SystemError) {
            try bind()
            guard Glibc.listen(fd, 16) == 0 else { throw SystemError(call: "listen", errno: errno, detail: what) }
        } catch {
            Glibc.close(fd)
            throw error
        }
        let listener = RequestListener(fd: fd, kind: kind, credentials: credentials, loop: loop, logger: logger)
        loop.add(listener)
        return listener
    }

    /// The local port (for a listener bound to port 0).
    var port: UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let found = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard found else { return 0 }
        return withUnsafeBytes(of: storage) { raw in
            switch Int32(storage.ss_family) {
            case AF_INET: UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
            case AF_INET6: UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
            default: 0
            }
        }
    }

    // MARK: The loop's thread

    func start() {
        guard !closed, watch == nil else { return }
        do {
            watch = try reactor.watch(fd, for: .readable) { [unowned self] _ in acceptAll() }
        } catch {
            logger.error("\(kind.name): cannot watch the listening socket: \(error)")
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        for connection in connections.values { drop(connection) }
        if let watch { reactor.forget(beforeClosing: watch) }
        watch = nil
        Glibc.close(fd)
    }

    private func acceptAll() {
        while !closed {
            let client: Int32
            do throws(SystemError) {
                guard let taken = try Syscall.accept(fd) else { return }
                client = taken
            } catch {
                // Out of descriptors: the connection waits in the backlog; rest rather than spin (level-triggered).
                logger.warning("\(kind.name): \(error); pausing \(Self.acceptPause)")
                if let watch { reactor.unwatch(watch) }
                watch = nil
                _ = reactor.schedule(after: Self.acceptPause) { [weak self] in self?.start() }
                return
            }
            guard connections.count < Self.maximumConnections else {
                logger.warning("\(kind.name): \(Self.maximumConnections) connections open already; closing a new one")
                Glibc.close(client)
                continue
            }
            open(client)
        }
    }

    private func open(_ client: Int32) {
        let connection = Connection(fd: client)
        do {
            connection.watch = try reactor.watch(client, for: .readable) { [unowned self] _ in receive(connection) }
        } catch {
            logger.warning("\(kind.name): cannot watch a connection: \(error)")
            Glibc.close(client)
            return
        }
        connections[client] = connection
        connection.timer = reactor.schedule(after: Self.requestTimeout) { [weak self, weak connection] in
            guard let self, let connection, !connection.answered else { return }
            logger.debug("\(kind.name): no whole request within \(Self.requestTimeout); closing the connection")
            drop(connection)
        }
    }

    private func receive(_ connection: Connection) {
        guard !connection.closed, !connection.answered else { return }
        let buffer = reactor.readBuffer
        let progress: IOProgress
        do {
            progress = try Syscall.read(connection.fd, into: buffer)
        } catch {
            drop(connection)
            return
        }
        switch progress {
        case .wouldBlock:
            return
        case .done(0):
            // The peer closed before its request ended.
            drop(connection)
        case .done(let count):
            let newFrom = connection.received.count
            connection.received.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            let end = kind.end(connection.received, newFrom)
            if let end, end <= kind.maximumBytes {
                answer(connection, length: end)
            } else if end != nil || connection.received.count > kind.maximumBytes {
                logger.warning("\(kind.name): a request over \(kind.maximumBytes) bytes; refused")
                stopReading(connection)
                if let tooLarge = kind.tooLarge { send(tooLarge, on: connection) } else { drop(connection) }
            }
        }
    }

    /// The request is in (or refused): no more reading and no request timeout. Still watched for readable, a peer
    /// that keeps sending would wake the level-triggered loop for nothing, and an answer that has to wait for
    /// writable would never get its watch.
    private func stopReading(_ connection: Connection) {
        connection.answered = true
        if let timer = connection.timer { reactor.cancel(timer) }
        connection.timer = nil
        if let watch = connection.watch { reactor.unwatch(watch) }
        connection.watch = nil
    }

    private func answer(_ connection: Connection, length: Int) {
        // Nothing more is read: the answer is written once it is ready.
        stopReading(connection)
        let peer = credentials ? Self.peer(of: connection.fd) : nil
        let request = connection.received[..<length]
        let replied = LockedValue(false)
        kind.answer(request, peer) { [weak self] bytes in
            guard let self, !replied.withLock({ let was = $0; $0 = true; return was }) else { return }
            reactor.submit { self.send(bytes, on: connection) }
        }
    }

    /// SO_PEERCRED: who connected, for the log of every runtime change.
    static func peer(of fd: Int32) -> ControlPeer? {
        var credentials = directord_peer_credentials()
        var length = socklen_t(MemoryLayout<directord_peer_credentials>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return ControlPeer(uid: credentials.uid, pid: credentials.pid)
    }

    private func send(_ bytes: [UInt8], on connection: Connection) {
        guard !connection.closed else { return }
        connection.pending = bytes
        connection.sent = 0
        flush(connection)
    }

    private func flush(_ connection: Connection) {
        while connection.sent < connection.pending.count {
            let progress: IOProgress
            do {
                progress = try connection.pending.withUnsafeBytes { (raw) throws(SystemError) in
                    try Syscall.write(connection.fd, from: UnsafeRawBufferPointer(rebasing: raw[connection.sent...]))
                }
            } catch {
                // The peer went away (EPIPE, ECONNRESET): there is nobody to answer.
                drop(connection)
                return
            }
            switch progress {
            case .done(let count):
                connection.sent += count
            case .wouldBlock:
                guard connection.watch == nil else { return }
                do {
                    connection.watch = try reactor.watch(connection.fd, for: .writable) { [unowned self] _ in flush(connection) }
                } catch {
                    drop(connection)
                }
                return
            }
        }
        drop(connection)
    }

    private func drop(_ connection: Connection) {
        guard !connection.closed else { return }
        connection.closed = true
        if let timer = connection.timer { reactor.cancel(timer) }
        connection.timer = nil
        if let watch = connection.watch { reactor.forget(beforeClosing: watch) }
        connection.watch = nil
        connections[connection.fd] = nil
        Glibc.close(connection.fd)
    }
}
