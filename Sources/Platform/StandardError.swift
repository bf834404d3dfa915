import Glibc

/// Messages for the operator on file descriptor 2, written whole (FileHandle is Foundation's, which would bring ICU
/// into the static binary, and C's `stderr` is shared mutable state to Swift 6).
public enum StandardError {
    public static func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    public static func write(_ bytes: UnsafeRawBufferPointer) {
        guard var next = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(2, next, left)
            if n > 0 {
                next += n
                left -= n
            } else if n == -1 && errno == EINTR {
                continue
            } else {
                return  // nowhere left to say it
            }
        }
    }
}
