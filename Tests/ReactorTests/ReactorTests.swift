// The reactor on a manual clock: timers fire when the clock reaches them and not before, in deadline order and
// first-in first-out on ties; cancelled timers never run; descriptors are dispatched by readiness; work from other
// threads wakes a waiting loop.
import Glibc
import Platform
import Synchronization
import Testing
@testable import Reactor

@Suite("Reactor")
struct ReactorTests {
    /// A connected pair of Unix stream sockets, closed by the caller.
    func socketPair(type: Int32 = Int32(SOCK_STREAM.rawValue)) throws -> [Int32] {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, type, 0, &fds) == 0)
        return fds
    }

    @Test func deadlinesPopInOrderAndTiesFirstInFirstOut() {
        var heap = Deadlines<ContinuousClock.Instant, Int>()
        let t0 = ContinuousClock.now
        for (value, offset) in [(1, 30), (2, 10), (3, 20), (4, 10), (5, 0)] { heap.insert(value, at: t0 + .milliseconds(offset)) }
        #expect(heap.earliest == t0)
        #expect(heap.popDue(by: t0 - .milliseconds(1)) == nil)
        var order: [Int] = []
        while let entry = heap.popDue(by: t0 + .seconds(1)) { order.append(entry.value) }
        #expect(order == [5, 2, 4, 3, 1])
        #expect(heap.isEmpty)
    }

    @Test func timersFireOnTheManualClockOnly() throws {
        let clock = ManualClock()
        let reactor = try Reactor(clock: clock)
        var fired: [String] = []
        reactor.schedule(after: .milliseconds(100)) { fired.append("b") }
        reactor.schedule(after: .milliseconds(50)) { fired.append("a") }
        let cancelled = reactor.schedule(after: .milliseconds(60)) { fired.append("cancelled") }
        reactor.cancel(cancelled)
        #expect(reactor.timerCount == 2)
        reactor.turn(maxWait: .zero)
        #expect(fired.isEmpty)
        clock.advance(by: .milliseconds(50))
        reactor.turn(maxWait: .zero)
        #expect(fired == ["a"])
        clock.advance(by: .milliseconds(49))
        reactor.turn(maxWait: .zero)
        #expect(fired == ["a"])
        clock.advance(by: .milliseconds(1))
        reactor.turn(maxWait: .zero)
        #expect(fired == ["a", "b"])
        #expect(reactor.timerCount == 0)
    }

    @Test func aTimerScheduledByATimerWaitsForItsOwnDeadline() throws {
        let clock = ManualClock()
        let reactor = try Reactor(clock: clock)
        var ticks = 0
        func tick() {
            ticks += 1
            reactor.schedule(after: .seconds(1), tick)
        }
        reactor.schedule(after: .seconds(1), tick)
        for _ in 0..<5 {
            clock.advance(by: .seconds(1))
            reactor.turn(maxWait: .zero)
        }
        #expect(ticks == 5)
    }

    @Test func momentHeapsOrderByNanosecondsAndInstantsConvertExactlyOnTheManualClock() throws {
        var heap = Deadlines<Moment, String>()
        let t0 = Moment(nanoseconds: 5_000)
        for (value, offset) in [("c", 3), ("a", 1), ("b1", 2), ("b2", 2), ("z", -4_000)] {
            heap.insert(value, at: t0 + .nanoseconds(offset))
        }
        var order: [String] = []
        while let entry = heap.popDue(by: t0 + .nanoseconds(2)) { order.append(entry.value) }
        #expect(order == ["z", "a", "b1", "b2"])
        #expect(heap.earliest == t0 + .nanoseconds(3))

        let clock = ManualClock()
        let reactor = try Reactor(clock: clock)
        let later = clock.now + .milliseconds(1500)
        #expect(reactor.instant(reactor.moment(later)) == later)
        #expect(reactor.now.duration(to: reactor.moment(later)) == .milliseconds(1500))
        clock.advance(by: .milliseconds(1500))
        #expect(reactor.now == reactor.moment(later))
        // The ends of the timeline saturate instead of wrapping.
        #expect(Moment(nanoseconds: .max - 1) + .seconds(10) == Moment(nanoseconds: .max))
        #expect(Moment(nanoseconds: .min + 1) - .seconds(10) == Moment(nanoseconds: .min))
    }

    @Test func momentsRoundUpToAGrid() {
        let ten = Duration.milliseconds(10)
        #expect(Moment(nanoseconds: 20_000_000).roundedUp(toMultipleOf: ten) == Moment(nanoseconds: 20_000_000))
        #expect(Moment(nanoseconds: 20_000_001).roundedUp(toMultipleOf: ten) == Moment(nanoseconds: 30_000_000))
        #expect(Moment(nanoseconds: 1).roundedUp(toMultipleOf: ten) == Moment(nanoseconds: 10_000_000))
        #expect(Moment(nanoseconds: -25_000_000).roundedUp(toMultipleOf: ten) == Moment(nanoseconds: -20_000_000))
        #expect(Moment(nanoseconds: 17).roundedUp(toMultipleOf: .zero) == Moment(nanoseconds: 17))
        // At the end of the timeline there is no grid point left: the moment itself.
        #expect(Moment(nanoseconds: .max).roundedUp(toMultipleOf: ten) == Moment(nanoseconds: .max))
    }

    /// Timers live in reused slots checked by a generation: a slot freed by a cancel and taken by a new timer must
    /// not let the old heap entry fire the new body early, and cancelling a fired or stale timer changes nothing.
    @Test func aReusedTimerSlotFiresOnlyAtItsOwnDeadline() throws {
        let clock = ManualClock()
        let reactor = try Reactor(clock: clock)
        var fired: [String] = []
        let early = reactor.schedule(after: .milliseconds(10)) { fired.append("early") }
        reactor.cancel(early)
        let reused = reactor.schedule(after: .milliseconds(100)) { fired.append("reused") }
        #expect(reactor.timerCount == 1)
        clock.advance(by: .milliseconds(10))
        reactor.turn(maxWait: .zero)
        #expect(fired.isEmpty, "the cancelled timer's entry came due and named a slot now held by another timer")
        reactor.cancel(early)
        #expect(reactor.timerCount == 1, "cancelling a stale id touched the slot's new timer")
        clock.advance(by: .milliseconds(90))
        reactor.turn(maxWait: .zero)
        #expect(fired == ["reused"])
        reactor.cancel(reused)
        #expect(reactor.timerCount == 0)
        // Many at once, half cancelled from inside a firing timer.
        var ids: [ReactorTimer] = []
        var count = 0
        for i in 0..<200 {
            ids.append(reactor.schedule(after: .milliseconds(Int64(1 + i % 7))) {
                count += 1
                if count == 1 { for (j, id) in ids.enumerated() where j % 2 == 1 { reactor.cancel(id) } }
            })
        }
        clock.advance(by: .milliseconds(10))
        reactor.turn(maxWait: .zero)
        #expect(count == 100)
        #expect(reactor.timerCount == 0)
    }

    @Test func aDescriptorWatchedAgainAfterForgetGetsTheNewHandlerOnly() throws {
        let reactor = try Reactor(clock: ManualClock())
        let fds = try socketPair()
        defer { close(fds[0]); close(fds[1]) }
        var seen: [String] = []
        let old = try reactor.watch(fds[0], for: .writable) { _ in seen.append("old") }
        reactor.forget(beforeClosing: old)
        #expect(reactor.watchCount == 0)
        // Not closed, so epoll still has it: watching again must replace, not fail.
        _ = try reactor.watch(fds[0], for: .writable) { _ in seen.append("new") }
        #expect(reactor.watchCount == 1)
        reactor.unwatch(old)
        #expect(reactor.watchCount == 1, "a stale watch unwatched the new one")
        reactor.turn(maxWait: .zero)
        #expect(seen == ["new"])
        #expect(throws: SystemError.self) { try reactor.watch(-1, for: .readable) { _ in } }
    }

    @Test func readinessReachesTheHandlerAndUnwatchSilencesIt() throws {
        let reactor = try Reactor(clock: ManualClock())
        let fds = try socketPair()
        defer { close(fds[0]); close(fds[1]) }
        var seen: [IOReadiness] = []
        let watch = try reactor.watch(fds[0], for: .readable) { seen.append($0) }
        reactor.turn(maxWait: .zero)
        #expect(seen.isEmpty)
        var byte: UInt8 = 7
        #expect(write(fds[1], &byte, 1) == 1)
        reactor.turn(maxWait: .zero)
        #expect(seen.count == 1 && seen[0].contains(.readable))
        try reactor.change(watch, to: [.readable, .writable])
        reactor.turn(maxWait: .zero)
        #expect(seen.count == 2 && seen[1].contains(.writable))
        reactor.unwatch(watch)
        reactor.turn(maxWait: .zero)
        #expect(seen.count == 2)
        #expect(reactor.watchCount == 0)
    }

    @Test func aHandlerThatDropsAnotherDescriptorStopsItsPendingEvent() throws {
        let reactor = try Reactor(clock: ManualClock())
        let a = try socketPair(), b = try socketPair()
        defer { for fd in a + b { close(fd) } }
        var calls = 0
        var watches: [ReactorWatch] = []
        // Both are writable at once; whichever runs first drops the other.
        for fd in [a[0], b[0]] {
            watches.append(try reactor.watch(fd, for: .writable) { _ in
                calls += 1
                for watch in watches { reactor.unwatch(watch) }
            })
        }
        reactor.turn(maxWait: .zero)
        #expect(calls == 1)
    }

    @Test func submittedWorkWakesABlockedLoopAndStopEndsIt() async throws {
        let reactor = try Reactor()
        let ran = Mutex(0)
        let finished = Mutex(false)
        try OSThread.start(name: "reactor-test") {
            reactor.run()
            finished.withLock { $0 = true }
        }
        // The loop waits with no timer and no descriptor: only the eventfd can wake it.
        for _ in 0..<3 {
            #expect(reactor.submit { ran.withLock { $0 += 1 } })
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while ran.withLock({ $0 }) < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(ran.withLock { $0 } == 3)
        reactor.stop()
        while !finished.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(finished.withLock { $0 })
        #expect(!reactor.submit {})
    }

    @Test func syscallChokePointSeparatesNotNowFromFailure() throws {
        let fds = try socketPair(type: Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue))
        defer { close(fds[0]) }
        var buffer = [UInt8](repeating: 0, count: 16)
        let empty = try buffer.withUnsafeMutableBytes { try Syscall.read(fds[0], into: $0) }
        #expect(empty == .wouldBlock)
        close(fds[1])
        let end = try buffer.withUnsafeMutableBytes { try Syscall.read(fds[0], into: $0) }
        #expect(end == .done(0))
        #expect(throws: SystemError.self) {
            try buffer.withUnsafeMutableBytes { _ = try Syscall.read(-1, into: $0) }
        }
    }
}
