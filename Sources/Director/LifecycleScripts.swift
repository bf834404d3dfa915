import DirectorConfig
import Logging
import Platform
import VRRPHost

/// `startup_script` and `shutdown_script`, as keepalived 2.2.7 runs them: once (a reload runs neither), under the
/// script user and enable_script_security rules, waited for at most their timeout (then killed with their process
/// group), and whatever they answer the daemon goes on starting or stopping.
enum LifecycleScripts {
    enum Moment: String, Sendable {
        case startup
        case shutdown
    }

    @discardableResult
    static func run(_ moment: Moment, _ globals: GlobalSettings, runner: any ScriptRunning,
                    files: any ScriptPathInspecting = SystemScriptPaths(), logger: Logger) async -> ScriptResult? {
        let keyword = "\(moment.rawValue)_script"
        let (wanted, timeout) = moment == .startup
            ? (globals.startupScript, globals.startupScriptTimeout)
            : (globals.shutdownScript, globals.shutdownScriptTimeout)
        guard let wanted else { return nil }
        let (script, problem) = ScriptPolicy(globals: globals, files: files).prepare(command: wanted.command, user: wanted.user)
        guard let script else {
            logger.error("\(keyword) not run: \(problem ?? "refused")")
            return nil
        }
        if let problem { logger.warning("\(keyword): \(problem)") }
        logger.notice("running \(keyword) \(script) (at most \(timeout))")
        let result = await runner.run(script, timeout: timeout)
        if result.outcome.succeeded {
            logger.notice("\(keyword) \(script) succeeded")
        } else {
            logger.warning("\(keyword) \(script) \(result.outcome)\(result.output.isEmpty ? "" : ": \(result.output)"); \(moment == .startup ? "starting" : "stopping") anyway, as keepalived does")
        }
        return result
    }
}
