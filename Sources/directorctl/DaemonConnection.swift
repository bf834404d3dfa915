import ArgumentParser
import ControlProtocol
import FoundationEssentials
import Platform

/// `--socket PATH`, shared by every subcommand that talks to the daemon (the same option directord takes).
struct SocketOption: ParsableArguments {
    @Option(name: .customLong("socket"), help: "directord's control socket.")
    var socket: String = defaultControlSocketPath

    @Option(name: .customLong("timeout"), help: "Seconds to wait for directord's answer.")
    var timeout: Int = 60

    /// Sends one request; a failure to reach the daemon exits 3 with the client's explanation.
    func send(_ request: ControlRequest) throws -> ControlResponse {
        try sendControl(request, socket: socket, timeout: .seconds(timeout))
    }
}

/// `--socket PATH` alone, for the commands whose `--timeout` means something else (`drain --wait`).
struct SocketPathOption: ParsableArguments {
    @Option(name: .customLong("socket"), help: "directord's control socket.")
    var socket: String = defaultControlSocketPath

    func send(_ request: ControlRequest) throws -> ControlResponse {
        try sendControl(request, socket: socket, timeout: .seconds(60))
    }
}

/// A request whose refusal ends the command: the daemon's message on standard error and exit status 1.
func sendExpectingOK(_ request: ControlRequest, socket: String, timeout: Duration = .seconds(60)) throws -> ControlResponse {
    let response = try sendControl(request, socket: socket, timeout: timeout)
    guard response.ok else {
        printError("directorctl: \(response.message)")
        throw ExitCode(1)
    }
    return response
}

/// Sends one request; a failure to reach the daemon exits 3 with the client's explanation.
func sendControl(_ request: ControlRequest, socket: String, timeout: Duration) throws -> ControlResponse {
    do {
        return try ControlClient(socketPath: socket, timeout: timeout).send(request)
    } catch {
        printError("directorctl: \(error.message)")
        throw ExitCode(3)
    }
}

func printError(_ text: String) {
    StandardError.write(text + "\n")
}
