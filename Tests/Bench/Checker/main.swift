// bench-checker: the health checker alone, on the host, against loopback: N HTTP_GET checks (digest, delay_loop D)
// to 127.A.B.C:PORT, every one answered by one lab-responder listening on 0.0.0.0:PORT. Prints the check rate, the
// process's CPU seconds per minute of checking, and its RSS: a quick, native figure for the checker's cost per check
// (the lab's `make bench` measures the daemon beside keepalived; this isolates the checker for profiling).
// `--mode nio-bare` and `--mode raw` run the floors under that cost instead (Floors.swift).
//   bench-checker --reals N --port P [--seconds S] [--delay-loop D] [--digest HEX] [--max-in-flight M]
//                 [--mode checker|nio-bare|raw]
import Glibc
import HealthCheck
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
import Reactor

func fail(_ message: String) -> Never {
    let bytes = Array("bench-checker: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

var reals = 1000, port = 0, seconds = 20.0, delayLoop = 1.0, maxInFlight = 768
var digest = "011e3fa756efb397dd21eadacc8808a3"  // MD5 of lab-responder's default body
var mode = "checker"
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    guard let value = args.popFirst() else { fail("\(arg) needs a value") }
    switch arg {
    case "--reals": reals = Int(value) ?? 0
    case "--port": port = Int(value) ?? 0
    case "--seconds": seconds = Double(value) ?? 0
    case "--delay-loop": delayLoop = Double(value) ?? 0
    case "--digest": digest = value
    case "--max-in-flight": maxInFlight = Int(value) ?? 0
    case "--mode": mode = value
    default: fail("unknown option \(arg)")
    }
}
guard reals > 0, (1...65535).contains(port), seconds > 0, delayLoop > 0, ["checker", "nio-bare", "raw"].contains(mode) else {
    fail("usage: bench-checker --reals N --port P [--seconds S] [--delay-loop D] [--digest HEX] [--max-in-flight M] [--mode checker|nio-bare|raw]")
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return s(usage.ru_utime) + s(usage.ru_stime)
}

/// `x` with `digits` decimals (no Foundation here).
func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((x * scale).rounded())
    let whole = "\(n / Int(scale))"
    guard digits > 0 else { return whole }
    let fraction = "\(abs(n) % Int(scale))"
    return whole + "." + String(repeating: "0", count: digits - fraction.count) + fraction
}

func rssKiB() -> Int {
    guard let f = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmRSS:") { return Int(text.split(separator: " ")[1]) ?? 0 }
    }
    return 0
}

if mode != "checker" {
    let cpu0 = cpuSeconds(), t0 = NIODeadline.now()
    let (completed, failed) = mode == "raw"
        ? runRaw(reals: reals, port: port, delayLoop: delayLoop, seconds: seconds)
        : runNIOBare(reals: reals, port: port, delayLoop: delayLoop, seconds: seconds)
    let cpu = cpuSeconds() - cpu0, elapsed = Double((NIODeadline.now() - t0).nanoseconds) / 1e9
    print("bench-checker: \(mode), \(reals) reals, delay_loop \(delayLoop) s: \(fixed(Double(completed) / elapsed, 0)) connections/s completed, \(failed) failed")
    print("bench-checker: cpu \(fixed(cpu / elapsed * 60, 2)) s/min; \(fixed(cpu / Double(max(1, completed)) * 1e6, 1)) us per connection")
    print("bench-checker: rss \(rssKiB() / 1024) MiB")
    exit(0)
}

let timing = CheckTiming(delayLoop: .milliseconds(Int64(delayLoop * 1000)), retry: 1, delayBeforeRetry: .seconds(1))
var plans: [Int: VirtualServerPlan<Int>] = [:]
do throws(CheckDefinitionError) {
    let url = try HTTPURLCheck(path: "/check", digest: digest)
    for i in 0..<reals {
        let host = address(ofReal: i, port: port).host
        let check = try HTTPCheck(urls: [url], connect: try Endpoint(host: host, port: port), connectTimeout: .seconds(1))
        let spec = CheckSpec(probe: .http(check), timing: timing)
        plans[i / 100, default: VirtualServerPlan(reals: [])].reals.append((i, RealServerPolicy(weight: 1, checks: [spec])))
    }
} catch {
    fail("\(error)")
}

/// The network prober, counting the probes it answered (the check rate actually achieved).
struct CountingProber: CheckProber {
    let inner = NetworkProber()
    let count = NIOLockedValueBox(0)
    func probe(_ probe: CheckProbe, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        inner.probe(probe, on: reactor) { result in
            count.withLockedValue { $0 += 1 }
            done(result)
        }
    }
}

let prober = CountingProber()
let transitions = NIOLockedValueBox(0)
let monitor: HealthMonitor<Int, Int>
do {
    monitor = try HealthMonitor<Int, Int>(prober: prober, maximumInFlight: maxInFlight) { _ in
        transitions.withLockedValue { $0 += 1 }
    }
} catch {
    fail("\(error)")
}
let rssBefore = rssKiB()
_ = await monitor.apply(plans)
// One delay_loop of warmup spreads the first checks; then the window.
usleep(UInt32(delayLoop * 1.5 * 1e6))
let down0 = await monitor.checks().values.filter { !$0.isUp }.count
let cpu0 = cpuSeconds(), t0 = NIODeadline.now(), probes0 = prober.count.withLockedValue { $0 }
usleep(UInt32(seconds * 1e6))
let cpu1 = cpuSeconds(), t1 = NIODeadline.now(), probes1 = prober.count.withLockedValue { $0 }
let states = await monitor.checks()
let down = states.values.filter { !$0.isUp }.count
let elapsed = Double((t1 - t0).nanoseconds) / 1e9
let rate = Double(probes1 - probes0) / elapsed
print("bench-checker: reals \(reals), delay_loop \(delayLoop) s: \(fixed(rate, 0)) checks/s (nominal \(fixed(Double(reals) / delayLoop, 0)))")
print("bench-checker: cpu \(fixed((cpu1 - cpu0) / elapsed * 60, 2)) s/min; \(fixed((cpu1 - cpu0) / elapsed / rate * 1e6, 1)) us per check")
print("bench-checker: rss \(rssKiB() / 1024) MiB (before apply \(rssBefore / 1024) MiB); down \(down0) -> \(down); transitions \(transitions.withLockedValue { $0 })")
if let example = states.values.first(where: { !$0.isUp }), let result = example.lastResult {
    print("bench-checker: a down check's last result: \(result)")
}
_ = await monitor.stop()
