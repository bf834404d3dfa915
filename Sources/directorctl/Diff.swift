import ArgumentParser
import ControlProtocol
import FoundationEssentials

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a reload to a configuration file would change, without changing anything.",
        discussion: """
            directord validates FILE and compares it with what runs now: the IPVS operations a reload would \
            send (in order), and the VRRP and health-check changes. Exit status 0 with a valid FILE (whether or \
            not anything would change), 1 when FILE is invalid (its errors are printed), 3 when directord could \
            not be reached.

            Example: directorctl diff -f /etc/directord/directord.conf.new
            """)

    @Option(name: [.customShort("f"), .customLong("config-file")], help: "The configuration file to compare.")
    var configFile: String = "/etc/directord/directord.conf"

    @OptionGroup var connection: SocketOption

    func run() throws {
        // The daemon reads the file: hand it an absolute path.
        let path = configFile.hasPrefix("/") ? configFile : FileManager.default.currentDirectoryPath + "/" + configFile
        let response = try connection.send(.diff(configFile: path))
        guard response.ok, let plan = response.plan else {
            printError(response.message)
            throw ExitCode(1)
        }
        printPlan(plan)
    }
}
