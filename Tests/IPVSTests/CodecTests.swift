import Testing
@testable import IPVS

@Suite struct CodecTests {
    @Test func addServiceRequestBytes() {
        let key = IPVSServiceKey.address(.tcp, .ipv4(10, 0, 0, 1), port: 80)
        let bytes = IPVSCodec.request(.addService(IPVSService(key: key, scheduler: "rr")), family: 0x1c, seq: 7)
        let expected: [UInt8] = [
            // nlmsghdr: len 104, type 0x1c, flags REQUEST|ACK, seq 7, pid 0
            104, 0, 0, 0, 0x1c, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0,
            // genlmsghdr: NEW_SERVICE, version 1
            1, 1, 0, 0,
            // IPVS_CMD_ATTR_SERVICE, nested, 84 bytes
            84, 0, 1, 0x80,
            6, 0, 1, 0, 2, 0, 0, 0,  // AF_INET
            6, 0, 2, 0, 6, 0, 0, 0,  // TCP
            20, 0, 3, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // addr, 16 bytes
            6, 0, 4, 0, 0, 80, 0, 0,  // port, network order
            7, 0, 6, 0, 0x72, 0x72, 0, 0,  // "rr\0"
            12, 0, 7, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,  // flags {0, ~0}
            8, 0, 8, 0, 0, 0, 0, 0,  // timeout
            8, 0, 9, 0, 0xff, 0xff, 0xff, 0xff,  // netmask
        ]
        #expect(bytes == expected)
    }
}
