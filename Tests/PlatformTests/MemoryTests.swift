// The allocator and page settings directord applies at start, and thread names.
import Foundation
import Platform
import Synchronization
import Testing

@Suite("Memory settings")
struct MemoryTests {
    @Test func transparentHugePagesCanBeTurnedOffForTheProcess() {
        #expect(Memory.disableTransparentHugePages())
        #expect(Memory.transparentHugePagesDisabled)
    }
}

@Suite("Thread names")
struct ThreadNameTests {
    @Test func namesTheCallingThread() throws {
        let named = Mutex<String?>(nil)
        let thread = Thread {
            ThreadName.setCurrent("directord-test")
            let comm = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            named.withLock { $0 = comm?.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        thread.start()
        while !thread.isFinished { usleep(1000) }
        #expect(named.withLock { $0 } == "directord-test")
    }
}
