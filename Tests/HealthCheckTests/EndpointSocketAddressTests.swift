import NIOCore
import Testing

@testable import HealthCheck

/// A check's socket address is built from the address value; NIO's own parser of the printed text is the oracle.
@Suite struct EndpointSocketAddressTests {
    @Test(arguments: ["127.0.0.1", "192.0.2.255", "0.0.0.0", "::", "::1", "2001:db8::10", "fe80::84e1:e0ff:fe09:df65",
                      "::ffff:192.0.2.1", "ff02::12", "1:2:3:4:5:6:7:8"])
    func matchesNIOsParse(text: String) throws {
        for port in [0, 80, 8443, 65535] {
            let endpoint = try Endpoint(host: text, port: port)
            let built = endpoint.withSocketAddress { address, length in
                // NIO's SocketAddress from the raw sockaddr the checkers connect with.
                address.withMemoryRebound(to: UInt8.self, capacity: Int(length)) { Array(UnsafeBufferPointer(start: $0, count: Int(length))) }
            }
            let parsed = try SocketAddress(ipAddress: text, port: port)
            let expected: [UInt8] = parsed.withSockAddr { address, size in
                address.withMemoryRebound(to: UInt8.self, capacity: size) { Array(UnsafeBufferPointer(start: $0, count: size)) }
            }
            #expect(built == expected, "\(text) port \(port)")
        }
    }

    @Test func bracketedAndBadLiterals() throws {
        #expect(try Endpoint(host: "[2001:db8::1]", port: 443).bracketedHost == "[2001:db8::1]")
        #expect(throws: CheckDefinitionError.notAnIPLiteral("example.com")) { try Endpoint(host: "example.com", port: 80) }
        #expect(throws: CheckDefinitionError.invalidPort(70000)) { try Endpoint(host: "127.0.0.1", port: 70000) }
        #expect(throws: CheckDefinitionError.notAnIPLiteral("fe80::1%eth0")) { try Endpoint(host: "fe80::1%eth0", port: 80) }
    }
}
