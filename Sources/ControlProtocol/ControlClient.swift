import FoundationEssentials
import Glibc

public struct ControlClientError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// directorctl's side: connect, send one request, read one response. Blocking: the CLI does nothing else meanwhile.
public struct ControlClient {
    public var socketPath: String
    public var timeout: Duration

    public init(socketPath: String = defaultControlSocketPath, timeout: Duration = .seconds(60)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    public func send(_ request: ControlRequest) throws(ControlClientError) -> ControlResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw failure("socket") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ControlClientError(message: "control socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected != 0 {
            let code = errno
            switch code {
            case ENOENT, ECONNREFUSED:
                throw ControlClientError(message: "directord is not running (no one listens on \(socketPath)); start it, or pass --socket PATH")
            case EACCES, EPERM:
                throw ControlClientError(message: "permission denied on \(socketPath): the control socket is root's only (0600); run directorctl as root")
            default:
                throw failure("connect \(socketPath)", code)
            }
        }
        let bytes: [UInt8]
        do { bytes = try ControlFraming.encode(request) } catch {
            throw ControlClientError(message: "cannot encode the request: \(error)")
        }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("send")
            }
            sent += n
        }
        var line: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    throw ControlClientError(message: "directord did not answer within \(timeout.components.seconds)s")
                }
                throw failure("recv")
            }
            if n == 0 { break }
            line += chunk[0..<n]
            if line.last == UInt8(ascii: "\n") { break }
            if line.count > ControlFraming.maximumMessageBytes {
                throw ControlClientError(message: "directord's answer exceeds \(ControlFraming.maximumMessageBytes) bytes")
            }
        }
        guard !line.isEmpty else {
            throw ControlClientError(message: "directord closed the connection without answering (see its log)")
        }
        do {
            return try ControlFraming.decode(ControlResponse.self, from: line.prefix { $0 != UInt8(ascii: "\n") })
        } catch {
            throw ControlClientError(message: "directord's answer is not understood: \(error)")
        }
    }

    private func failure(_ call: String, _ code: Int32 = errno) -> ControlClientError {
        ControlClientError(message: "\(call): \(String(cString: strerror(code)))")
    }
}
