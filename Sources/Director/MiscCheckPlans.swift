// MISC_CHECK and FILE_CHECK from configuration to probes: the script user and enable_script_security rules that
// VRRP scripts get (VRRPHost's ScriptPolicy), the bridge to Platform's process runner, and track_file's init_file.
import DirectorConfig
import Glibc
import HealthCheck
import Logging
import Platform
import VRRPHost

/// Platform's runner (own process group, killed at the timeout, output capped) as the checkers' script runner.
public struct PlatformCheckScripts: CheckScriptRunning {
    let runner: any ScriptRunning

    public init(runner: any ScriptRunning = ProcessScriptRunner()) { self.runner = runner }

    public func run(command: String, user: String?, group: String?, timeout: Duration) async -> ScriptExit {
        let result = await runner.run(Script(command: command, user: user, group: group, avoidShell: true), timeout: timeout)
        switch result.outcome {
        case .exited(let status): return .exited(status)
        case .signalled(let signal): return .signalled(signal)
        case .timedOut: return .timedOut
        case .failedToStart(let why): return .failedToStart(why)
        }
    }
}

extension HealthPlans {
    /// A MISC_CHECK's probe: its user as keepalived picks it, refused (down, never run) when there is no user to run
    /// it as, or when enable_script_security finds it writable by someone other than root and it would run as root.
    static func miscProbe(_ misc: MiscCheckConfig, check: DirectorConfig.HealthCheck, globals: GlobalSettings,
                          files: any ScriptPathInspecting) -> CheckProbe {
        let policy = ScriptPolicy(globals: globals, files: files)
        let prepared = policy.prepare(command: misc.command, user: misc.user)
        let timeout = misc.timeout ?? check.delayLoop
        guard let script = prepared.script else {
            return .misc(MiscCheck(command: misc.command, timeout: timeout, dynamic: misc.dynamic,
                                   refusal: prepared.problem ?? "refused by enable_script_security"))
        }
        return .misc(MiscCheck(command: script.command, user: script.user, group: script.group, timeout: timeout,
                               dynamic: misc.dynamic))
    }

    static func fileProbe(_ file: FileCheckConfig) -> CheckProbe {
        .file(FileCheck(path: file.path, weight: file.weight, reverse: file.reverse))
    }
}

/// track_file's `init_file`: write the value when the file is missing, or always with `overwrite` (keepalived does
/// it when it reads the configuration). A failure is logged; the check then reads what is there.
enum TrackFileInitializer {
    static func prepare(_ files: [TrackFile], logger: Logger) {
        for file in files {
            guard let initFile = file.initFile else { continue }
            if !initFile.overwrite && access(file.path, F_OK) == 0 { continue }
            let fd = open(file.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else {
                logger.error("track_file \(file.name) (\(file.origin)): cannot write init_file value to \(file.path): \(SystemError(call: "open", errno: errno))")
                continue
            }
            let bytes = Array("\(initFile.value)\n".utf8)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written != bytes.count {
                logger.error("track_file \(file.name) (\(file.origin)): short write to \(file.path)")
            }
            close(fd)
        }
    }
}
