import Glibc

/// Reads and writes kernel parameters; a protocol so the decisions around it are tested with a fake.
public protocol SysctlAccess: Sendable {
    func read(_ key: String) throws(SystemError) -> String
    func write(_ key: String, _ value: String) throws(SystemError)
}

/// /proc/sys of the current network namespace.
public struct ProcSysctl: SysctlAccess {
    public let root: String

    public init(root: String = "/proc/sys") { self.root = root }

    func path(_ key: String) -> String { root + "/" + key.replacingDots() }

    public func read(_ key: String) throws(SystemError) -> String {
        let p = path(key)
        let fd = try retryingEINTR("open", detail: p) { open(p, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = try retryingEINTR("read", detail: p) { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
        return String(decoding: buffer[0..<Int(n)], as: UTF8.self).trimmingWhitespace()
    }

    public func write(_ key: String, _ value: String) throws(SystemError) {
        let p = path(key)
        let fd = try retryingEINTR("open", detail: p) { open(p, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        try retryingEINTR("write", detail: p) { bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
    }
}

/// Forwarding for NAT: directord turns it on when a NAT virtual server needs it and never turns it off.
public enum Forwarding {
    public static let ipv4Key = "net.ipv4.ip_forward"
    public static let ipv6Key = "net.ipv6.conf.all.forwarding"

    /// Sets each key to 1 where it is not already; returns the keys it changed (for the log).
    public static func enable(ipv4: Bool, ipv6: Bool, sysctl: some SysctlAccess) throws(SystemError) -> [String] {
        var changed: [String] = []
        for (wanted, key) in [(ipv4, ipv4Key), (ipv6, ipv6Key)] where wanted {
            if try sysctl.read(key) != "1" {
                try sysctl.write(key, "1")
                changed.append(key)
            }
        }
        return changed
    }
}

extension String {
    // As sysctl(8): "." or "/" separates the key; with "/", an interface name may keep its dots (eth0.100).
    func replacingDots() -> String {
        if contains("/") { return self }
        return String(map { $0 == "." ? "/" : $0 })
    }

    /// Without leading and trailing whitespace (kernel text files end in a newline).
    public func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
