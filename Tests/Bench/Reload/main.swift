// bench-reload: the cost of one reload natively, with the kernel replaced by the in-memory table, so the work
// directord itself does (read, compile, diff, plan) is measured alone and can be profiled with perf.
//
//   bench-reload [--services N] [--reals M] [--runs R] [--no-cache] [--confd]
//
// The table is the one `make bench` uses (Tests/Bench/guest/bench.py: N services 10.1.x.y:80, wrr, DR, M reals of
// weight 1-5). Each run changes one weight and adds one real in a different service, writes the file, and times
// Supervisor.reload from the call to its answer; it prints the median, min and max, the kernel operations of the
// last run and the process's peak RSS. --confd writes one service per file under conf.d/ instead.
import Director
import DirectorConfig
import Foundation
import IPVS
import Logging
import NIOPosix
import Platform
import VRRPHost

struct Options {
    var services = 2000, reals = 16, runs = 9, cache = true, confd = false

    init(_ arguments: [String]) {
        var i = 1
        func value() -> Int {
            i += 1
            guard i < arguments.count, let n = Int(arguments[i]), n > 0 else {
                FileHandle.standardError.write(Data("bench-reload: \(arguments[i - 1]) needs a positive number\n".utf8))
                exit(2)
            }
            return n
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--services": services = value()
            case "--reals": reals = value()
            case "--runs": runs = value()
            case "--no-cache": cache = false
            case "--confd": confd = true
            default:
                FileHandle.standardError.write(Data("usage: bench-reload [--services N] [--reals M] [--runs R] [--no-cache] [--confd]\n".utf8))
                exit(2)
            }
            i += 1
        }
    }
}

/// The bench table, as bench.py writes it.
struct Table {
    var services: Int
    var reals: Int
    var weights: [Int: Int] = [:]  // i * 1000 + j -> weight
    var extra: [Int: Int] = [:]

    func vip(_ i: Int) -> String { "10.1.\(i / 250).\(i % 250 + 1)" }
    func rip(_ i: Int, _ j: Int) -> String { "172.\(16 + i / 250).\(i % 250).\(j + 1)" }
    func weight(_ i: Int, _ j: Int) -> Int { weights[i * 1000 + j] ?? 1 + (i + j) % 5 }

    func service(_ i: Int) -> String {
        var out = "virtual_server \(vip(i)) 80 {\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n"
        for j in 0..<(reals + extra[i, default: 0]) {
            out += "    real_server \(rip(i, j)) 80 {\n        weight \(weight(i, j))\n    }\n"
        }
        return out + "}\n"
    }

    func write(to directory: String, confd: Bool) throws {
        let head = "global_defs {\n    router_id bench\n}\n"
        if confd {
            try FileManager.default.createDirectory(atPath: directory + "/conf.d", withIntermediateDirectories: true)
            try (head + "include conf.d/*.conf\n").write(toFile: directory + "/directord.conf", atomically: true, encoding: .utf8)
            for i in 0..<services {
                let name = directory + "/conf.d/" + String(format: "%05d.conf", i)
                let text = service(i)
                if (try? String(contentsOfFile: name, encoding: .utf8)) != text {
                    try text.write(toFile: name, atomically: true, encoding: .utf8)
                }
            }
        } else {
            try (head + (0..<services).map(service).joined()).write(toFile: directory + "/directord.conf", atomically: true, encoding: .utf8)
        }
    }
}

struct NoSysctl: SysctlAccess {
    func read(_ key: String) throws(SystemError) -> String { "1" }
    func write(_ key: String, _ value: String) throws(SystemError) {}
}

final class Kernel: @unchecked Sendable {
    let table = RecordingIPVSTable()
}

func peakRSS() -> String {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.map { $0.dropFirst(6).trimmingCharacters(in: .whitespaces) } ?? "?"
}

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

let options = Options(CommandLine.arguments)
let directory = NSTemporaryDirectory() + "bench-reload-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
var table = Table(services: options.services, reals: options.reals)
try table.write(to: directory, confd: options.confd)
let file = directory + "/directord.conf"

let kernel = Kernel()
let cache = options.cache ? ParseCache() : nil
let dependencies = EngineDependencies(
    loadConfiguration: { ConfigurationLoader(cache: cache).load(path: $0) }, openIPVS: { kernel.table }, sysctl: NoSysctl(),
    notifier: SystemdNotifier(environment: [:]), network: RouteNetlink())
var logger = Logger(label: "bench-reload")
logger.logLevel = .critical
let quiet = logger
let configuration = try Engine.load(file, dependencies: dependencies, logger: logger)
let engine = Engine(configFile: file, configuration: configuration, logger: logger, dependencies: dependencies)
let supervisor = Supervisor(engine: engine, logger: logger, dependencies: dependencies) {
    VRRPHost(configuration: $0, logger: quiet)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let started = ContinuousClock.now
try await supervisor.start(configuration, healthChecks: true)
print("start: \(String(format: "%.1f", milliseconds(started.duration(to: .now)))) ms, \(kernel.table.entries.count) services")

var times: [Double] = []
var lastOperations = 0
for run in 0..<options.runs {
    let service = (run * 7919 + 13) % options.services
    table.weights[service * 1000] = table.weight(service, 0) % 5 + 1
    table.extra[service, default: 0] += 1
    try table.write(to: directory, confd: options.confd)
    let t0 = ContinuousClock.now
    let response = await supervisor.reload(file: file)
    times.append(milliseconds(t0.duration(to: .now)))
    guard response.ok else {
        print("reload failed: \(response.message ?? "")")
        exit(1)
    }
    lastOperations = response.plan?.ipvsOperations.count ?? 0
}
// The load alone (every block from the cache but none changed): how much of a reload is reading the file.
var loads: [Double] = []
for _ in 0..<options.runs {
    let t0 = ContinuousClock.now
    _ = dependencies.loadConfiguration(file)
    loads.append(milliseconds(t0.duration(to: .now)))
}
loads.sort()
print(String(format: "load of the same file again: median %.1f ms", loads[loads.count / 2]))
let sorted = times.sorted()
print(String(format: "reload %@%@, %d×%d: median %.1f ms, min %.1f ms, max %.1f ms over %d runs; %d IPVS operations in the last; peak RSS %@",
             options.cache ? "with the parse cache" : "without the parse cache", options.confd ? " (conf.d, one service per file)" : "",
             options.services, options.reals, sorted[sorted.count / 2], sorted[0], sorted[sorted.count - 1], sorted.count,
             lastOperations, peakRSS()))
await supervisor.stop(mode: .keep)
try await group.shutdownGracefully()
