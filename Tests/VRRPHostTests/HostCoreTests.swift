import DirectorConfig
import IPVS
import Platform
import Testing
import VRRP

@testable import VRRPHost

let outside = """
    vrrp_instance VI_1 {
        state BACKUP
        interface eth0
        virtual_router_id 51
        priority 150
        advert_int 1
        authentication {
            auth_type PASS
            auth_pass secret1
        }
        virtual_ipaddress {
            192.0.2.10/24 dev eth0
        }
        virtual_ipaddress_excluded {
            192.0.2.11/24 dev eth0
        }
        virtual_routes {
            198.51.100.0/24 via 192.0.2.254 dev eth0
        }
        notify_master "/etc/directord/master.sh"
        notify "/etc/directord/notify.sh"
    }

    """

@Suite("VRRP host glue")
struct HostCoreTests {
    // Master_Down_Interval at priority 150, v2, advert_int 1: 3 s + (256 - 150)/256 s ≈ 3.414 s.

    @Test("a backup becomes MASTER after the master-down interval and then advertises every second")
    func advertsOnSchedule() throws {
        let h = try Harness(outside)
        try h.start()
        #expect(h.state("VI_1") == "BACKUP")
        let t = try h.transport("eth0")
        #expect(t.group == [224, 0, 0, 18])
        #expect(t.source == [192, 0, 2, 1])
        h.advance(to: 3.3)
        #expect(h.state("VI_1") == "BACKUP")
        #expect(t.sent.current.isEmpty)
        h.advance(to: 3.5)
        #expect(h.state("VI_1") == "MASTER")
        #expect(t.sent.current.count == 1)
        for step in stride(from: 4.0, through: 7.5, by: 0.5) { h.advance(to: step) }
        // 3.5 (on election), 4.5, 5.5, 6.5, 7.5
        #expect(t.sent.current.count == 5)
        let first = try #require(t.sent.current.first)
        #expect(first.destination == [224, 0, 0, 18])
        // v2 advert: version/type 0x21, VRID 51, priority 150, 1 address, PASS, 1 s, then VIP and the password.
        #expect(Array(first.payload[0..<6]) == [0x21, 51, 150, 1, 1, 1])
        #expect(Array(first.payload[8..<12]) == [192, 0, 2, 10])
        #expect(Array(first.payload[12..<20]) == Array("secret1".utf8) + [0])
        #expect(first.payload.count == 20, "the excluded address is not advertised")
        #expect(h.core.status().instances.first?.advertsSent == 5)
    }

    @Test("addresses, excluded addresses and routes are added on MASTER and removed on BACKUP; GARPs go out")
    func addressesFollowState() throws {
        let h = try Harness(outside)
        try h.start()
        h.advance(to: 3.5)
        #expect(h.network.addressTexts == ["192.0.2.10/24 dev eth0", "192.0.2.11/24 dev eth0"])
        #expect(h.network.routes.current.map { $0.description } == ["198.51.100.0/24 via 192.0.2.254 dev eth0"])
        // garp_master_repeat 5 for each address, at once.
        #expect(h.announcer.announced.current.count == 10)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", at: 4.0)
        #expect(h.state("VI_1") == "BACKUP")
        #expect(h.network.addressTexts.isEmpty)
        #expect(h.network.routes.current.isEmpty)
        #expect(h.core.status().instances.first?.masterAddress == "192.0.2.2")
        #expect(h.core.status().instances.first?.advertsReceived == 1)
    }

    @Test("an address that was already there when directord became MASTER is never removed")
    func foreignAddressKept() throws {
        let h = try Harness(outside)
        try h.start()
        let foreign = InterfaceAddress(family: 2, address: [192, 0, 2, 10], prefixLength: 24, interface: "eth0")
        h.network.addresses.update { _ = $0.insert(foreign) }
        h.advance(to: 3.5)
        #expect(h.state("VI_1") == "MASTER")
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", at: 4.0)
        #expect(h.state("VI_1") == "BACKUP")
        #expect(h.network.addressTexts == ["192.0.2.10/24 dev eth0"], "the foreign VIP stays, ours (.11) is gone")
    }

    @Test("at start, configured VIPs left by an unclean stop are removed; other addresses are not touched")
    func leftoversRemovedAtStart() throws {
        let h = try Harness(outside)
        let leftover = InterfaceAddress(family: 2, address: [192, 0, 2, 10], prefixLength: 24, interface: "eth0")
        let other = InterfaceAddress(family: 2, address: [192, 0, 2, 99], prefixLength: 24, interface: "eth0")
        h.network.addresses.update { $0 = [leftover, other] }
        try h.start()
        #expect(h.network.addressTexts == ["192.0.2.99/24 dev eth0"])
    }

    @Test("notify scripts get keepalived's arguments; notify_master gets none")
    func notifyArguments() async throws {
        let h = try Harness(outside)
        try h.start()
        h.advance(to: 3.5)
        let generic = try await h.waitForRuns(of: "/etc/directord/notify.sh", count: 2)
        #expect(generic.map(\.arguments) == [["INSTANCE", "VI_1", "BACKUP", "150"], ["INSTANCE", "VI_1", "MASTER", "150"]])
        let master = try await h.waitForRuns(of: "/etc/directord/master.sh", count: 1)
        #expect(master.map(\.arguments) == [[]])
        #expect(master.first?.user == nil)
    }

    @Test("the sync daemon is backup on BACKUP, master on MASTER, stopped on shutdown, with the configured settings")
    func syncDaemonSwitching() throws {
        let h = try Harness("global_defs {\n    lvs_sync_daemon eth1 VI_1 id 7\n}\n" + outside)
        try h.start()
        let backup = IPVSSyncDaemon(state: .backup, interface: "eth1", syncID: 7)
        let master = IPVSSyncDaemon(state: .master, interface: "eth1", syncID: 7)
        #expect(h.ipvs.table.calls == [RecordingIPVSTable.Call.stopSyncDaemon(.master), .startSyncDaemon(backup)])
        h.ipvs.table.clearCalls()
        h.advance(to: 3.5)
        #expect(h.ipvs.table.calls == [RecordingIPVSTable.Call.stopSyncDaemon(.backup), .startSyncDaemon(master)])
        #expect(h.ipvs.table.daemons == [master])
        h.ipvs.table.clearCalls()
        _ = h.core.shutdown(now: h.at(5))
        #expect(h.ipvs.table.calls == [RecordingIPVSTable.Call.stopSyncDaemon(.master), .stopSyncDaemon(.backup)])
        #expect(h.ipvs.table.daemons.isEmpty)
    }

    @Test("malformed and foreign adverts are dropped and counted per reason, with no state change")
    func dropCounters() throws {
        let h = try Harness(outside)
        try h.start()
        h.advance(to: 3.5)
        #expect(h.state("VI_1") == "MASTER")
        // Each of these would make us BACKUP if it were accepted (priority 200 > 150).
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", ttl: 64, at: 4)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "wrong", at: 4)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", at: 4) {
            $0[6] ^= 0xFF
        }
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", interval: 200, at: 4)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.99"], password: "secret1", at: 4)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], version: VRRP.VRRPVersion.v3, at: 4)
        let t = try h.transport("eth0")
        t.inject([0x45, 0, 0, 10, 0], source: [192, 0, 2, 2])
        h.core.readable(TransportKey(try #require(h.core.instances["VI_1"]).spec.wiring), now: h.at(4))
        // Another VRRP router on the segment (VRID 60): not ours, not counted against VI_1.
        try h.receive(on: "eth0", vrid: 60, priority: 200, addresses: ["192.0.2.10"], password: "secret1", at: 4)
        #expect(h.state("VI_1") == "MASTER")
        let status = try #require(h.core.status().instances.first)
        #expect(status.drops == ["ttl": 1, "auth": 1, "checksum": 1, "interval": 1, "address_list": 1, "version_mismatch": 1, "truncated": 1])
        #expect(status.advertsReceived == 0)
        #expect(h.core.foreignAdverts == 1)
    }

    @Test("a sync group moves together: MASTER only when both can, BACKUP as soon as one must")
    func syncGroup() throws {
        let config = """
            vrrp_sync_group VG {
                group {
                    VI_OUT
                    VI_IN
                }
                notify "/etc/directord/group.sh"
            }
            vrrp_instance VI_OUT {
                interface eth0
                virtual_router_id 51
                priority 150
                virtual_ipaddress {
                    192.0.2.10/24
                }
            }
            vrrp_instance VI_IN {
                interface eth1
                virtual_router_id 52
                priority 100
                virtual_ipaddress {
                    10.0.0.254/24
                }
            }

            """
        let h = try Harness(config)
        try h.start()
        // VI_OUT's down timer expires first (3.414 s); it waits for VI_IN (3 + 156/256 ≈ 3.61 s).
        h.advance(to: 3.5)
        #expect(h.state("VI_OUT") == "BACKUP")
        #expect(h.network.addressTexts.isEmpty)
        h.advance(to: 3.7)
        #expect(h.state("VI_OUT") == "MASTER")
        #expect(h.state("VI_IN") == "MASTER")
        #expect(h.network.addressTexts == ["192.0.2.10/24 dev eth0", "10.0.0.254/24 dev eth1"])
        #expect(h.core.status().syncGroups.first?.state == "MASTER")
        // A better router appears on the inside only: the outside follows.
        try h.receive(on: "eth1", vrid: 52, priority: 200, addresses: ["10.0.0.254"], from: "10.0.0.2", at: 4)
        #expect(h.state("VI_IN") == "BACKUP")
        #expect(h.state("VI_OUT") == "BACKUP")
        #expect(h.network.addressTexts.isEmpty)
        #expect(h.events.current.contains(VRRPHostEvent.groupState(group: "VG", from: "MASTER", to: "BACKUP")))
    }

    @Test("link down puts the instance in FAULT (addresses released); link up brings it back to BACKUP")
    func trackInterface() throws {
        let h = try Harness(outside)
        try h.start()
        h.advance(to: 3.5)
        #expect(h.state("VI_1") == "MASTER")
        h.network.links.update { $0["eth0"] = false }
        // Links are read every second (the first read was at 1.0, the next at 4.5 after the 3.5 catch-up).
        h.advance(to: 4.6)
        #expect(h.state("VI_1") == "FAULT")
        #expect(h.network.addressTexts.isEmpty)
        #expect(try h.transport("eth0").priorities.last == 0, "leaving MASTER for FAULT resigns")
        h.network.links.update { $0["eth0"] = true }
        h.advance(to: 5.7)
        #expect(h.state("VI_1") == "BACKUP")
    }

    @Test("a failing track_script with a negative weight lowers the advertised priority, and success restores it")
    func trackScriptWeight() async throws {
        let config = """
            vrrp_script chk_nginx {
                script "killall -0 nginx"
                interval 2
                weight -60
                fall 2
                rise 1
            }
            """ + outside.replacingOccurrences(of: "    notify_master", with: "    track_script {\n        chk_nginx\n    }\n    notify_master")
        let h = try Harness(config)
        h.scripts.outcomes.update { $0["killall -0 nginx"] = .exited(1) }
        try h.start()
        h.advance(to: 0)
        try await h.runPosted(at: 0.1)
        #expect(h.core.status().instances.first?.priority == 150, "fall 2: one failure is not enough")
        h.advance(to: 2.0)
        try await h.runPosted(at: 2.1)
        #expect(h.core.status().instances.first?.priority == 90)
        let down = try #require(h.core.status().scripts.first)
        #expect(down.name == "chk_nginx" && !down.up && down.failuresInARow == 2 && down.fall == 2 && !down.running)
        #expect(down.lastResult == "exited with status 1" && down.lastRun != nil)
        h.advance(to: 3.5)
        #expect(h.state("VI_1") == "MASTER")
        #expect(try h.transport("eth0").priorities == [90])
        h.scripts.outcomes.update { $0["killall -0 nginx"] = .exited(0) }
        h.advance(to: 4.0)
        try await h.runPosted(at: 4.1)
        #expect(h.core.status().instances.first?.priority == 150)
        #expect(h.core.status().scripts.map(\.up) == [true])
        #expect(h.core.status().scripts.first?.successesInARow == 1)
        #expect(h.scripts.runs(of: "killall -0 nginx").count == 3)
    }

    @Test("shutdown resigns with priority 0, releases addresses and runs notify with STOP")
    func shutdownResigns() async throws {
        let h = try Harness(outside.replacingOccurrences(of: "notify_master", with: "notify_stop \"/etc/directord/stop.sh\"\n    notify_master"))
        try h.start()
        h.advance(to: 3.5)
        _ = h.core.shutdown(now: h.at(4))
        #expect(try h.transport("eth0").priorities == [150, 0])
        #expect(h.network.addressTexts.isEmpty)
        #expect(h.network.routes.current.isEmpty)
        let stop = try await h.waitForRuns(of: "/etc/directord/stop.sh", count: 1)
        #expect(stop.count == 1)
        let generic = try await h.waitForRuns(of: "/etc/directord/notify.sh", count: 3)
        #expect(generic.last?.arguments == ["INSTANCE", "VI_1", "STOP", "150"])
    }

    @Test("sends that fail are reported once, and the instance keeps running")
    func sendFailures() throws {
        let h = try Harness(outside)
        try h.start()
        try h.transport("eth0").failSends.update { $0 = true }
        h.advance(to: 3.5)
        h.advance(to: 4.5)
        #expect(h.state("VI_1") == "MASTER")
        #expect(h.events.current.filter { if case .problem = $0 { true } else { false } }.count == 1)
    }

    @Test("unicast: adverts go to each peer from unicast_src_ip; a routed peer's advert (TTL 64) is accepted")
    func unicastPeers() throws {
        let config = outside.replacingOccurrences(
            of: "    virtual_ipaddress {",
            with: "    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2\n        192.0.2.3\n    }\n    virtual_ipaddress {")
        let h = try Harness(config)
        try h.start()
        let t = try h.transport("eth0")
        #expect(t.group == nil, "no multicast group joined")
        h.advance(to: 3.5)
        #expect(t.sent.current.map(\.destination) == [[192, 0, 2, 2], [192, 0, 2, 3]])
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", ttl: 64, at: 4)
        #expect(h.state("VI_1") == "BACKUP")
    }

    @Test("down_timer_adverts 1: MASTER after one advert interval plus the skew time (1.414 s at priority 150)")
    func downTimerAdverts() throws {
        let h = try Harness(outside.replacingOccurrences(of: "    priority 150\n", with: "    priority 150\n    down_timer_adverts 1\n"))
        try h.start()
        h.advance(to: 1.4)
        #expect(h.state("VI_1") == "BACKUP")
        h.advance(to: 1.42)
        #expect(h.state("VI_1") == "MASTER")
        // The global default applies to instances that set none: 10 adverts + 0.414 s.
        let g = try Harness("global_defs {\n    vrrp_down_timer_adverts 10\n}\n" + outside)
        try g.start()
        g.advance(to: 10.4)
        #expect(g.state("VI_1") == "BACKUP")
        g.advance(to: 10.42)
        #expect(g.state("VI_1") == "MASTER")
    }

    @Test("vrrp_startup_delay 5: the first election ends 5 s plus the master-down interval after start")
    func startupDelay() throws {
        let h = try Harness("global_defs {\n    vrrp_startup_delay 5\n}\n" + outside)
        try h.start()
        #expect(h.state("VI_1") == "BACKUP")
        h.advance(to: 8.3)
        #expect(h.state("VI_1") == "BACKUP")
        h.advance(to: 8.5)
        #expect(h.state("VI_1") == "MASTER")
    }

    @Test("lower_prio_no_advert: a MASTER does not answer a lower priority; higher_prio_send_advert (global) sends one before yielding")
    func priorityAdvertOptions() throws {
        let config = "global_defs {\n    vrrp_higher_prio_send_advert\n}\n"
            + outside.replacingOccurrences(of: "    priority 150\n", with: "    priority 150\n    lower_prio_no_advert true\n")
        let h = try Harness(config)
        try h.start()
        h.advance(to: 3.5)
        let t = try h.transport("eth0")
        #expect(t.sent.current.count == 1)
        try h.receive(on: "eth0", vrid: 51, priority: 100, addresses: ["192.0.2.10"], password: "secret1", at: 3.7)
        #expect(t.sent.current.count == 1, "no answer to the lower priority")
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", at: 3.8)
        #expect(h.state("VI_1") == "BACKUP")
        #expect(t.priorities == [150, 150], "one last advert before yielding")
        // Without them, keepalived's defaults: the lower priority is answered, the higher one is not.
        let d = try Harness(outside)
        try d.start()
        d.advance(to: 3.5)
        try d.receive(on: "eth0", vrid: 51, priority: 100, addresses: ["192.0.2.10"], password: "secret1", at: 3.7)
        try d.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", at: 3.8)
        #expect(try d.transport("eth0").priorities == [150, 150])
    }

    @Test("track_file: value × weight moves the priority, a value at or below -254 (×weight) is FAULT, 0 restores it")
    func trackFileMovesPriorityAndFaults() throws {
        let config = "track_file maint {\n    file /run/maint\n    weight -10\n}\n"
            + outside.replacingOccurrences(of: "    notify_master", with: "    track_file {\n        maint\n    }\n    notify_master")
        let h = try Harness(config)
        h.trackFiles.update { $0["/run/maint"] = 2 }
        try h.start()
        // Read at start: 150 - 20.
        #expect(h.core.status().instances.first?.priority == 130)
        h.advance(to: 3.5)
        #expect(h.state("VI_1") == "MASTER")
        #expect(try h.transport("eth0").priorities.last == 130)
        // Files are read at the link-poll cadence (1 s; the last poll ran at 3.5).
        h.trackFiles.update { $0["/run/maint"] = 5 }
        h.advance(to: 4.6)
        #expect(h.core.status().instances.first?.priority == 100)
        h.trackFiles.update { $0["/run/maint"] = 26 }
        h.advance(to: 5.7)
        #expect(h.state("VI_1") == "FAULT")
        #expect(try h.transport("eth0").priorities.last == 0, "a MASTER going to FAULT resigns")
        h.trackFiles.update { $0["/run/maint"] = 0 }
        h.advance(to: 6.8)
        #expect(h.state("VI_1") == "BACKUP")
        #expect(h.core.status().instances.first?.priority == 150)
    }

    @Test("track_file with weight 0 in a sync group: a non-zero value puts every member in FAULT; reverse inverts it")
    func trackFileInSyncGroup() throws {
        let config = """
            track_file down {
                file /run/down
            }
            vrrp_sync_group G {
                group {
                    VI_1
                    VI_2
                }
                track_file {
                    down weight 0
                }
            }
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 51
                virtual_ipaddress {
                    192.0.2.10/24
                }
            }
            vrrp_instance VI_2 {
                interface eth1
                virtual_router_id 52
                track_file {
                    down weight 0 reverse
                }
                virtual_ipaddress {
                    10.0.0.10/24
                }
            }

            """
        let h = try Harness(config)
        h.trackFiles.update { $0["/run/down"] = 1 }
        try h.start()
        // The group's entry faults both; VI_2's own reversed one is fine with 1.
        #expect(h.state("VI_1") == "FAULT" && h.state("VI_2") == "FAULT")
        h.trackFiles.update { $0["/run/down"] = 0 }
        h.advance(to: 1.0)
        // Now the group's is fine but VI_2's reversed entry (0 is a failure) faults VI_2, and the group follows.
        #expect(h.state("VI_2") == "FAULT")
        #expect(h.state("VI_1") == "FAULT")
    }

    @Test("virtual_rules are added after the routes on MASTER and removed before them on BACKUP and at stop")
    func virtualRulesFollowState() throws {
        let h = try Harness(outside.replacingOccurrences(
            of: "    notify_master",
            with: "    virtual_rules {\n        from 192.0.2.10/32 table 100 preference 1000\n    }\n    notify_master"))
        try h.start()
        #expect(h.network.rules.current.isEmpty)
        h.advance(to: 3.5)
        #expect(h.network.rules.current.map(\.description) == ["pref 1000 from 192.0.2.10/32 lookup 100"])
        let calls = h.network.calls.current
        let addRoute = try #require(calls.firstIndex { if case .addRoute = $0 { true } else { false } })
        let addRule = try #require(calls.firstIndex { if case .addRule = $0 { true } else { false } })
        #expect(addRoute < addRule)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", at: 4.0)
        #expect(h.state("VI_1") == "BACKUP")
        #expect(h.network.rules.current.isEmpty)
        let after = h.network.calls.current
        let removeRule = try #require(after.lastIndex { if case .removeRule = $0 { true } else { false } })
        let removeRoute = try #require(after.lastIndex { if case .removeRoute = $0 { true } else { false } })
        #expect(removeRule < removeRoute)
        h.advance(to: 8.0)
        #expect(h.state("VI_1") == "MASTER")
        #expect(h.network.rules.current.count == 1)
        _ = h.core.shutdown(now: h.at(9.0))
        #expect(h.network.rules.current.isEmpty)
    }

    @Test("mcast_dst_ip: adverts go to that group and the socket joins it; vrrp_mcast_group4 is the default for the rest")
    func multicastGroups() throws {
        let own = try Harness(outside.replacingOccurrences(of: "    priority 150\n", with: "    priority 150\n    mcast_dst_ip 224.0.0.100\n"))
        try own.start()
        #expect(try own.transport("eth0").group == [224, 0, 0, 100])
        own.advance(to: 3.5)
        #expect(try own.transport("eth0").sent.current.map(\.destination) == [[224, 0, 0, 100]])
        let global = try Harness("global_defs {\n    vrrp_mcast_group4 239.1.2.3\n}\n" + outside)
        try global.start()
        #expect(try global.transport("eth0").group == [239, 1, 2, 3])
    }

    @Test("promote_secondaries is set on the interface at start where it is off, and put back at stop")
    func promoteSecondaries() throws {
        let h = try Harness(outside.replacingOccurrences(of: "    priority 150\n", with: "    priority 150\n    promote_secondaries\n"))
        try h.start()
        #expect(h.sysctl.writes.current == ["net/ipv4/conf/eth0/promote_secondaries=1"])
        _ = h.core.shutdown(now: h.at(1))
        #expect(h.sysctl.writes.current == ["net/ipv4/conf/eth0/promote_secondaries=1", "net/ipv4/conf/eth0/promote_secondaries=0"])
        // Already on: left alone, and not turned off at stop.
        let on = try Harness(outside.replacingOccurrences(of: "    priority 150\n", with: "    priority 150\n    promote_secondaries\n"))
        on.sysctl.values.update { $0["net/ipv4/conf/eth0/promote_secondaries"] = "1" }
        try on.start()
        _ = on.core.shutdown(now: on.at(1))
        #expect(on.sysctl.writes.current.isEmpty)
    }

    @Test("unicast_fault_no_peer without unicast_peer keeps the instance in FAULT; with peers it runs")
    func unicastFaultNoPeer() throws {
        let h = try Harness(outside.replacingOccurrences(of: "    priority 150\n", with: "    priority 150\n    unicast_fault_no_peer\n"))
        try h.start()
        #expect(h.state("VI_1") == "FAULT")
        h.advance(to: 10)
        #expect(h.state("VI_1") == "FAULT")
        #expect(try h.transport("eth0").sent.current.isEmpty)
        let peers = try Harness(outside.replacingOccurrences(
            of: "    priority 150\n", with: "    priority 150\n    unicast_fault_no_peer\n    unicast_peer {\n        192.0.2.2\n    }\n"))
        try peers.start()
        peers.advance(to: 3.5)
        #expect(peers.state("VI_1") == "MASTER")
    }

    @Test("notify_master_rx_lower_pri runs, with its own arguments only, when the MASTER hears a lower priority")
    func notifyMasterRxLowerPriority() async throws {
        let h = try Harness(outside.replacingOccurrences(
            of: "    priority 150\n", with: "    priority 150\n    notify_master_rx_lower_pri \"/etc/directord/lower.sh\"\n"))
        try h.start()
        h.advance(to: 3.5)
        #expect(h.scripts.runs(of: "/etc/directord/lower.sh").isEmpty)
        try h.receive(on: "eth0", vrid: 51, priority: 100, addresses: ["192.0.2.10"], password: "secret1", at: 3.7)
        let runs = try await h.waitForRuns(of: "/etc/directord/lower.sh", count: 1)
        #expect(runs.count == 1)
        #expect(runs.first?.arguments == [])
    }

    @Test("check_unicast_src: an advert from an address that is not a unicast_peer is dropped; a peer's is obeyed")
    func checkUnicastSource() throws {
        let config = outside.replacingOccurrences(
            of: "    virtual_ipaddress {",
            with: "    check_unicast_src\n    unicast_peer {\n        192.0.2.2\n    }\n    virtual_ipaddress {")
        let h = try Harness(config)
        try h.start()
        h.advance(to: 3.5)
        #expect(h.state("VI_1") == "MASTER")
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], from: "192.0.2.9", password: "secret1", at: 4)
        #expect(h.state("VI_1") == "MASTER")
        #expect(h.core.status().instances.first?.drops[DropReason.unexpectedSource.rawValue] == 1)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], from: "192.0.2.2", password: "secret1", at: 4.2)
        #expect(h.state("VI_1") == "BACKUP")
    }

    @Test("unicast_ttl sets the TTL of the unicast socket; received adverts are not judged by TTL (as keepalived)")
    func unicastTTL() throws {
        let config = outside.replacingOccurrences(
            of: "    virtual_ipaddress {",
            with: "    unicast_ttl 3\n    unicast_peer {\n        192.0.2.2\n    }\n    virtual_ipaddress {")
        let h = try Harness(config)
        try h.start()
        #expect(try h.transport("eth0").hopLimit == 3)
        h.advance(to: 3.5)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", ttl: 1, at: 4)
        #expect(h.state("VI_1") == "BACKUP")
        let multicast = try Harness(outside)
        try multicast.start()
        #expect(try multicast.transport("eth0").hopLimit == 255)
    }

    @Test("unicast_peer min_ttl/max_ttl: a peer's advert outside its TTL range is dropped (and the source is checked)")
    func unicastPeerTTLRange() throws {
        let config = outside.replacingOccurrences(
            of: "    virtual_ipaddress {",
            with: "    unicast_peer {\n        192.0.2.2 min_ttl 250 max_ttl 255\n    }\n    virtual_ipaddress {")
        let h = try Harness(config)
        try h.start()
        h.advance(to: 3.5)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", ttl: 64, at: 4)
        #expect(h.state("VI_1") == "MASTER")
        #expect(h.core.status().instances.first?.drops[DropReason.hopLimit.rawValue] == 1)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], from: "192.0.2.9", password: "secret1", at: 4.1)
        #expect(h.core.status().instances.first?.drops[DropReason.unexpectedSource.rawValue] == 1)
        try h.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], password: "secret1", ttl: 252, at: 4.2)
        #expect(h.state("VI_1") == "BACKUP")
    }

    @Test("vrrp_check_unicast_src in global_defs checks every unicast instance; without it any source is obeyed")
    func globalCheckUnicastSource() throws {
        let unicast = outside.replacingOccurrences(
            of: "    virtual_ipaddress {", with: "    unicast_peer {\n        192.0.2.2\n    }\n    virtual_ipaddress {")
        let checked = try Harness("global_defs {\n    vrrp_check_unicast_src\n}\n" + unicast)
        try checked.start()
        checked.advance(to: 3.5)
        try checked.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], from: "192.0.2.9", password: "secret1", at: 4)
        #expect(checked.state("VI_1") == "MASTER")
        let open = try Harness(unicast)
        try open.start()
        open.advance(to: 3.5)
        try open.receive(on: "eth0", vrid: 51, priority: 200, addresses: ["192.0.2.10"], from: "192.0.2.9", password: "secret1", at: 4)
        #expect(open.state("VI_1") == "BACKUP")
    }

}
