import Glibc

/// The one place C calls that report through errno are made: EINTR is retried, failures name the call.
@discardableResult
func systemCall<T: BinaryInteger>(_ name: String, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw IPVSError.system(call: name, errno: code)
    }
}

/// libnl calls return 0 or a negative NLE_* code; nl_geterror explains it.
@discardableResult
func libnlCall(_ name: String, _ body: () -> Int32) throws -> Int32 {
    let result = body()
    guard result < 0 else { return result }
    throw IPVSError.libnl(call: name, code: -result, message: String(cString: nl_geterror(result)))
}

import CNetlink
