// lab-vrrp: runs only directord's VRRP host from a config file, for lab scenarios, until SIGTERM/SIGINT.
//   lab-vrrp -f FILE [--status PATH] [--log-level trace|debug|info|notice|warning|error]
// SIGTERM/SIGINT: graceful stop (priority 0, addresses released, notify_stop), exit 0.
// SIGUSR1: write `status()` as JSON to PATH (atomically, via PATH.tmp). SIGHUP: reload FILE, print the changes.
import ControlProtocol
import DirectorConfig
import Dispatch
import Foundation
import Glibc
import Logging
import VRRPHost

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("lab-vrrp: \(message)\n".utf8))
    exit(1)
}

/// Unbuffered line to stdout, so scenario logs interleave in order.
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

func parseArguments() -> (file: String, status: String?, level: Logger.Level) {
    var file: String?
    var status: String?
    var level = Logger.Level.info
    var args = CommandLine.arguments.dropFirst()
    while let arg = args.popFirst() {
        switch arg {
        case "-f": file = args.popFirst()
        case "--status": status = args.popFirst()
        case "--log-level":
            guard let text = args.popFirst(), let l = Logger.Level(rawValue: text) else { fail("--log-level needs a level") }
            level = l
        default: fail("unknown argument \(arg); usage: lab-vrrp -f FILE [--status PATH] [--log-level LEVEL]")
        }
    }
    guard let file else { fail("usage: lab-vrrp -f FILE [--status PATH] [--log-level LEVEL]") }
    return (file, status, level)
}

let (file, statusPath, level) = parseArguments()

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = level
    return handler
}
let logger = Logger(label: "lab-vrrp")

func load() -> Configuration? {
    let result = ConfigurationLoader().load(path: file)
    for d in result.diagnostics { FileHandle.standardError.write(Data("\(d)\n".utf8)) }
    return result.configuration
}

guard let configuration = load() else { fail("\(file): configuration has errors") }
let host = VRRPHost(configuration: configuration, logger: logger)
do {
    try host.start()
} catch {
    fail("cannot start VRRP:\n\(error)")
}
say("lab-vrrp: running \(configuration.vrrpInstances.count) instance(s) from \(file), pid \(getpid())")

Task {
    for await event in host.events {
        say("event: \(event)")
    }
}

func writeStatus() {
    struct Snapshot: Encodable {
        var instances: [InstanceStatus]
        var syncGroups: [SyncGroupStatus]
        var scripts: [TrackedScriptStatus]
    }
    let s = host.status()
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    guard let data = try? encoder.encode(Snapshot(instances: s.instances, syncGroups: s.syncGroups, scripts: s.scripts)) else { return }
    if let statusPath {
        let tmp = statusPath + ".tmp"
        FileManager.default.createFile(atPath: tmp, contents: data)
        _ = rename(tmp, statusPath)
    } else {
        say(String(decoding: data, as: UTF8.self))
    }
}

let stop = AsyncStream<Int32>.makeStream()
var sources: [DispatchSourceSignal] = []
for sig in [SIGTERM, SIGINT, SIGUSR1, SIGHUP] {
    signal(sig, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
    source.setEventHandler {
        switch sig {
        case SIGUSR1: writeStatus()
        case SIGHUP:
            guard let next = load() else {
                say("reload: configuration has errors; still running the old one")
                return
            }
            let lines = host.reload(to: next)
            say(lines.isEmpty ? "reload: no VRRP changes" : lines.map { "reload: \($0)" }.joined(separator: "\n"))
        default: stop.continuation.yield(sig)
        }
    }
    source.resume()
    sources.append(source)
}

for await sig in stop.stream {
    say("lab-vrrp: signal \(sig), stopping")
    break
}
await host.shutdown(deadline: .seconds(10))
say("lab-vrrp: stopped")
exit(0)
