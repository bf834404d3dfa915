import Glibc
import Testing

@testable import Platform

@Suite struct InterfaceAddressesTests {
    /// The per-interface lookup (VRRP's advert source) and the whole-host one (ha_suspend) read one getifaddrs walk.
    @Test func loopbackIsInBothTheInterfacesListAndTheHostsList() throws {
        let lookup = SystemInterfaceAddresses()
        #expect(try lookup.addresses(of: "lo", family: AF_INET).contains([127, 0, 0, 1]))
        #expect(try lookup.addresses(of: "lo", family: AF_INET).allSatisfy { $0.count == 4 })
        #expect(try SystemInterfaceAddresses.allAddresses().contains([127, 0, 0, 1]))
        #expect(try lookup.addresses(of: "no-such-if0", family: AF_INET).isEmpty)
    }
}
