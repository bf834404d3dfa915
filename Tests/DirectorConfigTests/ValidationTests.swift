// The semantic checks of issue 3, each asserting the exact place of its diagnostic.
import DirectorConfig
import Testing

struct ValueValidationTests {
    @Test func outOfRangeValues() {
        let result = parse("""
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 256
                priority 0
                advert_int 1.5
                virtual_ipaddress {
                    192.0.2.1
                }
            }
            vrrp_instance VI_3 {
                interface eth0
                version 3
                virtual_router_id 3
                advert_int 0.005
                virtual_ipaddress {
                    192.0.2.3
                }
            }
            vrrp_script s {
                script /bin/true
                weight 254
            }
            virtual_server 192.0.2.1 65536 {
            }
            virtual_server 192.0.2.2 80 {
                protocol TCP
                real_server 10.0.0.1 80 {
                    weight -1
                    HTTP_GET {
                        url {
                            path /
                            digest 60f16b089b6c69717ffdd41fc089665
                            status_code 200-99
                        }
                        connect_port 0
                    }
                }
            }
            """)
        #expect(result.errors.map(\.short) == [
            "1:15: error: vrrp_instance 'VI_1' has no 'virtual_router_id'",
            "3:23: error: 'virtual_router_id' must be in 1..255, not 256",
            "4:14: error: 'priority' must be in 1..255, not 0",
            "5:16: error: VRRPv2 'advert_int' must be whole seconds in 1..255, not 1.5 (use 'version 3' for shorter intervals)",
            "14:16: error: 'advert_int' must be between 0.01 and 255 seconds, not 0.005",
            "21:12: error: 'weight' must be in -253..253, not 254",
            "23:26: error: virtual server port must be in 1..65535, not 65536",
            "28:16: error: 'weight' must be in 0..65535, not -1",
            "32:24: error: 'digest' must be 32 hexadecimal characters (an MD5 as genhash prints it), not '60f16b089b6c69717ffdd41fc089665' (31 characters)",
            "33:29: error: HTTP status code must be in 100..599, not 99",
            "35:26: error: 'connect_port' must be in 1..65535, not 0",
        ])
    }

    /// keepalived matches lb_kind and lb_algo case for case: `lb_kind dr` runs as NAT there and `lb_algo RR` as wlc
    /// (a public configuration wrote `lb_kind dr`), so another case is refused with the word to write.
    @Test func forwardingMethodAndSchedulerMustBeInKeepalivedsCase() {
        let result = parse("""
            virtual_server 192.0.2.1 80 {
                protocol tcp
                lb_kind dr
                lb_algo RR
                real_server 10.0.0.1 80 {
                    lb_kind Nat
                }
            }
            virtual_server 192.0.2.2 80 {
                protocol TCP
                lb_kind DR
                lb_algo rr
                real_server 10.0.0.2 80 { }
            }
            """)
        #expect(result.errors.map(\.short) == [
            "3:13: error: 'lb_kind' 'dr' is not 'DR' to keepalived, which matches it case for case and would log an error and forward with NAT; write 'DR'",
            "4:13: error: 'lb_algo' 'RR' is not 'rr' to keepalived, which matches it case for case and would log an error and schedule with the default, wlc; write 'rr'",
            "6:17: error: 'lb_kind' 'Nat' is not 'NAT' to keepalived, which matches it case for case and would log an error and forward with NAT; write 'NAT'",
        ])
    }

    @Test func advertIntervalBoundsPerVersion() {
        let result = parse(instance("A", vrid: 1, extra: "    version 3\n    advert_int 41") + instance("B", vrid: 2, extra: "    version 3\n    advert_int 0.015")
            + instance("C", vrid: 3, extra: "    advert_int 256"))
        #expect(result.errors.map(\.short) == [
            "8:16: error: VRRPv3 'advert_int' must be 0.01..40.95 seconds in steps of 0.01, not 41",
            "17:16: error: VRRPv3 'advert_int' must be 0.01..40.95 seconds in steps of 0.01, not 0.015",
            "25:16: error: 'advert_int' must be between 0.01 and 255 seconds, not 256",
        ])
    }

    @Test func badAddressesSayWhatIsWrong() {
        let result = parse(instance(extra: """
                unicast_src_ip 192.0.2.300
                unicast_peer {
                    192.0.2.01
                    2001:db8:::1
                }
                virtual_ipaddress_excluded {
                    192.0.2.7/33
                }
            """))
        #expect(result.errors.map(\.short) == [
            "7:20: error: 'unicast_src_ip' '192.0.2.300' is not an IP address: an IPv4 octet is larger than 255",
            "9:9: error: unicast peer '192.0.2.01' is not an IP address: an IPv4 octet may not have a leading zero",
            "10:9: error: unicast peer '2001:db8:::1' is not an IP address: '::' may appear only once in an IPv6 address",
            "13:9: error: virtual address '192.0.2.7/33' is not an address or ADDRESS/PREFIX: the prefix length must be 0..32",
        ])
    }

    @Test func tunnelIsRefusedClearly() {
        let result = parse("virtual_server 192.0.2.1 80 {\n    protocol TCP\n    lb_kind TUN\n}\n")
        #expect(result.errors.map(\.short) == ["3:13: error: 'lb_kind' TUN: directord drives NAT and DR only (no IP tunnelling)"])
    }

    @Test func wrongTypes() {
        let result = parse("""
            virtual_server 192.0.2.1 80 {
                protocol ICMP
                lb_algo roundrobin
                delay_loop soon
                persistence_granularity 255.0.255.0
            }
            virtual_server 192.0.2.2 80 {
                protocol TCP
                ops
            }
            """)
        #expect(result.errors.map(\.short) == [
            "2:14: error: 'protocol' must be one of TCP|UDP|SCTP, not 'ICMP'",
            "3:13: error: 'lb_algo' must be one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh|twos, not 'roundrobin'",
            "4:16: error: 'delay_loop' must be a number of seconds such as 3 or 0.5, not 'soon'",
            "5:29: error: 'persistence_granularity' must be a netmask such as 255.255.255.0 or a prefix length, not '255.0.255.0'",
            "9:5: error: 'ops' (one-packet scheduling) applies to UDP services only",
        ])
    }
}

struct CrossValidationTests {
    @Test func duplicateVirtualServersAndReals() {
        let result = parse("""
            vrrp_instance GW {
                interface eth1
                virtual_router_id 2
                virtual_ipaddress {
                    10.0.0.254/24
                }
            }
            virtual_server 192.0.2.1 80 {
                protocol TCP
                real_server 10.0.0.1 80 {
                }
                real_server 10.0.0.1 80 {
                }
                sorry_server 10.0.0.1 80
            }
            virtual_server 192.0.2.1 80 {
                protocol TCP
                real_server 10.0.0.2 80 {
                }
            }
            virtual_server 192.0.2.1 80 {
                protocol UDP
                real_server 10.0.0.2 80 {
                }
            }
            """)
        #expect(result.errors.map(\.short) == [
            "12:5: error: real_server 10.0.0.1:80 appears twice in virtual_server 192.0.2.1 80 (first at main.conf:10:5)",
            "14:5: error: sorry_server 10.0.0.1:80 is also a real_server of this virtual_server",
            "16:1: error: virtual_server 192.0.2.1 80 TCP is already defined at main.conf:8:1",
        ])
    }

    @Test func sameVRIDOnTheSameInterface() {
        let result = parse(instance("A", vrid: 7) + instance("B", vrid: 7) + instance("C", vrid: 7, interface: "eth1"))
        #expect(result.errors.map(\.short) == ["9:15: error: vrrp_instance 'B' uses virtual_router_id 7 on eth0, already used by 'A' at main.conf:1:15"])
    }

    @Test func sameVRIDWithDisjointUnicastPeersIsAllowed() {
        let peers = { (p: String) in "    unicast_peer {\n        \(p)\n    }" }
        let result = parse(instance("A", vrid: 7, extra: peers("192.0.2.2")) + instance("B", vrid: 7, extra: peers("192.0.2.3")))
        #expect(result.errors.isEmpty, "\(result.errors)")
    }

    @Test func syncGroupReferences() {
        let result = parse(instance("VI_1", vrid: 1) + instance("VI_2", vrid: 2) + """
            vrrp_sync_group G1 {
                group {
                    VI_1
                    VI_3
                }
            }
            vrrp_sync_group G2 {
                group {
                    VI_2 VI_1
                }
            }
            vrrp_instance VI_1 {
                interface eth9
                virtual_router_id 3
                virtual_ipaddress {
                    192.0.2.99
                }
            }
            """)
        #expect(result.errors.map(\.short) == [
            "20:9: error: vrrp_sync_group 'G1' names vrrp_instance 'VI_3', which is not defined; did you mean 'VI_1'?",
            "25:14: error: vrrp_instance 'VI_1' is already in vrrp_sync_group 'G1'; an instance belongs to one group",
            "28:15: error: vrrp_instance 'VI_1' is already defined at main.conf:1:15",
        ])
    }

    @Test func trackScriptReferencesAndSyncGroupWeights() {
        let result = parse("""
            vrrp_script chk_nginx {
                script "killall -0 nginx"
                weight -5
            }
            """ + "\n" + instance("VI_1", vrid: 1, extra: "    track_script {\n        chk_ngnix\n        chk_nginx\n    }") + """
            vrrp_sync_group G {
                group {
                    VI_1
                }
                track_script {
                    chk_nginx weight 3
                    missing
                }
            }
            """)
        #expect(result.diagnostics.map(\.short) == [
            "12:9: error: track_script names vrrp_script 'chk_ngnix', which is not defined; did you mean 'chk_nginx'?",
            "13:9: warning: track_script 'chk_nginx' weight -5 is set to 0: instance 'VI_1' is in a sync group (as keepalived does); track the script in the vrrp_sync_group instead",
            "22:9: error: track_script names vrrp_script 'missing', which is not defined",
        ])
    }

    @Test func groupedInstanceTrackWeightIsZeroedInTheModel() throws {
        let text = "vrrp_script s {\n    script true\n    weight 10\n}\n" + instance(extra: "    track_script {\n        s\n    }")
            + "vrrp_sync_group G {\n    group {\n        VI_1\n    }\n}\n"
        let config = try #require(parse(text).configuration)
        #expect(config.vrrpInstances[0].trackScripts[0].weight == 0)
    }

    @Test func mixedAddressFamilies() {
        let result = parse("""
            vrrp_instance V {
                interface eth0
                virtual_router_id 1
                virtual_ipaddress {
                    192.0.2.1
                    2001:db8::1
                }
                virtual_ipaddress_excluded {
                    2001:db8::2
                }
            }
            virtual_server 192.0.2.1 80 {
                protocol TCP
                lb_kind DR
                real_server 2001:db8::5 80 {
                }
                sorry_server 2001:db8::6 80
            }
            virtual_server fwmark 3 {
                lb_kind DR
                real_server 192.0.2.8 80 {
                }
                real_server 2001:db8::8 80 {
                }
            }
            """)
        #expect(result.errors.map(\.short) == [
            "6:9: error: virtual_ipaddress mixes IPv4 and IPv6 (adverts carry one family); put the other family in virtual_ipaddress_excluded",
            "15:5: error: real_server 2001:db8::5 is IPv6 but virtual_server 192.0.2.1 80 is IPv4; NAT and DR cannot mix address families",
            "17:5: error: sorry_server 2001:db8::6 is IPv6 but virtual_server 192.0.2.1 80 is IPv4",
            "23:5: error: real_server 2001:db8::8 is IPv6 but virtual_server fwmark 3 is IPv4; NAT and DR cannot mix address families",
        ])
    }

    @Test func natWithoutAReplyPathWarnsAndAGatewayAddressSilencesIt() {
        let service = "virtual_server 203.0.113.10 80 {\n    protocol TCP\n    real_server 10.0.0.1 80 {\n    }\n}\n"
        let bare = parse(service)
        #expect(bare.diagnostics.map(\.short) == [
            "1:1: warning: NAT virtual_server 203.0.113.10 80 has no VRRP-managed gateway address for its real servers: replies must be routed back through this director (its address must be their default gateway); directord turns on net.ipv4.ip_forward, which keepalived leaves to the operator",
        ])
        // The VIP alone is not a gateway for the reals.
        let vipOnly = parse(service + "vrrp_instance O {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  203.0.113.10/24\n }\n}\n")
        #expect(vipOnly.warnings.count == 1)
        // A gateway address on another subnet does not help either.
        let wrongSubnet = parse(service + "vrrp_instance I {\n interface eth1\n virtual_router_id 2\n virtual_ipaddress {\n  10.9.0.254/24\n }\n}\n")
        #expect(wrongSubnet.warnings.count == 1)
        // One-armed NAT: the reals are on the VIP's own subnet and use it as their gateway.
        let oneArm = parse("virtual_server 10.0.0.10 80 {\n    protocol TCP\n    real_server 10.0.0.1 80 {\n    }\n}\n"
            + "vrrp_instance O {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.10/24\n }\n}\n")
        #expect(oneArm.diagnostics.isEmpty, "\(oneArm.diagnostics)")
        let gateway = parse(service + "vrrp_instance I {\n interface eth1\n virtual_router_id 2\n virtual_ipaddress {\n  10.0.0.254/24\n }\n}\n")
        #expect(gateway.diagnostics.isEmpty, "\(gateway.diagnostics)")
        let dr = parse("virtual_server 203.0.113.10 80 {\n    protocol TCP\n    lb_kind DR\n    real_server 10.0.0.1 80 {\n    }\n}\n")
        #expect(dr.diagnostics.isEmpty)
    }

    @Test func groupAndSyncDaemonReferences() {
        let result = parse("""
            global_defs {
                lvs_sync_daemon eth0 VI_9
            }
            virtual_server_group WEB {
                192.0.2.1-10 80
                198.51.100.0/30 443
                fwmark 7
            }
            virtual_server group WEB {
                protocol TCP
                real_server 10.0.0.1 80 {
                }
            }
            virtual_server group NOPE {
                protocol TCP
                real_server 10.0.0.1 80 {
                }
            }
            """)
        #expect(result.errors.map(\.short) == [
            "2:5: error: lvs_sync_daemon names vrrp_instance 'VI_9', which is not defined",
            "14:1: error: virtual_server group 'NOPE': no virtual_server_group with that name",
        ])
    }

    @Test func virtualServerGroupRanges() throws {
        let config = try #require(parse("""
            virtual_server_group WEB {
                192.0.2.1-10 80
                198.51.100.0/30 443
                2001:db8::1-ff
                192.0.2.20-192.0.2.30
                fwmark 7 inet6
            }
            """).configuration)
        let v4 = { (a: UInt8, b: UInt8, c: UInt8, d: UInt8) in IPAddress.v4(IPv4Address(a, b, c, d)) }
        #expect(config.virtualServerGroups[0].members == [
            .range(first: v4(192, 0, 2, 1), last: v4(192, 0, 2, 10), port: 80),
            .range(first: v4(198, 51, 100, 0), last: v4(198, 51, 100, 3), port: 443),
            .range(first: .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: 1)), last: .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: 0xff)), port: 0),
            .range(first: v4(192, 0, 2, 20), last: v4(192, 0, 2, 30), port: 0),
            .fwmark(7, family: .ipv6),
        ])
        let bad = parse("virtual_server_group X {\n    10.0.0.0/8 80\n    10.0.0.9-3\n}\n")
        #expect(bad.errors.map(\.short) == [
            "2:5: error: address range 10.0.0.0/8 has more than 65536 addresses",
            "3:5: error: address range 10.0.0.9-3 must run upwards within one family and hold at most 65536 addresses",
        ])
    }

    @Test func addressFamilyOfFirewallMarkAndGroupServices() throws {
        let config = try #require(parse("""
            virtual_server fwmark 1 {
                ip_family inet6
                real_server 2001:db8::2 80 {
                }
            }
            virtual_server fwmark 2 {
                real_server 2001:db8::1 80 {
                }
            }
            virtual_server fwmark 3 {
                real_server 192.0.2.3 80 {
                }
            }
            virtual_server_group G {
                2001:db8::10 80
            }
            virtual_server group G {
                protocol TCP
                real_server 2001:db8::3 80 {
                }
            }
            """).configuration)
        #expect(config.virtualServers.map(\.family) == [.ipv6, .ipv6, .ipv4, .ipv6])
        let contradiction = parse("virtual_server 192.0.2.1 80 {\n    protocol TCP\n    ip_family inet6\n    real_server 192.0.2.9 80 {\n    }\n}\n")
        #expect(contradiction.errors.map(\.short) == ["3:15: error: 'ip_family' inet6 contradicts the IPv4 address of this virtual_server"])
    }

    @Test func portlessServiceNeedsPersistence() {
        let result = parse("virtual_server 192.0.2.1 {\n    protocol TCP\n    real_server 10.0.0.1 {\n    }\n}\nvirtual_server 192.0.2.2 {\n    protocol TCP\n    persistence_timeout 600\n    real_server 10.0.0.1 {\n    }\n}\n")
        #expect(result.errors.map(\.short) == [
            "1:1: error: virtual_server 192.0.2.1 0 has no port; a port may only be left out of a persistent service (persistence_timeout)",
        ])
    }
}
