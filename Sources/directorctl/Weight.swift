import ArgumentParser
import ControlProtocol

struct Weight: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Override a real's weight at runtime, or remove the override.",
        discussion: """
            `directorctl weight VIRTUAL REAL N` sets the weight IPVS gives the real while it is up (0-65535), \
            without editing the configuration; `--reset` returns it to the configured weight. Health still rules: \
            a real down by its checks stays out, and a drained one stays at 0. The override survives reloads while \
            the real stays configured, and restarts. Exit 1 for an unknown virtual server or real, 3 when directord \
            cannot be reached.
            Examples: `directorctl weight 192.0.2.10:80 10.0.0.11:80 5`, \
            `directorctl weight udp:192.0.2.10:53 [2001:db8::11]:53 --reset`.
            """)

    @Argument(help: "ADDR:PORT (TCP), udp:ADDR:PORT, sctp:ADDR:PORT, fwmark:N or group:NAME.")
    var virtualServer: String

    @Argument(help: "ADDR:PORT ([ADDR]:PORT for IPv6).")
    var real: String

    @Argument(help: "The weight (0-65535).")
    var weight: Int?

    @Flag(name: .customLong("reset"), help: "Remove the override: back to the configured weight.")
    var reset = false

    @OptionGroup var connection: SocketOption

    func validate() throws {
        if reset == (weight != nil) { throw ValidationError("give either a weight N or --reset") }
        if let weight, !(0...65535).contains(weight) { throw ValidationError("the weight must be 0-65535") }
    }

    func run() throws {
        let change: OverrideChange = weight.map(OverrideChange.weight) ?? .resetWeight
        let response = try sendExpectingOK(.override(virtualServer: virtualServer, real: real, change: change), socket: connection.socket, timeout: .seconds(connection.timeout))
        print(response.message)
    }
}
