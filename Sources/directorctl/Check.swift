// `directorctl check`: validate a configuration exactly as `directord --check` does, without a daemon.
import ArgumentParser
import DirectorConfig
import Platform

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a configuration file and everything it includes.",
        discussion: """
            Prints every warning and error as FILE:LINE:COLUMN: error|warning: MESSAGE on standard error. \
            Exits 0 when the configuration is valid (warnings allowed) and 1 when it has errors. \
            With --dump, prints the effective configuration (includes expanded, defaults applied) on standard output.
            """
    )

    @Option(name: [.customShort("f"), .customLong("config-file")], help: "Main configuration file.")
    var configFile: String = "/etc/directord/directord.conf"

    @Option(
        name: [.customShort("i"), .customLong("config-id")],
        help: "The id that @ID and @^ID configuration lines are compared with (default: the host name up to its first dot).")
    var configID: String = ConfigurationLoader.defaultConfigID()

    @Flag(name: .customLong("dump"), help: "Print the effective configuration when it is valid.")
    var dump = false

    mutating func run() throws {
        let report = ConfigurationCheck.report(
            path: configFile, dump: dump, program: "directorctl", loader: ConfigurationLoader(configID: configID))
        print(report.output, terminator: "")
        StandardError.write(report.messages)
        if !report.valid { throw ExitCode(1) }
    }
}
