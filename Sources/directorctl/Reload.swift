import ArgumentParser
import ControlProtocol

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask directord to re-read its configuration and wait for the result.",
        discussion: """
            The same as SIGHUP, but it waits and prints what happened: the IPVS operations applied, or every error \
            of a rejected configuration (the running one is then kept unchanged). Exit status 0 when the reload \
            was applied, 1 when it was rejected or failed, 3 when directord could not be reached.
            """)

    @OptionGroup var connection: SocketOption

    func run() throws {
        let response = try connection.send(.reload)
        print(response.message)
        if let plan = response.plan { printPlan(plan) }
        if !response.ok { throw ExitCode(1) }
    }
}

func printPlan(_ plan: ChangePlan) {
    if plan.isEmpty { print("no change"); return }
    for line in plan.ipvsOperations { print("ipvs: \(line)") }
    for line in plan.vrrpChanges { print("vrrp: \(line)") }
    for line in plan.healthChanges { print("health: \(line)") }
    for line in plan.warnings { print("warning: \(line)") }
}
