import Glibc

/// One running process as vrrp_track_process compares it.
public struct RunningProcess: Hashable, Sendable {
    public var pid: Int32
    /// /proc/PID/comm: the name, at most 15 bytes.
    public var name: String
    /// /proc/PID/cmdline split at NUL (empty for kernel threads and zombies).
    public var commandLine: [String]

    public init(pid: Int32, name: String, commandLine: [String]) {
        self.pid = pid
        self.name = name
        self.commandLine = commandLine
    }
}

/// The processes of the host (of its pid namespace), read from /proc; a protocol so tracking is tested without it.
public protocol ProcessListing: Sendable {
    func processes() -> [RunningProcess]
}

/// /proc. A process that ends while it is read is left out; nothing here throws.
public struct ProcProcesses: ProcessListing {
    public let root: String

    public init(root: String = "/proc") { self.root = root }

    public func processes() -> [RunningProcess] {
        guard let dir = opendir(root) else { return [] }
        defer { closedir(dir) }
        var result: [RunningProcess] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), pid > 0 else { continue }
            guard let comm = readSmall("\(root)/\(name)/comm") else { continue }
            let cmdline = readSmall("\(root)/\(name)/cmdline") ?? ""
            var args = cmdline.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
            if args.last == "" { args.removeLast() }
            result.append(RunningProcess(pid: pid, name: comm.hasSuffix("\n") ? String(comm.dropLast()) : comm, commandLine: args))
        }
        return result
    }

    /// The first 64 KiB of a /proc file (a command line longer than that is compared on its start).
    private func readSmall(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
