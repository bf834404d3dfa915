import Glibc

/// The few file operations the daemon and directorctl need, as system calls with errors that name the call and the
/// path (FoundationEssentials' FileManager reports a CocoaError with a numeric code instead).
public enum Files {
    /// The directory part of `path`, as `dirname` without the "." for a bare name: "/a/b" → "/a", "/a" → "/",
    /// "a" → "", "a/b/" → "a".
    public static func directory(of path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.last == "/" { path.removeLast() }
        guard let slash = path.lastIndex(of: "/") else { return "" }
        var directory = path[..<slash]
        while directory.count > 1, directory.last == "/" { directory.removeLast() }
        return directory.isEmpty ? "/" : String(directory)
    }

    /// `mkdir -p` with `mode` for the directories it creates (an existing one is left as it is).
    public static func makeDirectories(_ path: String, mode: mode_t) throws(SystemError) {
        guard !path.isEmpty else { return }
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw SystemError(call: "mkdir", errno: ENOTDIR, detail: path) }
            return
        }
        let parent = directory(of: path)
        if !parent.isEmpty, parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0, errno != EEXIST { throw SystemError(call: "mkdir", errno: errno, detail: path) }
    }

    /// The whole file; nil when it does not exist.
    public static func read(_ path: String) throws(SystemError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw SystemError(call: "open", errno: errno, detail: path)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try retryingEINTR("read", detail: path) { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }
}
