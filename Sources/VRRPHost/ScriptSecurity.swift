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
    /// Whether a group exists (`script_user USER GROUP`, a script's own `USER GROUP`).
    func groupExists(_ name: String) -> Bool
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

    public func groupExists(_ name: String) -> Bool { getgrnam(name) != nil }
}

/// keepalived's script user and enable_script_security rules, for every script directord runs (VRRP notify and
/// tracking, health and quorum notify, MISC_CHECK, the lifecycle scripts).
public struct ScriptPolicy: Sendable {
    /// Who runs a script that names no user of its own.
    enum DefaultUser {
        /// directord's own identity (root).
        case own
        case user(ScriptUser)
        /// None can be had: keepalived removes every script that names no user, and says why once.
        case unavailable(String)
    }

    var defaultUser: DefaultUser
    var enforce: Bool
    var files: any ScriptPathInspecting

    public init(globals: GlobalSettings, files: any ScriptPathInspecting) {
        enforce = globals.enableScriptSecurity
        self.files = files
        // keepalived 2.2.7 (get_default_script_user): script_user when it resolves, and when it does not, no default
        // at all; without script_user, `keepalived_script` when that user exists, else root, but not under
        // enable_script_security, which then has no default user either.
        if let configured = globals.scriptUser {
            if let missing = Self.missing(configured, files) {
                defaultUser = .unavailable("script_user's \(missing) does not exist")
            } else {
                defaultUser = .user(configured)
            }
        } else if files.userExists("keepalived_script") {
            defaultUser = .user(ScriptUser(user: "keepalived_script"))
        } else if enforce {
            defaultUser = .unavailable(
                "enable_script_security is set and there is no default script user (no script_user, and no user keepalived_script)")
        } else {
            defaultUser = .own
        }
    }

    /// Why the policy has no default script user, or nil when it has one (each refused script says it in its own
    /// problem line).
    var defaultUserProblem: String? {
        if case .unavailable(let why) = defaultUser { return why }
        return nil
    }

    /// "user X" or "group Y" when that part of `identity` does not exist on this host.
    static func missing(_ identity: ScriptUser, _ files: any ScriptPathInspecting) -> String? {
        if !files.userExists(identity.user) { return "user \(identity.user)" }
        if let group = identity.group, !files.groupExists(group) { return "group \(group)" }
        return nil
    }

    /// The identity a script runs as (nil: directord's own, root in production), or why there is none.
    func identity(for explicit: ScriptUser?) -> Result<ScriptUser?, ScriptRefusal> {
        if let explicit {
            if let missing = Self.missing(explicit, files) { return .failure(ScriptRefusal("its \(missing) does not exist")) }
            return .success(Self.ownIfRoot(explicit))
        }
        switch defaultUser {
        case .own: return .success(nil)
        case .user(let user): return .success(Self.ownIfRoot(user))
        case .unavailable(let why): return .failure(ScriptRefusal("it names no user and \(why)"))
        }
    }

    private static func ownIfRoot(_ identity: ScriptUser) -> ScriptUser? {
        identity.user == "root" && (identity.group == nil || identity.group == "root") ? nil : identity
    }

    /// A `Script` ready to run, or why it must not run (no user to run it as; insecure under
    /// enable_script_security). `warning` is set when the script is insecure but security is not enforced
    /// (keepalived logs and runs it).
    public func prepare(command: String, arguments: [String] = [], user explicit: ScriptUser?) -> (script: Script?, problem: String?) {
        let identity: ScriptUser?
        switch self.identity(for: explicit) {
        case .success(let resolved): identity = resolved
        case .failure(let refusal): return (nil, "script '\(command)' is not run: \(refusal.reason)")
        }
        let script = Script(command: command, arguments: arguments, user: identity?.user, group: identity?.group)
        let asRoot = identity == nil || identity?.user == "root" || identity?.group == "root"
        guard asRoot, let weak = insecurity(of: command) else { return (script, nil) }
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

/// Why a script is not run.
struct ScriptRefusal: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

extension ScriptPolicy {
    /// Each script of `configuration` that this host would refuse to run, or run with a warning, as
    /// "FILE:LINE:COL: warning: ROLE: PROBLEM" (`directord -t`; start says the same as it prepares each script).
    public static func audit(_ configuration: Configuration, files: any ScriptPathInspecting = SystemScriptPaths()) -> [String] {
        let policy = ScriptPolicy(globals: configuration.globals, files: files)
        var lines: [String] = []
        // keepalived reports an unusable script_user whether or not a script needs it.
        if let configured = configuration.globals.scriptUser, let missing = missing(configured, files) {
            lines.append("warning: global_defs script_user: its \(missing) does not exist: no script that names no user will run")
        }
        for use in configuration.scriptUses {
            guard let problem = policy.prepare(command: use.command, user: use.user).problem else { continue }
            let place = use.origin.location.map { "\($0): " } ?? ""
            lines.append("\(place)warning: \(use.role): \(problem)")
        }
        return lines
    }
}
