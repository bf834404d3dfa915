import ArgumentParser
import ControlProtocol

/// VIRTUAL or --all: the targets `withdraw` and `announce` share.
struct AnnouncedSelection: ParsableArguments {
    @Flag(name: .customLong("all"), help: "Every virtual server with 'announce'.")
    var all = false

    @Argument(help: "ADDR:PORT (TCP), udp:ADDR:PORT or sctp:ADDR:PORT: a virtual server with 'announce'.")
    var virtualServer: String?

    func validate() throws {
        if all == (virtualServer != nil) { throw ValidationError("name one virtual server, or --all") }
    }
}

struct Withdraw: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Withdraw announced VIPs from the routers, keeping this director serving what still reaches it.",
        discussion: """
            The host route of the VIP leaves the kernel, so the routing daemon withdraws it and the routers send \
            new flows to the other directors; with mh and DR the flows already here continue there. The VIP stays \
            withdrawn until `directorctl announce`, or a restart. Exit 1 for a virtual server without 'announce' \
            (the message lists those with it), 3 when directord cannot be reached.
            """)

    @OptionGroup var selection: AnnouncedSelection
    @OptionGroup var connection: SocketOption

    func run() throws {
        try sendWithdraw(selection, withdrawn: true, connection)
    }
}

struct Announce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Undo `directorctl withdraw`: the VIPs are announced again as their health allows.",
        discussion: """
            The route returns once the virtual servers on the VIP are healthy here for announce_rise, as after a \
            failure. Exit 1 for a virtual server without 'announce', 3 when directord cannot be reached.
            """)

    @OptionGroup var selection: AnnouncedSelection
    @OptionGroup var connection: SocketOption

    func run() throws {
        try sendWithdraw(selection, withdrawn: false, connection)
    }
}

private func sendWithdraw(_ selection: AnnouncedSelection, withdrawn: Bool, _ connection: SocketOption) throws {
    let response = try sendExpectingOK(.withdraw(virtualServer: selection.all ? nil : selection.virtualServer, withdrawn: withdrawn), socket: connection.socket, timeout: .seconds(connection.timeout))
    print(response.message)
}
