// keepalived's defaults, and inheritance from virtual server to real server to checker.
import DirectorConfig
import Foundation
import Testing

struct DefaultsTests {
    @Test func instanceDefaults() throws {
        let config = try #require(valid(instance()))
        let i = try #require(config.vrrpInstances.first)
        #expect(i.initialState == .backup)
        #expect(i.priority == 100)
        #expect(i.advertInterval == .seconds(1))
        #expect(i.version == .v2)
        #expect(i.preempt)
        #expect(i.preemptDelay == .zero)
        #expect(i.garp == GARPSettings(masterDelay: .seconds(5), masterRepeat: 5, masterRefresh: .zero))
        #expect(i.authentication == nil)
    }

    @Test func globalDefaultsAndDirectordSettings() throws {
        let plain = try #require(valid(""))
        #expect(plain.globals.controlSocket == "/run/directord/directord.sock")
        #expect(plain.globals.driftCheckInterval == .seconds(5))
        #expect(plain.globals.metricsListen == nil)
        #expect(plain.globals.lvsFlushOnStop == .off)

        let config = try #require(valid("""
            global_defs {
                router_id LB1
                lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 239.1.2.3
                vrrp_garp_master_delay 2
                vrrp_garp_master_repeat 3
                vrrp_garp_master_refresh 60
                vrrp_version 3
                script_user nobody nogroup
                enable_script_security
                lvs_flush
                lvs_flush_on_stop VS
                control_socket /run/directord/b.sock
                drift_check_interval 0.5
                metrics_listen ::1 9100
            }
            """ + instance(extra: "    garp_master_repeat 9")))
        let g = config.globals
        #expect(g.routerID == "LB1")
        #expect(g.syncDaemon == LVSSyncDaemon(interface: "eth1", instance: "VI_1", syncID: 7, maxLength: 1400, port: 8849, ttl: 2, group: .v4(IPv4Address(239, 1, 2, 3))))
        #expect(g.garp == GARPSettings(masterDelay: .seconds(2), masterRepeat: 3, masterRefresh: .seconds(60)))
        #expect(g.vrrpVersion == .v3)
        #expect(g.scriptUser == ScriptUser(user: "nobody", group: "nogroup"))
        #expect(g.enableScriptSecurity && g.lvsFlush)
        #expect(g.lvsFlushOnStop == .virtualServers)
        #expect(g.controlSocket == "/run/directord/b.sock")
        #expect(g.driftCheckInterval == .milliseconds(500))
        #expect(g.metricsListen?.description == "[::1]:9100")
        // Instances inherit the global version and GARP settings, overriding per keyword.
        #expect(config.vrrpInstances[0].version == .v3)
        #expect(config.vrrpInstances[0].garp == GARPSettings(masterDelay: .seconds(2), masterRepeat: 9, masterRefresh: .seconds(60)))
    }

    @Test func syncDaemonFormsAndDefaults() throws {
        let bare = try #require(valid("global_defs {\n lvs_sync_daemon eth0\n}\n"))
        #expect(bare.globals.syncDaemon == LVSSyncDaemon(interface: "eth0"))
        #expect(bare.globals.syncDaemon?.port == 8848)
        #expect(bare.globals.syncDaemon?.group == .v4(IPv4Address(224, 0, 0, 81)))
        let inst = try #require(valid("global_defs {\n lvs_sync_daemon eth0 inst VI_1 port 9000\n}\n" + instance(vrid: 42)))
        #expect(inst.effectiveSyncDaemon == LVSSyncDaemon(interface: "eth0", instance: "VI_1", syncID: 42, port: 9000))
    }

    @Test func virtualServerRealAndCheckerDefaults() throws {
        let result = parse("""
            virtual_server 192.0.2.1 80 {
                real_server 10.0.0.1 80 {
                    TCP_CHECK {
                    }
                    HTTP_GET {
                        url {
                            path /
                        }
                    }
                }
            }
            """)
        #expect(result.diagnostics.map(\.short) == [
            "1:1: warning: virtual_server 192.0.2.1 80 has no 'protocol'; it is UDP, as in keepalived 2.2 (write 'protocol TCP' for a TCP service)",
            "1:1: warning: NAT virtual_server 192.0.2.1 80 has no VRRP-managed gateway address for its real servers: replies must be routed back through this director (its address must be their default gateway); directord turns on net.ipv4.ip_forward, which keepalived leaves to the operator",
        ])
        let vs = try #require(result.configuration?.virtualServers.first)
        #expect(vs.protocolType == .udp)
        #expect(vs.scheduler == .wlc)
        #expect(vs.forwarding == .nat)
        #expect(vs.persistenceTimeout == nil)
        #expect(vs.quorum == 1 && vs.hysteresis == 0)
        #expect(!vs.alpha && !vs.omega)
        let real = vs.realServers[0]
        #expect(real.weight == 1)
        #expect(real.forwarding == .nat)
        #expect(!real.inhibitOnFailure)
        let tcp = real.checks[0]
        #expect(tcp.kind == .tcp)
        #expect(tcp.connectIP == .v4(IPv4Address(10, 0, 0, 1)) && tcp.connectPort == 80)
        #expect(tcp.delayLoop == .seconds(60))
        #expect(tcp.connectTimeout == .seconds(5))
        #expect(tcp.retry == 1)
        #expect(tcp.delayBeforeRetry == .seconds(1))
        #expect(tcp.warmup == .seconds(60))
        let http = real.checks[1]
        #expect(http.delayBeforeRetry == .seconds(3))
        #expect(http.httpProtocol == .http10)
        #expect(http.urls == [URLCheck(path: "/", digest: nil, statusCodes: [200...299])])
    }

    @Test func inheritanceFromVirtualServerToRealToChecker() throws {
        let config = try #require(valid("""
            vrrp_instance GW { 
                interface eth1
                virtual_router_id 2
                virtual_ipaddress {
                    10.0.0.254/24
                }
            }
            virtual_server 192.0.2.1 443 {
                protocol TCP
                lb_kind DR
                delay_loop 10
                connect_timeout 2.5
                retry 4
                inhibit_on_failure
                alpha
                virtualhost www.example.org
                persistence_timeout
                real_server 10.0.0.1 443 {
                    delay_loop 20
                    SSL_GET {
                        retry 2
                        enable_sni
                        url {
                            path /health
                            status_code 200 301-302
                        }
                    }
                }
                real_server 10.0.0.2 {
                    lb_kind NAT
                    inhibit_on_failure off
                    weight 5
                    TCP_CHECK {
                        connect_port 8443
                        warmup 0
                    }
                }
            }
            """))
        let vs = try #require(config.virtualServers.first)
        #expect(vs.persistenceTimeout == 360)
        #expect(vs.alpha)
        let ssl = vs.realServers[0].checks[0]
        #expect(ssl.delayLoop == .seconds(20))
        #expect(ssl.connectTimeout == .milliseconds(2500))
        #expect(ssl.retry == 2)
        #expect(ssl.virtualhost == "www.example.org")
        #expect(ssl.enableSNI)
        #expect(ssl.alpha)
        #expect(ssl.urls[0].statusCodes == [200...200, 301...302])
        #expect(vs.realServers[0].inhibitOnFailure)
        #expect(vs.realServers[0].forwarding == .dr)
        let second = vs.realServers[1]
        #expect(second.endpoint.port == 443)
        #expect(second.forwarding == .nat)
        #expect(!second.inhibitOnFailure)
        #expect(second.weight == 5)
        #expect(second.checks[0].connectPort == 8443)
        #expect(second.checks[0].delayLoop == .seconds(10))
        #expect(second.checks[0].warmup == .zero)
        #expect(second.checks[0].retry == 4)
    }

    /// keepalived reads a real server's port 0 as no port: the service's, or none on a fwmark (a public config
    /// wrote `real_server 172.16.70.51 0` under `virtual_server fwmark 1`).
    @Test func realServerPortZeroIsNoPortAsInKeepalived() throws {
        let text = """
            virtual_server fwmark 1 {
                lb_kind DR
                real_server 10.0.0.1 0 { }
                real_server 10.0.0.2 { }
                sorry_server 10.0.0.9 0
            }
            virtual_server 192.0.2.1 80 {
                protocol TCP
                lb_kind NAT
                real_server 10.0.0.3 0 { }
            }
            """
        let result = ConfigurationLoader.parse(text)
        #expect(result.errors.isEmpty, "\(result.errors)")
        let servers = try #require(result.configuration?.virtualServers)
        #expect(servers[0].realServers.map(\.endpoint.port) == [0, 0])
        #expect(servers[0].sorryServer?.endpoint.port == 0)
        #expect(servers[1].realServers.map(\.endpoint.port) == [80])
        #expect(ConfigurationLoader.parse(text.replacingOccurrences(of: "10.0.0.3 0", with: "10.0.0.3 65536")).errors.map(\.description)
                    == ["directord.conf:10:26: error: real server port must be in 0..65535, not 65536"])
    }

    /// keepalived keeps the first lvs_sync_daemon of global_defs and ignores the others (a public configuration
    /// names three instances on three lines).
    @Test func theFirstLvsSyncDaemonWins() throws {
        let result = ConfigurationLoader.parse("""
            global_defs {
                lvs_sync_daemon bond0 BAL_1
                lvs_sync_daemon bond0 BAL_2
            }
            vrrp_instance BAL_1 {
                interface bond0
                virtual_router_id 1
                virtual_ipaddress {
                    192.0.2.1
                }
            }
            vrrp_instance BAL_2 {
                interface bond0
                virtual_router_id 2
                virtual_ipaddress {
                    192.0.2.2
                }
            }
            """)
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.configuration?.globals.syncDaemon?.instance == "BAL_1")
        #expect(result.warnings.map(\.description).contains(
            "directord.conf:3:5: warning: 'lvs_sync_daemon' is already set to bond0 for vrrp_instance 'BAL_1': this one is ignored, as keepalived ignores every one after the first"))
    }

    /// keepalived ignores a virtual_server without real servers ("has no real servers - ignoring"), sorry server or
    /// not: no IPVS service is made, so the address is not turned into a black hole (a public configuration
    /// declares two such services).
    @Test func aVirtualServerWithoutRealServersIsIgnoredWithAWarning() throws {
        let result = ConfigurationLoader.parse("""
            virtual_server 10.123.6.57 80 {
                protocol TCP
                lb_kind DR
            }
            virtual_server 10.123.6.57 443 {
                protocol TCP
                lb_kind DR
                sorry_server 10.0.0.9 443
            }
            virtual_server 10.123.6.57 8080 {
                protocol TCP
                lb_kind DR
                real_server 10.0.0.1 8080 { }
            }
            """)
        #expect(result.errors.isEmpty)
        #expect(result.configuration?.virtualServers.map(\.identity) == ["10.123.6.57 8080 TCP"])
        #expect(result.warnings.map(\.description) == [
            "directord.conf:1:1: warning: virtual_server 10.123.6.57 80 has no real_server: it is ignored (no IPVS service), as keepalived ignores it",
            "directord.conf:5:1: warning: virtual_server 10.123.6.57 443 has no real_server: it is ignored (no IPVS service), as keepalived ignores it",
        ])
    }

    @Test func everySchedulerIsAccepted() throws {
        for scheduler in Scheduler.allCases {
            let config = try #require(valid("virtual_server fwmark 1 {\n lvs_sched \(scheduler.rawValue)\n real_server 10.0.0.1 80 {\n }\n}\n"))
            #expect(config.virtualServers.first?.scheduler == scheduler)
        }
    }

    @Test func versionThreeAndIPv6Instances() throws {
        let config = try #require(valid("""
            vrrp_instance V6 {
                interface eth0
                virtual_router_id 9
                advert_int 0.05
                virtual_ipaddress {
                    2001:db8::10/64
                }
            }
            """))
        #expect(config.vrrpInstances[0].version == .v3)
        #expect(config.vrrpInstances[0].advertInterval == .milliseconds(50))
        #expect(config.vrrpInstances[0].family == .ipv6)
    }
}
