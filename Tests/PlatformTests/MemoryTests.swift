// The allocator and page settings directord applies at start.
import Platform
import Testing

@Suite("Memory settings")
struct MemoryTests {
    @Test func transparentHugePagesCanBeTurnedOffForTheProcess() {
        #expect(Memory.disableTransparentHugePages())
        #expect(Memory.transparentHugePagesDisabled)
    }
}
