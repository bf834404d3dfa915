// The only I/O the configuration needs — open, glob, canonical path — behind a protocol so tests and the fuzzer
// can parse from memory.
import Glibc

public struct FileAccessError: Error, Hashable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Hands out bytes in bounded chunks; returning an empty array means end of file.
public protocol ConfigFileReader: AnyObject {
    func read(maximum: Int) throws(FileAccessError) -> [UInt8]
    /// The file's size when it is known up front (fstat), so a whole-file read takes one buffer and one read.
    var sizeHint: Int? { get }
}

extension ConfigFileReader {
    public var sizeHint: Int? { nil }
}

public protocol ConfigFileSystem: Sendable {
    /// Opens a regular file for reading (anything else — directory, FIFO, device — is refused so nothing can hang).
    func open(_ path: String) throws(FileAccessError) -> any ConfigFileReader
    /// The paths matching a glob pattern, in byte order.
    func glob(_ pattern: String) throws(FileAccessError) -> [String]
    /// A stable identity for a path, used to detect include cycles through different spellings.
    func canonicalPath(_ path: String) -> String
    /// `canonicalPath(path)` when the directory's canonical path is known already.
    func canonicalPath(_ path: String, inCanonicalDirectory directory: String) -> String
}

extension ConfigFileSystem {
    public func canonicalPath(_ path: String, inCanonicalDirectory directory: String) -> String { canonicalPath(path) }
}

/// The real file system.
public struct LocalFileSystem: ConfigFileSystem {
    public init() {}

    public func open(_ path: String) throws(FileAccessError) -> any ConfigFileReader {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw FileAccessError(errnoText()) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            let message = errnoText()
            close(fd)
            throw FileAccessError(message)
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            close(fd)
            throw FileAccessError("is a directory")
        }
        if info.st_mode & S_IFMT != S_IFREG {
            close(fd)
            throw FileAccessError("is not a regular file")
        }
        return DescriptorReader(fd: fd)
    }

    public func glob(_ pattern: String) throws(FileAccessError) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        let status = Glibc.glob(pattern, GLOB_BRACE, nil, &result)
        if status == GLOB_NOMATCH { return [] }
        if status != 0 { throw FileAccessError(status == GLOB_NOSPACE ? "out of memory" : "cannot read directory") }
        var paths: [String] = []
        for i in 0..<Int(result.gl_pathc) {
            if let cString = result.gl_pathv[i] { paths.append(String(cString: cString)) }
        }
        return paths.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    public func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return normalizePath(path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// One lstat: a file that is not a symbolic link is its canonical directory plus its name.
    public func canonicalPath(_ path: String, inCanonicalDirectory directory: String) -> String {
        var info = stat()
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        guard !name.isEmpty, name != ".", name != "..", lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFLNK else {
            return canonicalPath(path)
        }
        return directory == "/" ? "/" + name : directory + "/" + name
    }

    private func errnoText() -> String { String(cString: strerror(errno)) }
}

private final class DescriptorReader: ConfigFileReader {
    private let fd: Int32

    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    var sizeHint: Int? {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(st.st_size)
    }

    func read(maximum: Int) throws(FileAccessError) -> [UInt8] {
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: maximum) { buffer, initialized in
            while true {
                let count = Glibc.read(fd, buffer.baseAddress, maximum)
                if count >= 0 {
                    initialized = count
                    return
                }
                if errno == EINTR { continue }
                failure = errno
                initialized = 0
                return
            }
        }
        if failure != 0 { throw FileAccessError(String(cString: strerror(failure))) }
        return bytes
    }
}

/// Files held in memory, for tests and the fuzzer; `glob` follows fnmatch(3) with FNM_PATHNAME.
public struct InMemoryFileSystem: ConfigFileSystem {
    public var files: [String: [UInt8]]

    public init(_ files: [String: String] = [:]) {
        self.files = files.mapValues { Array($0.utf8) }
    }

    public init(bytes: [String: [UInt8]]) { self.files = bytes }

    public func open(_ path: String) throws(FileAccessError) -> any ConfigFileReader {
        guard let bytes = files[normalizePath(path)] else { throw FileAccessError("No such file or directory") }
        return MemoryReader(bytes)
    }

    public func glob(_ pattern: String) throws(FileAccessError) -> [String] {
        let normalized = normalizePath(pattern)
        return files.keys.filter { fnmatch(normalized, $0, FNM_PATHNAME) == 0 }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    public func canonicalPath(_ path: String) -> String { normalizePath(path) }
}

private final class MemoryReader: ConfigFileReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(maximum: Int) throws(FileAccessError) -> [UInt8] {
        let end = min(bytes.count, offset + maximum)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

/// Removes `.` and empty components and folds `..`, without touching the file system.
func normalizePath(_ path: String) -> String {
    let absolute = path.hasPrefix("/")
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == "..", let last = parts.last, last != ".." {
            parts.removeLast()
            continue
        }
        if part == ".." && absolute { continue }
        parts.append(part)
    }
    let joined = parts.joined(separator: "/")
    return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
}

func directoryName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}

func joinPath(_ directory: String, _ path: String) -> String {
    if path.hasPrefix("/") || directory.isEmpty { return path }
    return directory.hasSuffix("/") ? directory + path : directory + "/" + path
}

func hasGlobCharacters(_ pattern: String) -> Bool {
    pattern.contains { "*?[{".contains($0) }
}
