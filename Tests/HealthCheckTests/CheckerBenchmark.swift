// Figures, not a test: HEALTHCHECK_BENCH=1 runs N HTTP checks with a digest at delay_loop 1 s against an in-process
// loopback server and prints the checker thread's CPU and the process RSS. The server runs on its own thread.
import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import HealthCheck

@Suite("Checker benchmark", .serialized, .enabled(if: ProcessInfo.processInfo.environment["HEALTHCHECK_BENCH"] != nil))
struct CheckerBenchmark {
    @Test(arguments: [1000, 5000])
    func steadyState(reals: Int) async throws {
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await LoopbackServer.start(ok(web1Page), group: serverGroup)
        let thread = try ReactorThread(name: "bench-checker")
        let timing = CheckTiming(delayLoop: .seconds(1), retry: 1, delayBeforeRetry: .seconds(1))
        var realsPlan: [(String, RealServerPolicy<CheckSpec>)] = []
        for i in 0..<reals {
            // A distinct path per real so dedup does not fold them into one check.
            let check = try HTTPCheck(urls: [HTTPURLCheck(path: "/test.html?real=\(i)", digest: web1Digest)],
                                      connect: Endpoint(host: "127.0.0.1", port: server.port), connectTimeout: .seconds(3))
            realsPlan.append(("rs\(i)", RealServerPolicy(checks: [CheckSpec(probe: .http(check), timing: timing)])))
        }
        let downs = UpdateSink()
        let monitor = try HealthMonitor<String, String>(thread: thread, onUpdate: downs.record)
        _ = await monitor.apply(["vs": VirtualServerPlan(reals: realsPlan)])
        try await Task.sleep(for: .seconds(3))  // past the warmup spread
        let before = await thread.result { _, done in done(threadCPUSeconds()) } ?? 0
        let requestsBefore = server.requestCount
        try await Task.sleep(for: .seconds(20))
        let after = await thread.result { _, done in done(threadCPUSeconds()) } ?? 0
        let requests = server.requestCount - requestsBefore
        print("BENCH reals=\(reals) checks/s=\(Double(requests) / 20) checker-cpu-s/min=\((after - before) * 3) rss-MB=\(residentMB()) transitions=\(downs.updates.withLock { $0.count }) first=\(downs.updates.withLock { $0.first.map { "\($0.transition.result)" } ?? "-" })")
        _ = await monitor.stop()
        await server.stop()
        try await serverGroup.shutdownGracefully()
    }
}

private func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

private func residentMB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { return -1 }
    return kb / 1024
}
