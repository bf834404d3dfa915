// directord: the LVS director daemon (entry point; the work lives in the library modules).
import ArgumentParser
import DirectorConfig
import Logging

@main
struct Directord: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directord",
        abstract: "Keep the kernel's IPVS table and the virtual addresses right for a pair of LVS directors."
    )

    @Option(name: [.customShort("f"), .customLong("config-file")], help: "Main configuration file.")
    var configFile: String = "/etc/directord/directord.conf"

    @Flag(
        name: [.customShort("t"), .customLong("check")],
        help: "Check the configuration and exit: 0 when valid (warnings on stderr), 1 with every error on stderr.")
    var check = false

    @Flag(name: .customLong("dump"), help: "Print the effective configuration (includes expanded, defaults applied) and exit.")
    var dump = false

    mutating func run() throws {
        if check || dump {
            let valid = ConfigurationCheck.run(path: configFile, dump: dump, program: "directord")
            throw ExitCode(valid ? 0 : 1)
        }
        throw ValidationError("directord: the daemon is not built yet; see the open issues")
    }
}
