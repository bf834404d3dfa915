// Platform: the host side — syscalls, sysctl, scripts, addresses, ARP — behind narrow protocols (Errno-typed).
import Glibc

/// A failed system call: which call, on what, and the errno it returned.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let errno: Int32
    public let detail: String

    public init(call: String, errno: Int32, detail: String = "") {
        self.call = call
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        let what = detail.isEmpty ? call : "\(call) \(detail)"
        return "\(what): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The one choke point for syscalls that report failure as -1 + errno: retries EINTR, names the call on error.
@discardableResult
func retryingEINTR<T: BinaryInteger>(_ call: String, detail: String = "", _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(call: call, errno: code, detail: detail)
    }
}
