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

    mutating func run() throws {
        throw ValidationError("directord: the daemon is not built yet; see the open issues")
    }
}
