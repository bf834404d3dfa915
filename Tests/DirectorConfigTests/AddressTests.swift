// Address parsing must agree with inet_pton(3) and printing with inet_ntop(3), including on random text.
import DirectorConfig
import Glibc
import Testing

struct AddressTests {
    private func pton4(_ text: String) -> IPv4Address? {
        var raw = in_addr()
        guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
        return IPv4Address(UInt32(bigEndian: raw.s_addr))
    }

    private func pton6(_ text: String) -> [UInt8]? {
        var raw = in6_addr()
        guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
        return withUnsafeBytes(of: raw) { Array($0) }
    }

    private func ntop6(_ bytes: [UInt8]) -> String {
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
        return String(cString: buffer)
    }

    static let samples = [
        "0.0.0.0", "255.255.255.255", "192.0.2.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "1..2.3", "1.2.3.4 ",
        "::", "::1", "1::", "2001:db8::1", "2001:db8:0:0:0:0:2:1", "::ffff:192.0.2.1", "::192.0.2.1", "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:9", ":1::", "1:::2", "12345::", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "fe80::1%eth0",
        "::1.2.3", "2001:DB8::A", "1::2::3", ":", "1:", "::ffff:1.2.3.04", "",
    ]

    @Test(arguments: samples)
    func parsingAgreesWithInetPton(_ text: String) {
        #expect((try? IPv4Address.parse(text).get()) == pton4(text))
        #expect((try? IPv6Address.parse(text).get())?.bytes == pton6(text))
    }

    @Test func randomTextAgreesWithInetPton() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789abcdefABCDEF:.:.%x ")
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...20, using: &generator)
            let text = String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
            #expect((try? IPv4Address.parse(text).get()) == pton4(text), "\(text)")
            #expect((try? IPv6Address.parse(text).get())?.bytes == pton6(text), "\(text)")
        }
    }

    @Test func printingAgreesWithInetNtop() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            // Mostly zero groups, so the `::` rules and the IPv4-embedded forms are exercised.
            let words: [UInt16] = (0..<8).map { _ in Bool.random(using: &generator) ? 0 : (Bool.random(using: &generator) ? 0xffff : UInt16.random(in: 0...UInt16.max, using: &generator)) }
            let bytes = words.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
            #expect(IPv6Address(bytes: bytes).description == ntop6(bytes))
        }
        #expect(IPv4Address(192, 0, 2, 1).description == "192.0.2.1")
    }

    @Test func prefixesAndContainment() throws {
        let prefix = try IPPrefix.parse("10.0.0.254/24").get()
        #expect(prefix.contains(.v4(IPv4Address(10, 0, 0, 1))))
        #expect(!prefix.contains(.v4(IPv4Address(10, 0, 1, 1))))
        #expect(try IPPrefix.parse("2001:db8::/32").get().contains(IPAddress.parse("2001:db8:ffff::1").get()))
        #expect(throws: AddressSyntaxError.self) { try IPPrefix.parse("10.0.0.0/").get() }
        #expect(throws: AddressSyntaxError.self) { try IPPrefix.parse("10.0.0.0/+8").get() }
        #expect(throws: AddressSyntaxError.self) { try IPPrefix.parse("::/129").get() }
    }
}
