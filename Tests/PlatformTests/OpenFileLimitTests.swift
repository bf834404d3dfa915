import Platform
import Testing

@Suite("Open-file limit and the health checks' budget")
struct OpenFileLimitTests {
    @Test func budgetLeavesTheReserveAndStopsAtTheCeiling() {
        #expect(OpenFileLimit.checkBudget(limit: 1024) == 1024 - OpenFileLimit.reserve)
        #expect(OpenFileLimit.checkBudget(limit: 4096) == OpenFileLimit.checksInFlightCeiling)
        #expect(OpenFileLimit.checkBudget(limit: 1 << 20) == OpenFileLimit.checksInFlightCeiling)
        #expect(OpenFileLimit.checkBudget(limit: nil) == 1024 - OpenFileLimit.reserve)
        #expect(OpenFileLimit.checkBudget(limit: 100) == 16, "a tiny limit still lets checks run")
    }
}
