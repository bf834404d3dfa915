// MISC_CHECK, FILE_CHECK and track_file in the configuration language: values, defaults, errors with places, and
// the dump round trip.
import DirectorConfig
import Testing

struct MiscFileCheckConfigTests {
    static let text = """
        track_file maint {
            file /run/maint
            weight 2 reverse
            init_file 5 overwrite
        }
        virtual_server 10.0.0.1 80 {
            delay_loop 4
            real_server 10.0.1.1 80 {
                MISC_CHECK {
                    misc_path /usr/bin/check --port 80
                    misc_timeout 2.5
                    misc_dynamic
                    user nobody nogroup
                    retry 3
                }
                FILE_CHECK {
                    track_file maint
                }
                FILE_CHECK {
                    track_file maint
                    weight 0
                }
            }
        }
        """

    @Test func valuesAndKeepalivedsDefaults() throws {
        let config = try #require(valid(Self.text))
        #expect(config.trackFiles == [TrackFile(name: "maint", path: "/run/maint", weight: 2, reverse: true,
                                                initFile: TrackFile.InitFile(value: 5, overwrite: true))])
        let checks = try #require(config.virtualServers.first?.realServers.first?.checks)
        #expect(checks.map(\.kind) == [.misc, .file, .file])
        let misc = checks[0]
        #expect(misc.misc == MiscCheckConfig(command: "/usr/bin/check --port 80", timeout: .milliseconds(2500), dynamic: true,
                                             user: ScriptUser(user: "nobody", group: "nogroup")))
        #expect(misc.retry == 3 && misc.delayLoop == .seconds(4) && misc.delayBeforeRetry == .seconds(1))
        #expect(checks[1].file == FileCheckConfig(trackFile: "maint", path: "/run/maint", weight: 2, reverse: true),
                "without its own weight a FILE_CHECK takes the track_file's")
        #expect(checks[2].file == FileCheckConfig(trackFile: "maint", path: "/run/maint", weight: 0, reverse: false))
        #expect(checks[1].retry == 0 && checks[1].delayLoop == .seconds(4))
    }

    @Test func miscRetryDefaultsToZeroAsKeepalived() throws {
        let config = try #require(valid("""
            virtual_server 10.0.0.1 80 {
                real_server 10.0.1.1 80 {
                    MISC_CHECK {
                        misc_path "/bin/true"
                    }
                }
            }
            """))
        let check = try #require(config.virtualServers.first?.realServers.first?.checks.first)
        #expect(check.retry == 0 && check.misc?.timeout == nil && check.misc?.dynamic == false)
    }

    @Test func theDumpRoundTrips() throws {
        let config = try #require(valid(Self.text))
        let dumped = ConfigurationWriter.render(config)
        let again = ConfigurationLoader.parse(dumped)
        #expect(again.errors.isEmpty, "\(again.errors)\n\(dumped)")
        #expect(again.configuration == config, "\(dumped)")
    }

    @Test func errorsNameThePlace() {
        let misc = parse("""
            virtual_server 10.0.0.1 80 {
                real_server 10.0.1.1 80 {
                    MISC_CHECK {
                        connect_ip 10.0.1.2
                    }
                }
            }
            track_file t {
                weight 300
            }
            """)
        #expect(misc.errors.map(\.short) == [
            "3:9: error: MISC_CHECK of real_server 10.0.1.1:80 has no 'misc_path'",
            "4:13: error: 'connect_ip' is not valid in MISC_CHECK; it belongs in HTTP_GET or SSL_GET or TCP_CHECK or SMTP_CHECK or SMTP_CHECK host or DNS_CHECK or UDP_CHECK or PING_CHECK",
            "8:12: error: track_file t has no 'file'",
            "9:12: error: track_file 'weight' must be in -254..254, not 300",
        ])
        let file = parse("""
            virtual_server 10.0.0.1 80 {
                real_server 10.0.1.1 80 {
                    FILE_CHECK {
                        track_file nosuch
                    }
                }
            }
            """)
        #expect(file.errors.map(\.short) == ["4:24: error: FILE_CHECK of real_server 10.0.1.1:80: no track_file named 'nosuch'"])
        let unnamed = parse("""
            virtual_server 10.0.0.1 80 {
                real_server 10.0.1.2 80 {
                    FILE_CHECK {
                        weight 1
                    }
                }
            }
            """)
        #expect(unnamed.errors.map(\.short) == ["3:9: error: FILE_CHECK of real_server 10.0.1.2:80 has no 'track_file'"])
    }

    @Test func trackFileInAVRRPInstanceNamesADefinedTrackFile() throws {
        let result = parse("""
            vrrp_instance VI {
                interface eth0
                virtual_router_id 1
                priority 100
                virtual_ipaddress {
                    10.0.0.1
                }
                track_file {
                    maint
                }
            }
            """)
        #expect(result.errors.map(\.short) == ["9:9: error: track_file names track_file 'maint', which is not defined"])
        let defined = parse("""
            track_file maint {
                file /run/maint
                weight -5
            }
            vrrp_sync_group G {
                group {
                    VI
                }
                track_file {
                    maint weight 0 reverse
                }
            }
            vrrp_instance VI {
                interface eth0
                virtual_router_id 1
                virtual_ipaddress {
                    10.0.0.1
                }
                track_file {
                    maint
                    maint weight 300
                }
            }
            """)
        #expect(defined.errors.map(\.short) == ["21:22: error: 'weight' must be in -254..254, not 300"])
        let fixed = try #require(parse("""
            track_file maint {
                file /run/maint
                weight -5
            }
            vrrp_sync_group G {
                group {
                    VI
                }
                track_file {
                    maint weight 0 reverse
                }
            }
            vrrp_instance VI {
                interface eth0
                virtual_router_id 1
                virtual_ipaddress {
                    10.0.0.1
                }
                track_file {
                    maint
                }
            }
            """).configuration)
        #expect(fixed.syncGroups.first?.trackFiles == [TrackedFile(name: "maint", weight: 0, reverse: true)])
        // A member's own track_file keeps keepalived's rule: weight 0 in a sync group (the track_file's -5 is dropped).
        #expect(fixed.vrrpInstance(named: "VI")?.trackFiles.map(\.weight) == [0])
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(fixed)).configuration == fixed)
    }
}
