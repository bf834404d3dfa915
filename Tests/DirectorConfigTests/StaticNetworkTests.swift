// static_ipaddress, static_routes and static_rules: keepalived 2.2.7's syntax, refusals with their place.
import DirectorConfig
import Testing

struct StaticNetworkTests {
    static let text = """
        static_ipaddress {
            192.0.2.10/24 dev eth0 scope global label eth0:st
            2001:db8::10/64 dev eth0
        }
        static_routes {
            198.51.100.0/24 via 192.0.2.1 dev eth0 table 100
        }
        static_rules {
            from 192.0.2.0/24 table 100 preference 1000
            not to 10.0.0.0/8 fwmark 0x10/0xff iif eth0 oif eth1 tos 0x04 lookup main priority 1001
            inet6 from 2001:db8::/64 preference 10 goto 20
            from all to all type blackhole order 3 no_track
        }
        """

    @Test func parsesAllThree() throws {
        let config = try #require(valid(Self.text))
        func p(_ text: String) throws -> IPPrefix { try IPPrefix.parse(text).get() }
        let n = config.staticNetwork
        #expect(n.addresses == [
            VirtualAddress(prefix: try p("192.0.2.10/24"), device: "eth0", scope: .global, label: "eth0:st"),
            VirtualAddress(prefix: try p("2001:db8::10/64"), device: "eth0"),
        ])
        #expect(n.routes == [
            VirtualRoute(destination: try p("198.51.100.0/24"), gateway: try IPAddress.parse("192.0.2.1").get(),
                         device: "eth0", table: 100),
        ])
        #expect(n.rules == [
            StaticRule(from: try p("192.0.2.0/24"), priority: 1000, action: .table(100)),
            StaticRule(to: try p("10.0.0.0/8"), invert: true, priority: 1001, tos: 4, fwmark: 16, fwmask: 255,
                       inputInterface: "eth0", outputInterface: "eth1", action: .table(254)),
            StaticRule(family: .ipv6, from: try p("2001:db8::/64"), priority: 10, action: .goto(20)),
            StaticRule(priority: 3, action: .blackhole),
        ])
        // --dump gives back the same configuration.
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test func virtualRulesShareTheGrammarAndTheDefaultPreferenceCounter() throws {
        let result = parse("static_rules {\n    from 192.0.2.0/24 table 5\n}\n" + instance(extra: "    virtual_rules {\n        from 192.0.2.10/32 table 100\n        to 198.51.100.0/24 table 101 preference 900\n    }\n"))
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        let config = try #require(result.configuration)
        #expect(config.staticNetwork.rules.map(\.priority) == [16384])
        let rules = try #require(config.vrrpInstance(named: "VI_1")?.virtualRules)
        #expect(rules.map(\.priority) == [16383, 900])
        #expect(rules.first?.action == .table(100))
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
        let bad = parse(instance(extra: "    virtual_rules {\n        from 192.0.2.10/32 uidrange 1-2 table 5\n    }\n"))
        #expect(bad.errors.first?.message == "rule option 'uidrange' is not supported by directord")
    }

    @Test func defaultInterfaceTakesStaticAddressesWithoutDev() throws {
        let result = parse("static_ipaddress {\n    192.0.2.10/24\n    192.0.2.11/24 dev eth1\n}\nglobal_defs {\n    default_interface eth2\n}\n")
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        let config = try #require(result.configuration)
        #expect(config.staticNetwork.addresses.map(\.device) == ["eth2", "eth1"])
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test(arguments: [
        ("static_ipaddress {\n    192.0.2.10/24 scope global\n}\n", "2:5: error: static address 192.0.2.10/24 needs 'dev INTERFACE' (or global_defs 'default_interface')"),
        ("static_ipaddress {\n    192.0.2.10/24 dev eth0 peers 192.0.2.1\n}\n",
         "2:28: error: unknown address option 'peers'; expected brd, dev, scope, label, peer, home, -nodad, mngtmpaddr, noprefixroute, autojoin, no_track or preferred_lft"),
        ("static_routes {\n    198.51.100.0/24 via 192.0.2.1 onlnk\n}\n",
         "2:35: error: unknown route option 'onlnk'; expected [src ADDR] [to] DEST [via ADDR] [dev IF] [scope S] [table N] [metric N] [protocol P] [tos N] [onlink] [mtu N] ... [nexthop ...]"),
        ("static_rules {\n    from 192.0.2.0/24 uidrange 1-2 table 5\n}\n", "2:23: error: rule option 'uidrange' is not supported by directord"),
        ("static_rules {\n    from 192.0.2.0/24\n}\n", "2:5: error: rule has no action (table N, goto N, nop, blackhole, unreachable or prohibit)"),
        ("static_rules {\n    from 192.0.2.0/24 table 5 goto 9\n}\n",
         "2:31: error: a rule has one action (table, goto, nop, blackhole, unreachable or prohibit); 'table' came first"),
        ("static_rules {\n    from 192.0.2.0/24 goto 9\n}\n", "2:23: error: a 'goto' rule needs a 'preference' (before its target 9)"),
        ("static_rules {\n    preference 9 goto 9\n}\n", "2:18: error: 'goto 9' must jump forward, past the rule's preference 9"),
        ("static_rules {\n    from 192.0.2.0/24 to 2001:db8::/64 table 5\n}\n", "2:26: error: rule mixes IPv4 and IPv6 ('2001:db8::/64')"),
        ("static_rules {\n    from 192.0.2.0/24 table 0\n}\n", "2:29: error: table 0 is not a table"),
        ("static_rules {\n    fwmark 0x1g table 5\n}\n",
         "2:12: error: rule 'fwmark' must be a number in 0..4294967295 (decimal or 0x hex), not '0x1g'"),
        ("static_rules {\n    from 192.0.2.0/24 frm 1 table 5\n}\n",
         "2:23: error: unknown rule option 'frm'; expected [not] [from P] [to P] [tos T] [fwmark M[/MASK]] [iif IF] [oif IF] [preference N] and table N, goto N, nop, blackhole, unreachable or prohibit"),
    ])
    func refusesWithPlace(_ text: String, _ expected: String) {
        let result = parse(text)
        #expect(result.configuration == nil)
        #expect(result.errors.first?.short == expected, "\(result.errors.map(\.short))")
    }
}

extension StaticNetworkTests {
    @Test func fixtureBesideAVRRPInstance() throws {
        let result = ConfigurationLoader().load(path: Paths.fixture("static-network.conf"))
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.short))")
        let config = try #require(result.configuration)
        #expect(config.staticNetwork.addresses.map(\.label) == ["eth2:up2"])
        #expect(config.staticNetwork.routes.map(\.destination.length) == [0])
        #expect(config.staticNetwork.rules.map(\.action) == [.table(100), .table(100)])
        #expect(config.staticNetwork.rules.last?.fwmask == 0xff)
        #expect(config.vrrpInstances.count == 1)
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }
}

extension StaticNetworkTests {
    @Test func aRuleWithoutPreferenceIsNumberedDownFrom16384PerFamilyWithAWarning() throws {
        let result = parse("static_rules {\n    from 192.0.2.0/24 table 1\n    to 192.0.2.0/24 table 1\n    inet6 to 2001:db8::/32 table 1\n}\n")
        let config = try #require(result.configuration)
        #expect(config.staticNetwork.rules.map(\.priority) == [16384, 16383, 16384])
        #expect(result.warnings.map(\.short) == [
            "2:5: warning: rule has no 'preference': 16384, as keepalived sets it (give one to place it)",
            "3:5: warning: rule has no 'preference': 16383, as keepalived sets it (give one to place it)",
            "4:5: warning: rule has no 'preference': 16384, as keepalived sets it (give one to place it)",
        ])
    }
}
