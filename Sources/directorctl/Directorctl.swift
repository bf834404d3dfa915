// directorctl: the operator's tool — read the kernel table, talk to the daemon, compute digests.
import ArgumentParser

@main
struct Directorctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directorctl",
        abstract: "Inspect and control directord and the kernel's IPVS table.",
        subcommands: [List.self, Status.self, Reload.self, Diff.self, Check.self, Genhash.self, Drain.self, Undrain.self, Weight.self, Withdraw.self, Announce.self]
    )
}
