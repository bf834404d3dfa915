// MISC_CHECK: keepalived's "run a program" checker — its model and keyword table. The program's exit status is the
// verdict (0 up, 1 down; with misc_dynamic 2..255 is up at weight status - 2).
import Addresses

/// A MISC_CHECK as configured. The timing (delay_loop, retry, ...) is in the enclosing `HealthCheck`.
public struct MiscCheckConfig: Hashable, Sendable {
    /// `misc_path`: the command line. Run directly when it has no shell syntax, else through `/bin/sh -c`.
    public var command: String
    /// `misc_timeout`: nil means the check's delay_loop, as keepalived.
    public var timeout: Duration?
    /// `misc_dynamic`: exit status 2..255 sets the real's weight to status - 2.
    public var dynamic: Bool
    /// `user USER [GROUP]`; nil: global `script_user`, then keepalived's default rule.
    public var user: ScriptUser?

    public init(command: String, timeout: Duration? = nil, dynamic: Bool = false, user: ScriptUser? = nil) {
        self.command = command
        self.timeout = timeout
        self.dynamic = dynamic
        self.user = user
    }
}

/// The MISC_CHECK-only part of a check's draft.
struct MiscCheckDraft: Sendable {
    var command: String?
    var timeout: Duration?
    var dynamic = false
    var user: ScriptUser?
}

extension HealthCheckDraft {
    /// keepalived 2.2.7 (check_misc.c): the common checker keywords from alpha onwards, none of the connection ones.
    static let miscKeywords = KeywordTable<HealthCheckDraft>("MISC_CHECK", [
        .value("misc_path", 1...Int.max) { d, node, log in
            let command = node.arguments.map(\.text).joined(separator: " ")
            guard !command.allSatisfy({ $0 == " " || $0 == "\t" }) else {
                log.error(node.location, "'misc_path' is empty")
                return
            }
            d.misc.command = command
        },
        .value("misc_timeout") { d, node, log in
            if let v = log.duration(node.arguments[0], 0.000001...86400, "'misc_timeout'") { d.misc.timeout = v }
        },
        .value("misc_dynamic", 0...0) { d, _, _ in d.misc.dynamic = true },
        .value("user", 1...2) { d, node, _ in
            d.misc.user = ScriptUser(user: node.arguments[0].text, group: node.arguments.count > 1 ? node.arguments[1].text : nil)
        },
        .ignored("log_all_failures", "directord logs every health transition with its reason"),
    ] + InheritedCheckSettings.keywords(\HealthCheckDraft.inherited).filter { $0.name != "inhibit_on_failure" && $0.name != "virtualhost" })

    /// MISC_CHECK's half of `resolve`: keepalived's defaults are retry 0 and delay_before_retry 1 s.
    func resolveMisc(real: Endpoint, settings: InheritedCheckSettings, log: inout DiagnosticLog) -> HealthCheck? {
        guard let command = misc.command else {
            log.error(header.location, "MISC_CHECK of real_server \(real) has no 'misc_path'")
            return nil
        }
        var check = HealthCheck(
            kind: kind, connectIP: real.address, connectPort: real.port,
            connectTimeout: settings.connectTimeout ?? HealthCheck.defaultConnectTimeout,
            retry: settings.retry ?? 0, delayBeforeRetry: settings.delayBeforeRetry ?? .seconds(1),
            delayLoop: settings.delayLoop ?? HealthCheck.defaultDelayLoop, warmup: settings.warmup,
            alpha: settings.alpha ?? false)
        check.misc = MiscCheckConfig(command: command, timeout: misc.timeout, dynamic: misc.dynamic, user: misc.user)
        return check
    }
}

extension RealServerDraft {
    /// MISC_CHECK and FILE_CHECK read their own tables (no connection keywords).
    static func scriptOrFileCheck(_ kind: HealthCheckKind) -> Keyword<RealServerDraft> {
        .block(kind.rawValue, 0...0, .required) { d, node, log in
            var check = HealthCheckDraft(kind: kind, header: node)
            let table = kind == .misc ? HealthCheckDraft.miscKeywords : HealthCheckDraft.fileKeywords
            table.apply(node.block ?? [], to: &check, log: &log)
            d.checks.append(check)
        }
    }
}
