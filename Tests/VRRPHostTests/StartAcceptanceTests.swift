// What `directord -t` accepts, the VRRP host starts: every configuration the loader accepts builds a host spec with
// no problem (given an interface that has addresses, which only the host can tell).
import DirectorConfig
import Foundation
import Glibc
import Platform
import Testing

@testable import VRRPHost

/// Answers an IPv4 and a link-local IPv6 address for any interface.
struct AnyInterface: InterfaceAddressLookup {
    func addresses(of interface: String, family: Int32) throws(SystemError) -> [[UInt8]] {
        family == AF_INET ? [[192, 0, 2, 250]] : [[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50]]
    }
}

@Suite struct StartAcceptanceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Every shipped example and every fixture, each read on its own.
    static func shippedTexts() -> [(String, String)] {
        var texts: [(String, String)] = []
        for directory in [root + "/conf.d", root + "/Tests/DirectorConfigTests/Fixtures"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory).sorted()) ?? []
            for name in names where name.hasSuffix(".conf") {
                if let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) { texts.append((name, text)) }
            }
        }
        return texts
    }

    static func instance(_ body: String, version: Int = 2, addresses: [String] = ["192.0.2.10"]) -> String {
        "vrrp_instance VI {\n    interface eth0\n    virtual_router_id 51\n    version \(version)\n\(body)\n"
            + "    virtual_ipaddress {\n" + addresses.map { "        \($0)\n" }.joined() + "    }\n}\n"
    }

    /// Values at and past the edges of what the VRRP state machine and the advert codec take.
    static let edges: [(String, String)] = [
        ("advert_int 255 v2", instance("    advert_int 255")),
        ("advert_int 256 v2", instance("    advert_int 256")),
        ("advert_int 40.95 v3", instance("    advert_int 40.95", version: 3)),
        ("advert_int 41 v3", instance("    advert_int 41", version: 3)),
        ("advert_int 0.001 v3", instance("    advert_int 0.001", version: 3)),
        ("advert_int 0.5 v2", instance("    advert_int 0.5")),
        ("priority 255", instance("    priority 255")),
        ("priority 1", instance("    priority 1")),
        ("preempt_delay 1000", instance("    preempt_delay 1000")),
        ("preempt_delay 1001", instance("    preempt_delay 1001")),
        ("down_timer_adverts 100", instance("    down_timer_adverts 100")),
        ("255 addresses", instance("", addresses: (0..<255).map { "10.9.\($0 / 200).\($0 % 200 + 1)" })),
        ("256 addresses", instance("", addresses: (0..<256).map { "10.9.\($0 / 200).\($0 % 200 + 1)" })),
        ("89 IPv6 addresses", instance("", version: 3, addresses: (1...89).map { "2001:db8::\($0)" })),
        ("90 IPv6 addresses", instance("", version: 3, addresses: (1...90).map { "2001:db8::\($0)" })),
        ("ipv6 v2", instance("", version: 2, addresses: ["2001:db8::10"])),
        ("ipv6 v3", instance("", version: 3, addresses: ["2001:db8::10"])),
        ("mixed families", instance("", version: 3, addresses: ["192.0.2.10", "2001:db8::10"])),
        ("pass under v3", instance("    authentication {\n        auth_type PASS\n        auth_pass secret\n    }", version: 3)),
        ("AH", instance("    authentication {\n        auth_type AH\n        auth_pass secret\n    }")),
        ("garp_master_delay 0", instance("    garp_master_delay 0")),
    ]

    @Test func everyConfigurationTheLoaderAcceptsBuildsAHostSpecWithoutProblems() {
        var accepted = 0
        for (name, text) in Self.shippedTexts() + Self.edges {
            let result = ConfigurationLoader.parse(text, name: name)
            guard let configuration = result.configuration else { continue }
            accepted += 1
            let spec = HostSpec.build(configuration, addresses: AnyInterface())
            #expect(spec.problems.isEmpty, "\(name): -t accepts it, but the VRRP host refuses: \(spec.problems)")
            #expect(spec.instances.count == configuration.vrrpInstances.count, "\(name)")
        }
        #expect(accepted > 20)
    }

    @Test func addressesPastWhatAnAdvertHoldsAreAddedButNotAdvertised() throws {
        let result = ConfigurationLoader.parse(Self.instance("", addresses: (0..<300).map { "10.9.\($0 / 200).\($0 % 200 + 1)" }))
        let instance = try #require(result.configuration?.vrrpInstances.first)
        #expect(instance.virtualAddresses.count == 255)
        #expect(instance.excludedAddresses.count == 45)
        #expect(result.warnings.contains { $0.message.contains("at most 255") && $0.location.line == 7 + 255 })
        let v6 = ConfigurationLoader.parse(Self.instance("", version: 3, addresses: (1...100).map { "2001:db8::\($0)" }))
        #expect(v6.configuration?.vrrpInstances.first?.virtualAddresses.count == 89)
        #expect(v6.configuration?.vrrpInstances.first?.excludedAddresses.count == 11)
    }
}
