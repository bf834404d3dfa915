// Forms met in keepalived 2.2.7's doc/samples that directord reads (or refuses by name), each in its own words.
import DirectorConfig
import Testing

struct KeepalivedSampleFormTests {
    @Test func routeTypesBeforeTheDestination() throws {
        let config = try #require(valid(instance(extra: """
                virtual_routes {
                    blackhole 192.0.2.0/24
                    unreachable 198.51.100.0/24 table 7
                    prohibit 203.0.113.0/24 metric 5
                    throw 10.0.0.0/8
                    to 10.1.0.0/16 via 192.0.2.1
                }
            """)))
        let routes = try #require(config.vrrpInstances.first?.virtualRoutes)
        #expect(routes.map(\.type) == [.blackhole, .unreachable, .prohibit, .throw, .unicast])
        #expect(routes[1].table == 7 && routes[2].metric == 5)
        #expect(routes[0].destination.description == "192.0.2.0/24")
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
        let statics = try #require(valid("static_routes {\n    blackhole 192.0.2.0/24 table 9\n}\n"))
        #expect(statics.staticNetwork.routes.first?.type == .blackhole)
    }

    @Test func netNamespaceAtTheTopOrInGlobalDefs() throws {
        #expect(valid("net_namespace blue\n")?.globals.netNamespace == "blue")
        let config = try #require(valid("global_defs {\n    net_namespace blue\n}\nnet_namespace blue\n"))
        #expect(config.globals.netNamespace == "blue")
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test(arguments: [
        ("static_routes {\n    blackhole 192.0.2.0/24 via 10.0.0.1\n}\n",
         "2:5: error: a blackhole route has no gateway and no device (the kernel refuses them)"),
        ("static_routes {\n    blackhole\n}\n", "2:5: error: 'blackhole' needs a destination"),
        ("static_routes {\n    192.0.2.0/24 via 10.0.0.1 dev eth0 encap mpls 100\n}\n",
         "2:40: error: route option 'encap' is not supported: lightweight tunnel encapsulation is not implemented"),
        ("static_routes {\n    192.0.2.0/24 nexthop via 10.0.0.1 realms 4\n}\n",
         "2:39: error: next hop option 'realms' is not supported: route realms are not implemented"),
        ("net_namespace blue/x\n", "1:15: error: net_namespace 'blue/x' is not a namespace name (one file name under /run/netns, as 'ip netns add' makes it)"),
        ("net_namespace blue\nglobal_defs {\n    net_namespace green\n}\n",
         "3:19: error: net_namespace is given twice ('blue', then 'green'); directord runs in one namespace"),
    ])
    func refused(_ text: String, _ expected: String) {
        let result = parse(text)
        #expect(result.configuration == nil)
        #expect(result.errors.first?.short == expected, "\(result.errors.map(\.short))")
    }
}

struct BareSyncGroupMemberTests {
    @Test func bareNamesAreRefusedWithTheGroupForm() {
        let result = parse("vrrp_sync_group VG1 {\n  VI_1\n  VI_2\n}\n")
        #expect(result.errors.map(\.short) == [
            "2:3: error: vrrp_sync_group 'VG1': 'VI_1 VI_2' must be inside 'group { VI_1 VI_2 }'; keepalived 2.2.7 ignores bare names and runs the instances unsynced",
            "2:3: error: vrrp_sync_group 'VG1' names vrrp_instance 'VI_1', which is not defined",
            "3:3: error: vrrp_sync_group 'VG1' names vrrp_instance 'VI_2', which is not defined",
        ])
        // A near-miss of a keyword stays a near-miss.
        #expect(parse("vrrp_sync_group VG1 {\n  grop {\n  }\n}\n").errors.first?.message.contains("group") == true)
    }
}

struct TrackProcessConfigTests {
    @Test func blockForms() throws {
        let config = try #require(valid("""
            vrrp_track_process chk_haproxy {
                process haproxy
                weight 10 reverse
                quorum 2
                quorum_max 4
                delay 1.5
            }
            vrrp_track_process nginx {
                process /usr/sbin/nginx -g "daemon off;"
                param_match partial
                fork_delay 0.5
            }
            vrrp_track_process none {
                process sshd
                quorum_max 0
            }

            """))
        #expect(config.trackProcesses == [
            TrackProcess(name: "chk_haproxy", process: "haproxy", weight: 10, reverse: true, quorum: 2, quorumMax: 4,
                         forkDelay: .milliseconds(1500), terminateDelay: .milliseconds(1500)),
            TrackProcess(name: "nginx", process: "/usr/sbin/nginx", parameters: ["-g", "daemon off;"], parameterMatch: .partial,
                         fullCommand: true, forkDelay: .milliseconds(500)),
            TrackProcess(name: "none", process: "sshd", quorum: 0, quorumMax: 0),
        ])
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test(arguments: [
        ("vrrp_track_process p {\n    weight 2\n}\n", "1:20: error: vrrp_track_process p has no 'process'"),
        ("vrrp_track_process p {\n    process x\n    quorum 5\n    quorum_max 2\n}\n", "1:20: error: vrrp_track_process p: quorum 5 is above quorum_max 2, so it is never met"),
        ("vrrp_track_process p {\n    process x\n}\nvrrp_track_process p {\n    process y\n}\n", "4:20: error: vrrp_track_process p is defined twice"),
    ])
    func refused(_ text: String, _ expected: String) {
        #expect(parse(text).errors.first?.short == expected, "\(parse(text).errors.map(\.short))")
    }
}
