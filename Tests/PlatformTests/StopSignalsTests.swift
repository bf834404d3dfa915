import Glibc
import NIOConcurrencyHelpers
import Testing

@testable import Platform

struct StopSignalsTests {
    @Test("a caught signal reaches the signals thread, each time it comes")
    func aSignalReachesTheThread() async throws {
        // SIGUSR2 stands in for SIGTERM: the test process must not be asked to stop.
        let seen = NIOLockedValueBox<[Int32]>([])
        let thread = NIOLockedValueBox<String>("")
        try StopSignals.handle([SIGUSR2]) { signal in
            let comm = (try? Files.read("/proc/thread-self/comm")).flatMap { $0 } ?? []
            thread.withLockedValue { $0 = String(decoding: comm, as: UTF8.self) }
            seen.withLockedValue { $0.append(signal) }
        }
        // One at a time: the kernel merges a signal that is sent again while still pending.
        for count in 1...2 {
            kill(getpid(), SIGUSR2)
            let deadline = ContinuousClock.now + .seconds(10)
            while seen.withLockedValue({ $0.count }) < count && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        #expect(seen.withLockedValue { $0 } == [SIGUSR2, SIGUSR2])
        #expect(thread.withLockedValue { $0 } == "signals\n")
    }
}
