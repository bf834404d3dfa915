// `directorctl list`: the IPVS table as `ipvsadm -Ln` prints it, read straight from the kernel.
import ArgumentParser
import IPVS

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the kernel's IPVS table exactly as `ipvsadm -Ln` would.")
    mutating func run() throws {
        throw ValidationError("not yet")
    }
}
