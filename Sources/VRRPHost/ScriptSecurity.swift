import DirectorConfig
import Glibc
import Platform

/// Ownership and mode of one file, as enable_script_security needs them.
public struct FileStatus: Hashable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var mode: UInt32

    public init(uid: UInt32, gid: UInt32, mode: UInt32) {
        self.uid = uid
        self.gid = gid
        self.mode = mode
    }

    var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
}

/// The file system facts script security looks at; a protocol so the rules are tested without real files.
public protocol ScriptPathInspecting: Sendable {
    /// stat(2) of a path (following symlinks), nil when it does not exist.
    func status(of path: String) -> FileStatus?
    /// realpath(3), nil when it cannot be resolved.
    func canonicalPath(_ path: String) -> String?
    /// $PATH directories, for commands given without a slash (`killall -0 nginx`).
    var searchPath: [String] { get }
    /// Whether a user exists (keepalived runs scripts as `keepalived_script` when it does).
    func userExists(_ name: String) -> Bool
}

public struct SystemScriptPaths: ScriptPathInspecting {
    public init() {}

    public func status(of path: String) -> FileStatus? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileStatus(uid: st.st_uid, gid: st.st_gid, mode: st.st_mode)
    }

    public func canonicalPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public var searchPath: [String] {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").map(String.init)
    }

    public func userExists(_ name: String) -> Bool { getpwnam(name) != nil }
}

/// keepalived's script user and enable_script_security rules (VRRP scripts here, MISC_CHECK in the Director).
public struct ScriptPolicy: Sendable {
    var defaultUser: ScriptUser?
    var enforce: Bool
    var files: any ScriptPathInspecting

    public init(globals: GlobalSettings, files: any ScriptPathInspecting) {
        // keepalived: script_user, else `keepalived_script` when that user exists, else root.
        defaultUser = globals.scriptUser ?? (files.userExists("keepalived_script") ? ScriptUser(user: "keepalived_script") : nil)
        enforce = globals.enableScriptSecurity
        self.files = files
    }

    /// The user a script runs as (nil: directord's own identity, root in production).
    func user(for explicit: ScriptUser?) -> String? {
        let name = (explicit ?? defaultUser)?.user
        return name == "root" ? nil : name
    }

    /// A `Script` ready to run, or why it must not run (insecure and enable_script_security set).
    /// `warning` is set when the script is insecure but security is not enforced (keepalived logs and runs it).
    public func prepare(command: String, arguments: [String] = [], user explicit: ScriptUser?) -> (script: Script?, problem: String?) {
        let user = user(for: explicit)
        let script = Script(command: command, arguments: arguments, user: user)
        guard user == nil, let weak = insecurity(of: command) else { return (script, nil) }
        if enforce {
            return (nil, "script '\(command)' is not run: \(weak), and it would run as root (enable_script_security)")
        }
        return (script, "script '\(command)' runs as root although \(weak) (set enable_script_security to refuse it)")
    }

    /// Why a non-root user could change what the command runs, or nil.
    func insecurity(of command: String) -> String? {
        guard let word = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) else { return nil }
        let program = word.trimmingCharacters(in: "\"'")
        let candidate: String?
        if program.contains("/") {
            candidate = program
        } else {
            candidate = files.searchPath.map { $0 + "/" + program }.first { files.status(of: $0) != nil }
        }
        // A command that cannot be found will fail when run; there is nothing to protect.
        guard let candidate, let path = files.canonicalPath(candidate) else { return nil }
        var components: [String] = ["/"]
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            components.append(prefix)
        }
        for (index, component) in components.enumerated() {
            guard let st = files.status(of: component) else { continue }
            let isLast = index == components.count - 1
            if st.uid != 0 { return "\(component) is owned by uid \(st.uid)" }
            if st.mode & UInt32(S_IWGRP) != 0 && st.gid != 0 { return "\(component) is writable by gid \(st.gid)" }
            // A sticky world-writable directory (/tmp) only lets owners replace entries; the next component's owner
            // check covers that.
            if st.mode & UInt32(S_IWOTH) != 0 && !(st.isDirectory && st.mode & UInt32(S_ISVTX) != 0 && !isLast) {
                return "\(component) is writable by everyone"
            }
        }
        return nil
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
