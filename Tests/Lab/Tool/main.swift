// lab-ipvs: drives directord's IPVS binding from lab scenarios with ipvsadm's own command syntax.
import Glibc
import IPVS

let usage = """
    usage: lab-ipvs info                      print "IP Virtual Server version X.Y.Z (size=N)"
           lab-ipvs list [--stats|--rate|--thresholds|--persistent-conn] [--exact]
           lab-ipvs restore [--time]          ipvsadm-restore lines on stdin, sent in batches
           lab-ipvs generate SEED [--services N] [--max-dests N] [--pe] [--tunnels] [--no-fwmarks]
                                              a random table as ipvsadm-restore lines (no kernel needed)
           lab-ipvs reconcile [--flush] < DESIRED
                                              make the table match -A/-a lines on stdin with the reconciler;
                                              prints each planned operation and each foreign service
           lab-ipvs IPVSADM-ARGS...           one ipvsadm command, e.g. -A -t 10.0.0.1:80 -s rr

    """

func printError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String, code: Int32 = 1) -> Never {
    printError("lab-ipvs: \(message)\n")
    exit(code)
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func perform(_ command: IPVSAdmCommand, on table: IPVSTable) throws {
    switch command {
    case .operation(let op): try table.applyAll([op])
    case .flush: try table.flush()
    case .zero(let key): try table.zero(key)
    case .setTimeouts(let t): try table.setTimeouts(t)
    case .startDaemon(let d): try table.startSyncDaemon(d)
    case .stopDaemon(let s): try table.stopSyncDaemon(s)
    }
}

/// Applies restore lines: runs of table operations go out as one batch; everything else in order.
func restore(_ table: IPVSTable, timed: Bool) throws -> Int32 {
    var commands: [IPVSAdmCommand] = []
    var lineNumber = 0
    while let line = readLine() {
        lineNumber += 1
        guard let words = IPVSAdmCommand.words(ofLine: Substring(line)) else { continue }
        do {
            commands.append(try IPVSAdmCommand.parse(words))
        } catch {
            fail("stdin:\(lineNumber): \(error)", code: 2)
        }
    }
    let start = now()
    var failed = 0
    var pending: [IPVSOperation] = []
    func flushPending() throws {
        for f in try table.apply(pending) {
            printError("lab-ipvs: \(f)\n")
            failed += 1
        }
        pending.removeAll()
    }
    for c in commands {
        if case .operation(let op) = c {
            pending.append(op)
        } else {
            try flushPending()
            try perform(c, on: table)
        }
    }
    try flushPending()
    if timed {
        printError("lab-ipvs: applied \(commands.count) commands in \(Int((now() - start) * 1000)) ms\n")
    }
    return failed == 0 ? 0 : 1
}

/// The desired table from -A/-a lines: each -a adds a real server to its service.
func readDesired() -> [IPVSServiceRules] {
    var rules: [IPVSServiceRules] = []
    var lineNumber = 0
    while let line = readLine() {
        lineNumber += 1
        guard let words = IPVSAdmCommand.words(ofLine: Substring(line)) else { continue }
        let command: IPVSAdmCommand
        do {
            command = try IPVSAdmCommand.parse(words)
        } catch {
            fail("stdin:\(lineNumber): \(error)", code: 2)
        }
        switch command {
        case .operation(.addService(let s)):
            rules.append(IPVSServiceRules(service: s))
        case .operation(.addDestination(let key, let d)):
            guard let i = rules.firstIndex(where: { $0.key == key }) else { fail("stdin:\(lineNumber): -a before its -A", code: 2) }
            rules[i].destinations.append(d)
        default:
            fail("stdin:\(lineNumber): only -A and -a lines describe a desired table", code: 2)
        }
    }
    return rules
}

func reconcile(_ table: IPVSTable, flush: Bool) throws -> Int32 {
    let desired = readDesired()
    let ownership: IPVSOwnership = flush ? .wholeTable : .services(Set(desired.map(\.key)))
    let plan = IPVSReconciler.plan(desired: desired, actual: try table.services(), ownership: ownership)
    for op in plan.operations { print("op: \(op)") }
    for key in plan.foreignServices { print("foreign: \(key)") }
    let failures = try table.apply(plan.operations)
    for f in failures { printError("lab-ipvs: \(f)\n") }
    return failures.isEmpty ? 0 : 1
}

var args = Array(CommandLine.arguments.dropFirst())
guard let first = args.first else {
    printError(usage)
    exit(2)
}

if first == "generate" {
    var rest = args.dropFirst()
    guard let seedText = rest.popFirst(), let seed = UInt64(seedText) else { fail("generate: a numeric SEED is required", code: 2) }
    var generator = TableGenerator(g: SplitMix64(state: seed))
    while let option = rest.popFirst() {
        switch option {
        case "--services": generator.services = Int(rest.popFirst() ?? "") ?? generator.services
        case "--max-dests": generator.maxDestinations = Int(rest.popFirst() ?? "") ?? generator.maxDestinations
        case "--pe": generator.persistenceEngine = true
        case "--tunnels": generator.tunnels = true
        case "--no-fwmarks": generator.fwmarks = false
        default: fail("generate: unknown option \(option)", code: 2)
        }
    }
    for line in generator.table() { print(line) }
    exit(0)
}

do {
    let table = try KernelIPVSTable()
    switch first {
    case "info":
        let info = try table.info()
        print("IP Virtual Server version \(info.versionString) (size=\(info.connectionTableSize))")
    case "list":
        var options = IPVSListOptions()
        for a in args.dropFirst() {
            switch a {
            case "--stats": options.variant = .stats
            case "--rate": options.variant = .rate
            case "--thresholds": options.variant = .thresholds
            case "--persistent-conn": options.variant = .persistentConnections
            case "--exact": options.exact = true
            case "-n": continue
            default: fail("list: unknown option \(a)", code: 2)
            }
        }
        print(IPVSListFormatter.table(info: try table.info(), services: try table.services(), options: options), terminator: "")
    case "restore":
        exit(try restore(table, timed: args.contains("--time")))
    case "reconcile":
        exit(try reconcile(table, flush: args.contains("--flush")))
    default:
        guard first.hasPrefix("-") else {
            printError(usage)
            exit(2)
        }
        let command: IPVSAdmCommand
        do {
            command = try IPVSAdmCommand.parse(args)
        } catch {
            fail("\(error)", code: 2)
        }
        try perform(command, on: table)
    }
} catch let error as IPVSError {
    fail("\(error)", code: error == .unavailable ? 3 : 1)
} catch {
    fail("\(error)")
}
