// keepalived's address and route options (ip(8)'s words): what each becomes in the model, and the refusals.
@testable import DirectorConfig
import Testing

struct RouteAddressOptionTests {
    func p(_ text: String) throws -> IPPrefix { try IPPrefix.parse(text).get() }
    func a(_ text: String) throws -> IPAddress { try IPAddress.parse(text).get() }

    @Test func addressOptions() throws {
        let config = try #require(valid("""
            static_ipaddress {
                192.0.2.20/24 dev eth0 brd + noprefixroute home
                192.0.2.21/24 dev eth0 brd - autojoin mngtmpaddr no_track
                10.7.7.1 peer 10.7.7.2/30 dev eth0
                2001:db8::10/64 dev eth0 preferred_lft 0
                2001:db8::11/64 dev eth0 -nodad preferred_lft forever
            }
            """))
        let n = config.staticNetwork.addresses
        #expect(n.count == 5)
        #expect(n[0].broadcast?.description == "192.0.2.255")
        #expect(n[0].flags == [.noPrefixRoute, .home])
        #expect(n[1].broadcast?.description == "192.0.2.0")
        #expect(n[1].flags == [.multicastAutoJoin, .manageTemporaryAddresses])
        #expect(try n[2].peer == p("10.7.7.2/30"))
        #expect(n[3].preferredLifetime == 0 && !n[3].duplicateAddressDetection)
        #expect(n[4].preferredLifetime == nil && n[4].duplicateAddressDetection)
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test func multipathAndMetrics() throws {
        let config = try #require(valid("""
            static_routes {
                192.168.100.0/24 table 6909 nexthop via 192.168.101.1 dev eth0 onlink weight 1 nexthop via 192.168.101.2 dev eth1 weight 2
                192.168.113.0/24 via 192.168.100.252 or 192.168.100.253 dev eth0
                192.168.200.0/24 dev eth0 table main protocol bird tos 0x04 scope link priority 12 mtu lock 1000 initcwnd 10 rtt 200ms rto_min 1s features ecn append
                inet6 default via inet6 fe80::1 dev eth0 onlink
            }
            """))
        let r = config.staticNetwork.routes
        #expect(r[0].nextHops == [
            RouteNextHop(gateway: try a("192.168.101.1"), device: "eth0", weight: 1, onlink: true),
            RouteNextHop(gateway: try a("192.168.101.2"), device: "eth1", weight: 2),
        ])
        #expect(r[0].gateway == nil && r[0].table == 6909)
        #expect(try r[1].nextHops.map(\.gateway) == [a("192.168.100.252"), a("192.168.100.253")])
        #expect(r[1].nextHops.allSatisfy { $0.device == "eth0" } && r[1].device == nil)
        #expect(r[2].table == 254 && r[2].protocolNumber == 12 && r[2].tos == 4 && r[2].metric == 12 && r[2].append)
        #expect(r[2].metrics == [
            RouteMetric(kind: 2, value: 1000, locked: true), RouteMetric(kind: 11, value: 10),
            RouteMetric(kind: 4, value: 1600), RouteMetric(kind: 13, value: 1000), RouteMetric(kind: 12, value: 1),
        ])
        #expect(try r[3].destination == p("::/0") && r[3].onlink && r[3].gateway == a("fe80::1"))
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
        // 'or' and 'gw' are deprecated in keepalived 2.2.7: read, with a warning that names the modern form.
        let warnings = parse("static_routes {\n    192.0.2.0/24 gw 10.0.0.1 or 10.0.0.2\n}\n").warnings.map(\.short)
        #expect(warnings.contains { $0.hasPrefix("2:18: warning: 'gw' in a route is deprecated") })
        #expect(warnings.contains { $0.hasPrefix("2:30: warning: 'or' in a route is deprecated") })
    }

    @Test func routeTimes() {
        #expect(VRRPInstanceDraft.parseTime("200ms", perMillisecond: 8) == 1600)
        #expect(VRRPInstanceDraft.parseTime("2s", perMillisecond: 4) == 8000)
        #expect(VRRPInstanceDraft.parseTime("77", perMillisecond: 8) == 77)
        #expect(VRRPInstanceDraft.parseTime("99999999999s", perMillisecond: 8) == nil)
        #expect(VRRPInstanceDraft.parseTime("1.5s", perMillisecond: 8) == nil)
    }

    @Test(arguments: [
        ("static_routes {\n    192.0.2.0/24 nexthop via 10.0.0.1 nexthop weight 2\n}\n",
         "2:39: error: a 'nexthop' needs 'via ADDR' or 'dev IF'"),
        ("static_routes {\n    192.0.2.0/24 nexthop via 10.0.0.1 weight 0\n}\n",
         "2:46: error: next hop weight must be in 1..256, not 0"),
        ("static_routes {\n    192.0.2.0/24 via 10.0.0.9 nexthop via 10.0.0.1\n}\n",
         "2:5: error: a multipath route gives its gateways and devices in its 'nexthop' entries, not before them"),
        ("static_routes {\n    192.0.2.0/24 nexthop via 2001:db8::1\n}\n",
         "2:5: error: route to 192.0.2.0/24 has an IPv6 gateway 2001:db8::1"),
        ("static_routes {\n    192.0.2.0/24 dev eth0 rtt 1.5s\n}\n",
         "2:31: error: 'rtt' takes a time such as 200ms or 1s, not '1.5s'"),
        ("static_routes {\n    192.0.2.0/24 dev eth0 table blue\n}\n",
         "2:33: error: route table (a number, or main, local, default) must be an integer in 1..4294967295, not 'blue'"),
        ("static_routes {\n    192.0.2.0/24 dev eth0 congctl cubic\n}\n",
         "2:27: error: route option 'congctl' is not supported: a per-route congestion control algorithm is not implemented"),
        ("static_ipaddress {\n    192.0.2.1/31 dev eth0 brd +\n}\n",
         "2:5: error: 'brd +' needs an IPv4 address with a prefix of /30 or shorter"),
        ("static_ipaddress {\n    192.0.2.1/24 dev eth0 peer 2001:db8::1\n}\n",
         "2:32: error: peer 2001:db8::1/128 is not of the address's family"),
        ("static_ipaddress {\n    192.0.2.1/24 dev eth0 label averyveryverylonglabel\n}\n",
         "2:33: error: address label 'averyveryverylonglabel' is longer than 15 characters (the kernel's IFNAMSIZ)"),
    ])
    func refused(_ text: String, _ expected: String) {
        let result = parse(text)
        #expect(result.configuration == nil)
        #expect(result.errors.first?.short == expected, "\(result.errors.map(\.short))")
    }
}
