import CPlatform
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

struct ThreadPriorityTests {
    @Test("a thread raises its own priority, and only its own")
    func raisesOnlyTheCallingThread() async throws {
        guard getuid() == 0 else { return }  // CAP_SYS_NICE: the unit tests run as root in CI
        let before = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        let result = NIOLockedValueBox<(Int32?, Int32)?>(nil)
        try OSThread.start(name: "nice-test") {
            let raised = ThreadPriority.raiseCurrent(by: 10)
            // PRIO_PROCESS with the thread's own id reads that thread's value.
            let seen = directord_thread_nice()
            result.withLockedValue { $0 = (raised, seen) }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while result.withLockedValue({ $0 }) == nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let (raised, seen) = try #require(result.withLockedValue { $0 })
        #expect(raised == max(-20, before - 10))
        #expect(seen == raised)
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == before, "the process's own value is unchanged")
    }
}
