// use_vmac's forms as keepalived 2.2.7 reads them, and what directord refuses by name.
import DirectorConfig
import Testing

struct VirtualMACConfigTests {
    static func instance(_ lines: String, address: String = "192.0.2.10/24", peers: String = "") -> String {
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 42\n\(lines)\n\(peers)    virtual_ipaddress {\n        \(address)\n    }\n}\n"
    }

    @Test(arguments: [
        ("    use_vmac", "vrrp.42", [0x00, 0x00, 0x5e, 0x00, 0x01, 42] as [UInt8], false),
        ("    use_vmac vip 02:01:02:03:04:05", "vip", [2, 1, 2, 3, 4, 5], false),
        ("    use_vmac 02:01:02:03:04 vip", "vip", [2, 1, 2, 3, 4, 42], false),
        ("    use_vmac 02:01:02:03:04:\n    vmac_xmit_base", "vrrp.42", [2, 1, 2, 3, 4, 42], true),
    ])
    func forms(_ lines: String, _ name: String, _ mac: [UInt8], _ base: Bool) throws {
        let config = try #require(valid(Self.instance(lines)))
        let vmac = try #require(config.vrrpInstances.first?.virtualMAC)
        #expect(vmac == VirtualMAC(interface: name, address: mac, transmitOnBase: base))
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test func prefixAndUnicast() throws {
        let text = "global_defs {\n    vmac_prefix vm\n}\n" + Self.instance("    use_vmac", peers: "    unicast_peer {\n        192.0.2.3\n    }\n")
        let result = parse(text)
        let vmac = try #require(result.configuration?.vrrpInstances.first?.virtualMAC)
        #expect(vmac.interface == "vm.42" && vmac.transmitOnBase)
        #expect(result.warnings.map(\.short).contains { $0.contains("unicast peers with use_vmac need vmac_xmit_base") })
    }

    @Test(arguments: [
        ("    use_vmac 01:00:5e:00:00:01", "7:14: error: VMAC address 01:00:5e:00:00:01 is a multicast address"),
        ("    use_vmac 02:zz:00:00:00:01", "7:14: error: '02:zz:00:00:00:01' is not a MAC address (six hex octets, or five to take the VRID as the sixth)"),
        ("    use_vmac averyveryverylongname", "7:14: error: 'averyveryverylongname' is not an interface name (at most 15 bytes, no '/')"),
        ("    use_vmac eth0", "7:5: error: the VMAC interface 'eth0' cannot be the instance's own interface"),
    ])
    func refused(_ lines: String, _ expected: String) {
        let result = parse("\n\n\n" + Self.instance(lines).dropFirst(0))
        #expect(result.configuration == nil)
        #expect(result.errors.first?.short == expected, "\(result.errors.map(\.short))")
    }

    @Test func ipv6IsRefusedByName() {
        let result = parse(Self.instance("    version 3\n    use_vmac", address: "2001:db8::10/64"))
        #expect(result.errors.first?.message.hasPrefix("'use_vmac' is not supported for IPv6 instances") == true)
    }
}
