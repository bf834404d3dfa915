import Testing

@testable import Platform

@Suite struct AnnouncerTests {
    let mac: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]

    @Test func arpAnnouncementCarriesTheAddressAsSenderAndTarget() {
        let frame = Announcer.arpAnnouncement(mac: mac, address: [192, 0, 2, 100])
        #expect(frame == [
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,  // Ethernet/IPv4, request
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 192, 0, 2, 100,  // sender
            0, 0, 0, 0, 0, 0, 192, 0, 2, 100,  // target
        ])
    }

    @Test func unsolicitedNAHasOverrideAndTargetLinkLayerOption() {
        let target: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [0x64]
        let na = Announcer.unsolicitedNA(mac: mac, target: target)
        #expect(na.count == 32)
        #expect(Array(na[0..<8]) == [136, 0, 0, 0, 0x20, 0, 0, 0])
        #expect(Array(na[8..<24]) == target)
        #expect(Array(na[24..<32]) == [2, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
    }
}
