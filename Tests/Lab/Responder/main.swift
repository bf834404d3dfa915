// lab-responder: a single-threaded, non-forking HTTP responder (poll(2): only a few connections are open at once) for the health-check benchmarks
// (Tests/Bench/guest/bench_health.py), cheap enough to answer thousands of checks per second in the lab VM.
//   lab-responder [--body TEXT] ADDRESS:PORT...
// Listens on every ADDRESS:PORT (with IP_FREEBIND, so 0.0.0.0 or any address of a local route such as
// `ip route add local 10.128.0.0/16 dev lo` works), reads each connection's request up to its blank line, answers
// one fixed `HTTP/1.0 200 OK` with the body (default "directord bench\n") and closes. Prints "listening" on stdout
// once every socket listens. It counts nothing: the TCP counters of its network namespace do (PassiveOpens).
import Glibc

func fail(_ message: String) -> Never {
    let bytes = Array("lab-responder: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

var body = "directord bench\n"
var endpoints: [(String, UInt16)] = []
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    if arg == "--body" {
        guard let text = args.popFirst() else { fail("--body needs a text") }
        body = text
        continue
    }
    guard let colon = arg.lastIndex(of: ":"), let port = UInt16(arg[arg.index(after: colon)...]) else {
        fail("usage: lab-responder [--body TEXT] ADDRESS:PORT...")
    }
    endpoints.append((String(arg[..<colon]), port))
}
if endpoints.isEmpty { fail("usage: lab-responder [--body TEXT] ADDRESS:PORT...") }

let response = Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
signal(SIGPIPE, SIG_IGN)

var listeners: [Int32] = []
for (address, port) in endpoints {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    if fd < 0 { fail("socket: \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    setsockopt(fd, Int32(IPPROTO_IP), IP_FREEBIND, &one, socklen_t(MemoryLayout<Int32>.size))
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_port = port.bigEndian
    if inet_pton(AF_INET, address, &sin.sin_addr) != 1 { fail("not an IPv4 address: \(address)") }
    let bound = withUnsafePointer(to: &sin) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if bound != 0 { fail("bind \(address):\(port): \(String(cString: strerror(errno)))") }
    if listen(fd, 4096) != 0 { fail("listen: \(String(cString: strerror(errno)))") }
    listeners.append(fd)
}
let ready = Array("listening\n".utf8)
_ = ready.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }

/// Open connections, and the request bytes of those whose request arrived in pieces (until its blank line).
var connections: [Int32] = []
var partial: [Int32: [UInt8]] = [:]
let blankLine: [UInt8] = [13, 10, 13, 10]
var buffer = [UInt8](repeating: 0, count: 4096)
var fds: [pollfd] = []

@MainActor func complete(_ bytes: ArraySlice<UInt8>) -> Bool {
    bytes.count >= 4 && Array(bytes.suffix(4)) == blankLine
}

/// Reads what the connection sent; answers and closes it once the request is complete. False once it is closed.
@MainActor func serve(_ fd: Int32) -> Bool {
    let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
    if got < 0 && (errno == EAGAIN || errno == EINTR) { return true }
    if got <= 0 {
        partial[fd] = nil
        close(fd)
        return false
    }
    var done = complete(buffer[..<got])
    if !done || partial[fd] != nil {
        var soFar = partial[fd] ?? []
        soFar += buffer[..<got]
        done = complete(soFar[...])
        partial[fd] = done ? nil : soFar
    }
    guard done else { return true }
    _ = response.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    return false
}

let readable = Int16(POLLIN) | Int16(POLLERR) | Int16(POLLHUP)
while true {
    fds.removeAll(keepingCapacity: true)
    for fd in listeners + connections { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
    let n = poll(&fds, nfds_t(fds.count), -1)
    if n < 0 {
        if errno == EINTR { continue }
        fail("poll: \(String(cString: strerror(errno)))")
    }
    var open: [Int32] = []
    for entry in fds.dropFirst(listeners.count) {
        if entry.revents & readable == 0 || serve(entry.fd) { open.append(entry.fd) }
    }
    for entry in fds.prefix(listeners.count) where entry.revents & Int16(POLLIN) != 0 {
        while true {
            let conn = accept(entry.fd, nil, nil)
            if conn < 0 { break }
            // The request has usually arrived with the handshake's last ACK: try it at once.
            if serve(conn) { open.append(conn) }
        }
    }
    connections = open
}
