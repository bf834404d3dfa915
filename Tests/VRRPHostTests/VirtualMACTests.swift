// use_vmac in the host glue: the macvlan is made before the socket, carries the addresses and the adverts (or
// only the addresses with vmac_xmit_base), and goes away with the instance, giving the base its ARP settings back.
import DirectorConfig
import Platform
import Testing

@testable import VRRPHost

struct VirtualMACTests {
    static func config(_ extra: String) -> String {
        """
        vrrp_instance VI_1 {
            interface eth0
            virtual_router_id 51
            priority 150
            \(extra)
            virtual_ipaddress {
                192.0.2.10/24
            }
        }

        """
    }

    @Test("start: base prepared, macvlan made, socket on it from eth0's address; MASTER puts the VIP on it; stop undoes both")
    func lifecycle() throws {
        let h = try Harness(Self.config("use_vmac"))
        try h.start()
        #expect(h.virtualMACs.calls.current == ["prepare eth0", "create vrrp.51 on eth0"])
        #expect(h.virtualMACs.links.current["vrrp.51"]?.address == [0, 0, 0x5e, 0, 1, 51])
        let t = try h.transport("vrrp.51")
        #expect(t.source == [192, 0, 2, 1], "adverts come from the base interface's address")
        h.advance(to: 3.5)
        #expect(h.state("VI_1") == "MASTER")
        #expect(h.network.addresses.current.map(\.interface) == ["vrrp.51"])
        #expect(!t.sent.current.isEmpty)
        _ = h.core.shutdown(now: h.at(4))
        #expect(h.virtualMACs.calls.current.suffix(2) == ["delete vrrp.51", "restore eth0"])
        #expect(h.virtualMACs.links.current.isEmpty && h.virtualMACs.baseSettings.current["eth0"] == "0")
        #expect(h.network.addresses.current.isEmpty)
    }

    @Test("vmac_xmit_base: adverts on eth0, the VIP still on the macvlan; a name and five octets take the VRID")
    func transmitOnBase() throws {
        let h = try Harness(Self.config("use_vmac vip1 02:00:00:00:07\n    vmac_xmit_base"))
        try h.start()
        #expect(h.virtualMACs.links.current["vip1"]?.address == [2, 0, 0, 0, 7, 51])
        _ = try h.transport("eth0")
        #expect(h.opener.transport("vip1") == nil)
        h.advance(to: 3.5)
        #expect(h.network.addresses.current.map(\.interface) == ["vip1"])
    }

    @Test("a reload that drops use_vmac removes the macvlan; an unchanged one keeps it")
    func reload() throws {
        let h = try Harness(Self.config("use_vmac"))
        try h.start()
        func spec(_ text: String) throws -> HostSpec {
            HostSpec.build(try #require(ConfigurationLoader.parse(text).configuration), addresses: FakeAddresses(table: Harness.interfaces))
        }
        #expect(h.core.reload(try spec(Self.config("use_vmac")), now: h.at(1)).isEmpty)
        #expect(h.virtualMACs.calls.current.count == 2)
        _ = h.core.reload(try spec(Self.config("")), now: h.at(2))
        #expect(h.virtualMACs.calls.current.suffix(2) == ["delete vrrp.51", "restore eth0"])
        _ = try h.transport("eth0")
    }
}

struct TrackPrimaryTests {
    @Test("the instance's interface is tracked unless dont_track_primary")
    func dontTrackPrimary() throws {
        for (extra, tracked) in [("", true), ("dont_track_primary", false)] {
            let configuration = try #require(ConfigurationLoader.parse(VirtualMACTests.config(extra)).configuration)
            let spec = HostSpec.build(configuration, addresses: FakeAddresses(table: Harness.interfaces))
            let names = try #require(spec.instances.first).tracked.map(\.name)
            #expect(names.contains("interface:eth0") == tracked, "\(extra): \(names)")
        }
    }
}

struct SkipCheckAdvertAddressTests {
    @Test("skip_check_adv_addr (or the global) leaves the address list unchecked")
    func skip() throws {
        for (text, checked) in [
            (VirtualMACTests.config(""), true), (VirtualMACTests.config("skip_check_adv_addr"), false),
            ("global_defs {\n    vrrp_skip_check_adv_addr\n}\n" + VirtualMACTests.config(""), false),
        ] {
            let configuration = try #require(ConfigurationLoader.parse(text).configuration)
            #expect(ConfigurationLoader.parse(ConfigurationWriter.render(configuration)).configuration == configuration)
            let spec = HostSpec.build(configuration, addresses: FakeAddresses(table: Harness.interfaces))
            #expect((try #require(spec.instances.first).wiring.filter.addresses != nil) == checked)
        }
    }
}
