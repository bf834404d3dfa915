import Glibc
import Addresses
import Testing

@Suite("IPAddress")
struct IPAddressTests {
    static let zeros: [UInt8] = Array(repeating: 0, count: 16)
    static let parseCases: [(String, [UInt8])] = [
        ("10.9.0.1", [10, 9, 0, 1]),
        ("255.255.255.255", [255, 255, 255, 255]),
        ("::", zeros),
        ("ff02::12", [0xFF, 0x02] + zeros.prefix(13) + [0x12]),
        ("2001:db8::10", [0x20, 0x01, 0x0D, 0xB8] + zeros.prefix(11) + [0x10]),
        ("::ffff:192.0.2.1", zeros.prefix(10) + [0xFF, 0xFF, 192, 0, 2, 1]),
        ("1:2:3:4:5:6:7:8", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]),
    ]

    @Test(arguments: parseCases)
    func parses(text: String, bytes: [UInt8]) throws {
        let address = try #require(IPAddress(text))
        #expect(address.bytes == bytes)
        #expect(IPAddress(bytes: bytes) == address)
        #expect(IPAddress(address.description) == address)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d", ":::", "1::2::3",
        "1:2:3:4:5:6:7:8:9", "12345::", "g::1", "1:2:3:4:5:6:7::8", "::1.2.3", ":1::",
    ])
    func rejects(text: String) {
        #expect(IPAddress(text) == nil)
    }

    /// IPv4 text is written digit by digit into one buffer; glibc's inet_ntop is the oracle, across octet widths.
    @Test func ipv4TextIsInetNtops() {
        var generator = SystemRandomNumberGenerator()
        let edges: [UInt32] = [0, 0xFFFF_FFFF, 0x0A00_0001, 0x6463_0A09, 0xC0A8_6401, 0x0909_0909, 0x6400_00FF]
        for value in edges + (0..<2000).map({ _ in UInt32.random(in: 0...UInt32.max, using: &generator) }) {
            var raw = in_addr(s_addr: value.bigEndian)
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
            let expected = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(IPAddress.ipv4(value).description == expected)
        }
    }

    @Test func formatsRFC5952() throws {
        #expect(try #require(IPAddress("2001:0db8:0:0:1:0:0:1")).description == "2001:db8::1:0:0:1")
        #expect(try #require(IPAddress("fe80::84e1:e0ff:fe09:df65")).description == "fe80::84e1:e0ff:fe09:df65")
        #expect(try #require(IPAddress("1:0:2:3:4:5:6:7")).description == "1:0:2:3:4:5:6:7")
        #expect(IPAddress.ipv4(0xE000_0012).description == "224.0.0.18")
        #expect(IPAddress.ipv6(high: 0xFF02_0000_0000_0000, low: 0x12).description == "ff02::12")
        // inet_ntop's embedded-IPv4 forms, which ipvsadm prints.
        #expect(try #require(IPAddress("::ffff:192.0.2.1")).description == "::ffff:192.0.2.1")
        #expect(try #require(IPAddress("::192.0.2.1")).description == "::192.0.2.1")
    }

    @Test func ordersNumerically() throws {
        // 10.0.0.9 < 10.0.0.10 numerically though not as text: the tie-break compares numbers.
        #expect(try #require(IPAddress("10.0.0.9")) < #require(IPAddress("10.0.0.10")))
        #expect(try #require(IPAddress("9.255.255.255")) < #require(IPAddress("10.0.0.0")))
        #expect(try #require(IPAddress("fe80::2")) > #require(IPAddress("fe80::1")))
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPAddress(bytes: [10, 0, 0, 1][...]) == .ipv4(0x0A00_0001), "a slice of a packet")
    }
}
