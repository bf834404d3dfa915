// Value forms and keywords of keepalived 2.2.7 that directord reads with keepalived's meaning, ignores with a
// warning where ignoring changes no traffic, or refuses where keepalived would run something else.
import DirectorConfig
import Testing

struct KeepalivedFormTests {
    private static func server(_ vsExtra: String = "", real: String = "") -> String {
        """
        virtual_server 192.0.2.1 80 {
            lb_kind DR
            protocol TCP
        \(vsExtra)
            real_server 10.0.0.1 80 {
        \(real)
                TCP_CHECK {
                    connect_timeout 3
                }
            }
        }
        """
    }

    @Test func aPrefixOnUnicastAddressesIsIgnoredWithAWarning() throws {
        let result = parse(instance(extra: "    unicast_src_ip 192.0.2.5/24\n    unicast_peer {\n        192.0.2.6/24\n    }\n"))
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(result.warnings.map(\.short) == [
            "7:20: warning: the '/24' of 'unicast_src_ip' 192.0.2.5/24 is ignored, as keepalived ignores it",
            "9:9: warning: the '/24' of unicast peer 192.0.2.6/24 is ignored, as keepalived ignores it",
        ])
        let vi = try #require(result.configuration?.vrrpInstance(named: "VI_1"))
        #expect(vi.unicastSourceIP?.description == "192.0.2.5")
        #expect(vi.unicastPeers.map(\.description) == ["192.0.2.6"])
        #expect(parse(instance(extra: "    unicast_src_ip 192.0.2.5/x\n")).errors.map(\.place) == ["7:20"])
    }

    @Test func digitsAreNotBooleansAsInKeepalived() {
        let result = parse(Self.server(real: "        alpha 1\n"))
        #expect(result.errors.map(\.short) == [
            "6:15: error: 'alpha' takes on|off|true|false|yes|no, not '1' (keepalived 2.2.7 rejects it too and leaves 'alpha' unchanged); write 'alpha on'",
        ])
    }

    @Test func aVirtualServersAlphaAndOmegaIgnoreTheirValueInKeepalived() throws {
        let on = try #require(parse(Self.server("    alpha on\n    omega yes\n")).configuration?.virtualServers.first)
        #expect(on.alpha && on.omega)
        let off = parse(Self.server("    alpha off\n    omega 0\n"))
        #expect(off.errors.map(\.short) == [
            "4:11: error: keepalived 2.2.7 ignores the value of 'alpha' here and turns it on; remove the line to leave it off",
            "5:11: error: keepalived 2.2.7 ignores the value of 'omega' here and turns it on; remove the line to leave it off",
        ])
    }

    @Test func garpRefreshRepeatAndLowerPriorityBursts() throws {
        let result = parse("""
            global_defs {
                vrrp_garp_master_refresh_repeat 3
                vrrp_garp_lower_prio_repeat 2
            }
            """ + "\n" + instance(extra: "    garp_lower_prio_delay 1\n"))
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        let garp = try #require(result.configuration?.vrrpInstance(named: "VI_1")?.garp)
        #expect(garp.masterRefreshRepeat == 3)
        #expect(garp.lowerPriorityRepeat == 2)
        #expect(garp.lowerPriorityDelay == .seconds(1))
    }

    @Test func minGarpSetsOneMessageAndNoSecondBurstUnlessAlreadySet() throws {
        let plain = try #require(parse("global_defs {\n    vrrp_min_garp\n}\n" + instance(extra: "")).configuration)
        #expect(plain.globals.garp.masterRepeat == 1 && plain.globals.garp.masterDelay == .zero)
        #expect(plain.vrrpInstance(named: "VI_1")?.garp.masterRepeat == 1)
        let before = try #require(parse("global_defs {\n    vrrp_garp_master_repeat 3\n    vrrp_min_garp true\n    vrrp_garp_master_delay 2\n}\n").configuration)
        #expect(before.globals.garp.masterRepeat == 3 && before.globals.garp.masterDelay == .seconds(2))
        let off = try #require(parse("global_defs {\n    vrrp_min_garp off\n}\n").configuration)
        #expect(off.globals.garp == GARPSettings())
    }

    @Test func multicastGroupsAsKeepalivedReadsThem() throws {
        let result = parse("global_defs {\n    vrrp_mcast_group4 239.1.1.1\n    vrrp_mcast_group6 ff02::1:2\n    vrrp_mcast_group4 10.0.0.1\n}\n"
            + instance(extra: "    mcast_dst_ip 224.0.0.19\n") + instance("VI_2", vrid: 52) + instance("VI_3", vrid: 53, extra: "    mcast_dst_ip ff05::12\n"))
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        // The unicast group and the IPv6 group of an IPv4 instance are skipped with a warning, as keepalived skips them.
        #expect(result.warnings.count == 2, "\(result.warnings.map(\.short))")
        let config = try #require(result.configuration)
        #expect(config.vrrpInstance(named: "VI_1")?.multicastGroup?.description == "224.0.0.19")
        #expect(config.vrrpInstance(named: "VI_2")?.multicastGroup?.description == "239.1.1.1")
        #expect(config.vrrpInstance(named: "VI_3")?.multicastGroup?.description == "239.1.1.1")
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test func notifyDeletedAndTheExtraNotifyScriptsSurviveTheDump() throws {
        let result = parse("vrrp_sync_group G {\n    group {\n        VI_1\n    }\n    notify_deleted\n}\n"
            + instance(extra: "    notify_deleted /bin/deleted.sh nobody\n    notify_master_rx_lower_pri /bin/lower.sh\n    unicast_fault_no_peer\n")
            + instance("VI_2", vrid: 52, extra: "    notify_deleted\n"))
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(result.warnings.map(\.short).contains { $0.hasPrefix("5:5: warning: 'notify_deleted' is ignored") })
        let config = try #require(result.configuration)
        let one = try #require(config.vrrpInstance(named: "VI_1"))
        #expect(one.notify.notifyDeleted && one.notify.deleted?.command == "/bin/deleted.sh" && one.notify.deleted?.user?.user == "nobody")
        #expect(one.notifyMasterRxLowerPriority?.command == "/bin/lower.sh" && one.faultsWithoutPeers)
        #expect(config.vrrpInstance(named: "VI_2")?.notify.notifyDeleted == true)
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test func unicastPeerTTLRangesTurnTheSourceCheckOn() throws {
        let peers = "    unicast_peer {\n        192.0.2.2 min_ttl 10\n        192.0.2.3 max_ttl 5 min_ttl 9\n        192.0.2.4\n    }\n"
        let result = parse(instance(extra: peers))
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(result.warnings.map(\.short) == ["9:9: warning: min_ttl 9 > max_ttl 5: every advert from 192.0.2.3 is dropped (keepalived warns too)"])
        let config = try #require(result.configuration)
        let i = try #require(config.vrrpInstance(named: "VI_1"))
        #expect(i.checkUnicastSource)
        #expect(i.unicastPeerTTLs.count == 2)
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
        let bad = parse(instance(extra: "    unicast_peer {\n        192.0.2.2 ttl 10\n        192.0.2.3 min_ttl\n    }\n"))
        #expect(bad.errors.map(\.short) == [
            "8:19: error: unexpected 'ttl' after the unicast peer address; expected min_ttl N or max_ttl N",
            "9:19: error: 'min_ttl' needs a value",
        ])
    }

    @Test func keywordsThatChangeNoTrafficAreIgnoredWithAWarning() {
        let result = parse("""
            global_defs {
                notify_fifo /run/keepalived.fifo
                vrrp_notify_fifo_script /usr/local/bin/fifo.sh
                nftables_counters
                vrrp_notify_priority_changes
                vrrp_rt_priority 50
                lvs_flush_onstop VS
            }
            """ + "\n" + instance(extra: "    notify_priority_changes\n"))
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(result.warnings.map(\.place) == ["2:5", "3:5", "4:5", "5:5", "6:5", "7:5", "15:5"])
        #expect(result.configuration?.globals.lvsFlushOnStop == .virtualServers)
    }

    @Test func keywordsWhoseAbsenceChangesTrafficAreRefused() {
        let result = parse("""
            linkbeat_interfaces {
                eth0
            }
            global_defs {
                vrrp_garp_extra_if 5
            }
            """ + "\n" + instance(extra: "    use_ipvlan\n"))
        #expect(result.errors.map(\.place) == ["1:1", "5:5", "13:5"])
        #expect(result.errors.allSatisfy { $0.message.contains("is not supported by directord") })
    }
}
