import Addresses
import Testing

@testable import DirectorConfig

@Suite struct OutOfLineTests {
    func check() -> HealthCheck {
        HealthCheck(kind: .smtp, connectIP: .v4(IPv4Address(10, 0, 0, 1)), connectPort: 25)
    }

    @Test func aSetNeverReachesACopy() {
        var a = check()
        let b = a
        a.network.heloName = "mx.example"
        #expect(a.network.heloName == "mx.example")
        #expect(b.network.heloName == NetworkCheckOptions.defaultHeloName)
        #expect(a != b)
        var c = b
        c.network.heloName = "mx.example"
        // Equal values in different boxes are equal, and hash alike.
        #expect(a == c)
        #expect(a.hashValue == c.hashValue)
        // Back to the default is the same value as never set.
        c.network = NetworkCheckOptions()
        #expect(c == b && c.hashValue == b.hashValue)
    }

    @Test func optionalsRoundTripThroughNil() {
        var a = check()
        #expect(a.misc == nil && a.file == nil)
        a.misc = MiscCheckConfig(command: "/bin/true")
        #expect(a.misc?.command == "/bin/true")
        a.misc = nil
        #expect(a == check())
    }

    @Test func theBoxesKeepACheckSmall() {
        // The three rarely set parts inline were 240 bytes of the 464 (heaptrack at 5000 reals).
        #expect(MemoryLayout<HealthCheck>.size <= 256)
    }
}
