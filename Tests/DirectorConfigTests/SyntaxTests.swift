// The language: braces, comments, quotes, includes, and how unknown keywords are reported.
import DirectorConfig
import Testing

struct SyntaxTests {
    @Test func bracesOnTheNextLineAttachedOrOnOneLine() throws {
        let config = try #require(valid("""
            vrrp_instance VI_1{
                interface eth0
                virtual_router_id 7
                virtual_ipaddress
                {
                    192.0.2.1 }
                track_interface

                {
                    eth1 weight -10
                }
            }
            vrrp_sync_group G { group { VI_1 } }
            """))
        let instance = try #require(config.vrrpInstance(named: "VI_1"))
        #expect(instance.virtualAddresses.map(\.prefix.description) == ["192.0.2.1/32"])
        #expect(instance.trackInterfaces == [TrackedInterface(name: "eth1", weight: -10)])
        #expect(config.syncGroups.first?.members.map(\.name) == ["VI_1"])
    }

    @Test func commentsWithHashAndBangAnywhere() throws {
        let config = try #require(valid("""
            ! Configuration File for keepalived
            # a comment
            vrrp_instance VI_1 { # trailing
                interface eth0   !trailing too
                virtual_router_id 7#glued
                priority 101 #101为“主”
                virtual_ipaddress {
                    192.0.2.1
                }
            }
            """))
        #expect(config.vrrpInstance(named: "VI_1")?.priority == 101)
        #expect(config.vrrpInstance(named: "VI_1")?.virtualRouterID == 7)
    }

    @Test func quotesEscapesAndConcatenation() throws {
        let config = try #require(valid("""
            vrrp_script a { script "/bin/check \\"x y\\" # not a comment" }
            vrrp_script b { script '/bin/check {a}' }
            vrrp_script c { script /bin/check arg1 arg2 }
            vrrp_script d { script "/bin/"check"" }
            """))
        #expect(config.vrrpScript(named: "a")?.command == "/bin/check \"x y\" # not a comment")
        #expect(config.vrrpScript(named: "b")?.command == "/bin/check {a}")
        #expect(config.vrrpScript(named: "c")?.command == "/bin/check arg1 arg2")
        #expect(config.vrrpScript(named: "d")?.command == "/bin/check")
    }

    @Test func typographicQuotesWarnWithTheirLine() {
        let result = parse("""
            vrrp_script s {
                script “/bin/true x”
            }
            """)
        #expect(result.diagnostics.map(\.short) == ["2:12: warning: typographic quotes (\u{201C} \u{201D}) read as plain quotes; write \" instead"])
        #expect(result.configuration?.vrrpScript(named: "s")?.command == "/bin/true x")
    }

    /// A public configuration indents its TCP_CHECK lines with U+00A0: keepalived ignores them as unknown
    /// keywords (its defaults then apply), so each such line is read with a warning that says so.
    @Test func nonBreakingSpacesWarnOncePerLine() {
        let result = parse("""
            virtual_server 192.0.2.1 3306 {
                protocol TCP
                lb_kind DR
                real_server 10.0.0.1 3306 {
                    TCP_CHECK {
            \u{A0}\u{A0}\u{A0}\u{A0}connect_timeout\u{A0}10
                        connect_port 3307
                    }
                }
            }
            """)
        #expect(result.diagnostics.map(\.short) == [
            "6:1: warning: non-breaking space (U+00A0, as pasted from a web page) read as a space; keepalived reads it as part of a word and ignores this line as an unknown keyword: write a plain space",
        ])
        #expect(result.configuration?.virtualServers.first?.realServers.first?.checks.first?.connectTimeout == .seconds(10))
    }

    @Test func unterminatedQuoteIsAnErrorAtTheQuote() {
        let result = parse("""
            vrrp_script s {
                script "/bin/true
            }
            """)
        #expect(result.errors.map(\.short) == ["2:12: error: unterminated quoted string: the closing '\"' is missing on this line"])
    }

    @Test func unterminatedBraceIsReportedAtItsOpening() {
        let result = parse("""
            global_defs {
                router_id a
            }
            vrrp_instance VI_1 {
                interface eth0
            """)
        // What was read is still checked, hence the missing virtual_router_id.
        #expect(result.errors.map(\.short) == [
            "4:15: error: vrrp_instance 'VI_1' has no 'virtual_router_id'",
            "4:20: error: 'vrrp_instance' block opened here is never closed: '}' missing before the end of 'main.conf' (line 5)",
        ])
        #expect(result.configuration == nil)
    }

    @Test func unmatchedClosingBraceAndBraceWithoutKeyword() {
        let result = parse("""
            global_defs {
            }
            }
            { router_id x }
            """)
        #expect(result.errors.map(\.short) == [
            "3:1: error: '}' without a matching '{'",
            "4:1: error: '{' without a keyword before it",
        ])
    }

    @Test func unknownKeywordsSuggestTheClosestOne() {
        let result = parse(instance(extra: "    priorty 100\n    virtual router_id 3\n    real_server 10.0.0.1 80 { weight 1 }") + """
            Vrrp_instance x { }
            vrrp_instance VI_2 {
                interface eth1
                virtual_router_id 9
            virtual_server 192.0.2.1 80 {
            }
            }
            """)
        #expect(result.errors.map(\.short) == [
            "7:5: error: unknown keyword 'priorty' in vrrp_instance; did you mean 'priority'?",
            "8:5: error: unknown keyword 'virtual' in vrrp_instance; did you mean 'virtual_router_id'?",
            "9:5: error: 'real_server' is not valid in vrrp_instance; it belongs in virtual_server",
            "11:1: error: unknown keyword 'Vrrp_instance' at the top level; did you mean 'vrrp_instance'?",
            "15:1: error: 'virtual_server' is only valid at the top level, not inside vrrp_instance; is a '}' missing before it?",
        ])
    }

    @Test func arityAndBlockShapeErrors() {
        let result = parse(instance(extra: "    priority 100 200\n    interface\n    nopreempt { }\n    virtual_ipaddress 1"))
        #expect(result.errors.map(\.short) == [
            "7:18: error: 'priority' takes 1 value; unexpected '200'",
            "8:5: error: 'interface' takes 1 value, got 0",
            "9:15: error: 'nopreempt' does not take a block",
            "10:23: error: 'virtual_ipaddress' takes no value; unexpected '1'",
        ])
    }

    @Test func ignoredAndUnsupportedKeywords() {
        let result = parse("""
            global_defs {
                smtp_server 192.0.2.25
                vrrp_garp_extra_if 60
            }

            """ + instance(extra: "    use_ipvlan"))
        #expect(result.diagnostics.map(\.short) == [
            "2:5: warning: 'smtp_server' is ignored: directord does not send e-mail",
            "3:5: error: 'vrrp_garp_extra_if' is not supported by directord: gratuitous ARPs on other interfaces are not implemented",
            "11:5: error: 'use_ipvlan' is not supported by directord: ipvlan interfaces are not implemented",
        ])
    }
}

struct IncludeTests {
    @Test func globsAreSortedAndRelativeToTheIncludingFile() throws {
        let files = [
            "etc/directord.conf": "include conf.d/*.conf\n",
            "etc/conf.d/20-b.conf": instance("VI_B", vrid: 2),
            "etc/conf.d/10-a.conf": instance("VI_A", vrid: 1) + "include more/x.conf\n",
            "etc/conf.d/more/x.conf": instance("VI_X", vrid: 3),
            "etc/conf.d/ignored.txt": "garbage {",
        ]
        let result = ConfigurationLoader(fileSystem: InMemoryFileSystem(files)).load(path: "etc/directord.conf")
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        #expect(result.configuration?.vrrpInstances.map(\.name) == ["VI_A", "VI_X", "VI_B"])
        #expect(result.configuration?.vrrpInstances.first?.origin.location == SourceLocation(file: "etc/conf.d/10-a.conf", line: 1, column: 15))
    }

    @Test func includeInsideABlock() throws {
        let files = [
            "main.conf": "virtual_server 192.0.2.1 80 {\n    protocol TCP\n    include reals.conf\n}\n",
            "reals.conf": "real_server 10.0.0.1 80 { weight 3 }\nreal_server 10.0.0.2 80 {\n}\n",
        ]
        let result = ConfigurationLoader(fileSystem: InMemoryFileSystem(files)).load(path: "main.conf")
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.configuration?.virtualServers.first?.realServers.map(\.weight) == [3, 1])
        #expect(result.configuration?.virtualServers.first?.realServers.last?.origin.location?.description == "reals.conf:2:1")
    }

    @Test func includeCycleIsReportedAtTheIncludeThatClosesIt() {
        let files = [
            "main.conf": "include a.conf\n",
            "a.conf": "# a\ninclude b.conf\n",
            "b.conf": "\n\n   include ./a.conf\n",
        ]
        let result = ConfigurationLoader(fileSystem: InMemoryFileSystem(files)).load(path: "main.conf")
        #expect(result.errors.map(\.description) == ["b.conf:3:12: error: include cycle: a.conf -> b.conf -> a.conf"])
    }

    @Test func selfIncludeIsACycle() {
        let result = parse("include main.conf\n")
        #expect(result.errors.map(\.description) == ["main.conf:1:9: error: include cycle: main.conf -> main.conf"])
    }

    @Test func missingIncludeIsAnErrorAndAnEmptyGlobAWarning() {
        let result = parse("global_defs {\n}\ninclude missing.conf\ninclude conf.d/*.conf\n")
        #expect(result.diagnostics.map(\.description) == [
            "main.conf:3:9: error: cannot read 'missing.conf': No such file or directory",
            "main.conf:4:9: warning: include pattern 'conf.d/*.conf' matches no file",
        ])
    }

    @Test func missingMainFile() {
        let result = ConfigurationLoader(fileSystem: InMemoryFileSystem()).load(path: "/etc/directord/directord.conf")
        #expect(result.errors.map(\.description) == ["/etc/directord/directord.conf:1:1: error: cannot read '/etc/directord/directord.conf': No such file or directory"])
    }

    @Test func includeWithABlockOrTwoArguments() {
        let result = parse("include a b\ninclude x {\n}\n")
        #expect(result.errors.map(\.short) == [
            "1:11: error: 'include' takes exactly one file name or pattern",
            "2:11: error: 'include' does not take a block",
        ])
    }
}
