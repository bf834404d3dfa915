// The floors under the checker's cost: the same paced connections (connect, send a GET, read to the server's close,
// close) with nothing of directord's around them. `nio-bare` makes each one a SwiftNIO channel with one handler, as
// any NIO client must; `raw` drives non-blocking sockets from one epoll loop, as keepalived's checker does. What the
// checker costs above `nio-bare` is directord's; what `nio-bare` costs above `raw` is the price of a channel.
import CEpoll
import Glibc
import NIOCore
import NIOPosix

/// Paces `reals` connections per `delayLoop` seconds: how many are due by `elapsed` seconds.
struct Pacer {
    let perSecond: Double
    var started = 0

    mutating func due(after elapsed: Double) -> Int {
        let total = Int(elapsed * perSecond)
        defer { started = max(started, total) }
        return max(0, total - started)
    }
}

/// Real `index` of the run: 127.A.B.C on loopback, the same for every mode.
func address(ofReal index: Int, port: Int) -> (host: String, sockaddr: sockaddr_in) {
    let host = "127.\(1 + index / 62500).\(index / 250 % 250).\(index % 250 + 1)"
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr(host)
    return (host, address)
}

let floorRequest = "GET /check HTTP/1.0\r\nHost: x\r\nUser-Agent: directord-healthcheck\r\n\r\n"

/// One SwiftNIO channel per connection: writes the request when active, drops what it reads, and the channel closes
/// at the server's close (NIO's default without half-closure).
final class BareHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: floorRequest)), promise: nil)
    }
}

/// Runs paced NIO channels for `seconds`; returns how many completed.
func runNIOBare(reals: Int, port: Int, delayLoop: Double, seconds: Double) -> (completed: Int, failed: Int) {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let loop = group.next()
    let addresses = (0..<reals).compactMap { try? SocketAddress(ipAddress: address(ofReal: $0, port: port).host, port: port) }
    final class Run {
        var pacer: Pacer
        let start = NIODeadline.now()
        var completed = 0, failed = 0, next = 0
        var tick: RepeatedTask?
        init(perSecond: Double) { pacer = Pacer(perSecond: perSecond) }
    }
    let result = try? loop.submit { () -> EventLoopFuture<(Int, Int)> in
        let run = NIOLoopBound(Run(perSecond: Double(reals) / delayLoop), eventLoop: loop)
        let done = loop.makePromise(of: (Int, Int).self)
        run.value.tick = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(10)) { _ in
            let state = run.value
            let elapsed = Double((NIODeadline.now() - state.start).nanoseconds) / 1e9
            guard elapsed < seconds else {
                state.tick?.cancel()
                done.succeed((state.completed, state.failed))
                return
            }
            for _ in 0..<state.pacer.due(after: elapsed) {
                let target = addresses[state.next % addresses.count]
                state.next += 1
                ClientBootstrap(group: loop)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(BareHandler()) }
                    }
                    .connect(to: target)
                    .whenComplete { result in
                        switch result {
                        case .success(let channel): channel.closeFuture.whenComplete { _ in run.value.completed += 1 }
                        case .failure: run.value.failed += 1
                        }
                    }
            }
        }
        return done.futureResult
    }.wait().wait()
    try? group.syncShutdownGracefully()
    return result.map { (completed: $0.0, failed: $0.1) } ?? (0, 0)
}

/// Runs paced connections over raw non-blocking sockets and epoll for `seconds`; returns how many completed.
func runRaw(reals: Int, port: Int, delayLoop: Double, seconds: Double) -> (completed: Int, failed: Int) {
    let epoll = epoll_create1(0)
    defer { close(epoll) }
    let targets = (0..<reals).map { address(ofReal: $0, port: port).sockaddr }
    let request = Array(floorRequest.utf8)
    var connecting = Set<Int32>()
    var pacer = Pacer(perSecond: Double(reals) / delayLoop)
    var completed = 0, failed = 0, next = 0
    var events = [epoll_event](repeating: epoll_event(), count: 256)
    var buffer = [UInt8](repeating: 0, count: 4096)
    var startTime = timespec()
    clock_gettime(CLOCK_MONOTONIC, &startTime)
    func elapsed() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec - startTime.tv_sec) + Double(now.tv_nsec - startTime.tv_nsec) / 1e9
    }
    func finish(_ fd: Int32, ok: Bool) {
        connecting.remove(fd)
        close(fd)
        if ok { completed += 1 } else { failed += 1 }
    }
    while true {
        let now = elapsed()
        guard now < seconds else { break }
        for _ in 0..<pacer.due(after: now) {
            var target = targets[next % targets.count]
            next += 1
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            let rc = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 || errno == EINPROGRESS else {
                failed += 1
                close(fd)
                continue
            }
            var event = epoll_event(events: EPOLLOUT.rawValue, data: epoll_data_t(fd: fd))
            epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
            connecting.insert(fd)
        }
        let ready = epoll_wait(epoll, &events, Int32(events.count), 10)
        for event in events.prefix(max(0, Int(ready))) {
            let fd = event.data.fd
            if connecting.contains(fd) {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                guard error == 0, write(fd, request, request.count) == request.count else {
                    finish(fd, ok: false)
                    continue
                }
                connecting.remove(fd)
                var readable = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: fd))
                epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &readable)
                continue
            }
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n > 0 { continue }
                if n < 0, errno == EAGAIN { break }
                finish(fd, ok: n == 0)
                break
            }
        }
    }
    return (completed, failed)
}
