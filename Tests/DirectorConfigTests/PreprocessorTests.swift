// keepalived's line-level language: @ID conditionals, $NAME definitions and substitution, multi-line
// definitions, ~SEQ, and the bounds that keep hostile input from hanging or growing without end.
import DirectorConfig
import Testing

struct PreprocessorTests {
    private func addresses(_ result: LoadResult, _ name: String = "VI_1") -> [String] {
        result.configuration?.vrrpInstance(named: name)?.virtualAddresses.map(\.prefix.description) ?? []
    }

    // MARK: - Conditionals

    @Test func conditionalLinesFollowTheConfigID() {
        let text = """
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 7
                @main priority 200
                @backup priority 100
                @^main advert_int 3
                virtual_ipaddress {
                    192.0.2.1
                }
            }
            """
        let main = parse(text, configID: "main")
        #expect(main.errors.isEmpty)
        #expect(main.configuration?.vrrpInstance(named: "VI_1")?.priority == 200)
        #expect(main.configuration?.vrrpInstance(named: "VI_1")?.advertInterval == .seconds(1))
        let backup = parse(text, configID: "backup")
        #expect(backup.configuration?.vrrpInstance(named: "VI_1")?.priority == 100)
        #expect(backup.configuration?.vrrpInstance(named: "VI_1")?.advertInterval == .seconds(3))
        let other = parse(text, configID: "other")
        #expect(other.configuration?.vrrpInstance(named: "VI_1")?.priority == 100, "no priority line applies: the default")
    }

    @Test func aConditionalWithNothingAfterTheIDIsIgnoredWithAWarning() {
        let result = parse(instance(extra: "    @main\n"))
        #expect(result.errors.isEmpty)
        #expect(result.warnings.map(\.short) == ["7:5: warning: conditional line '@main' has nothing after the config id; keepalived ignores it"])
    }

    @Test func aConditionalLineKeepsItsColumns() {
        let result = parse(instance(extra: "    @main priorty 200\n"))
        #expect(result.errors.map(\.place) == ["7:11"])
    }

    @Test func theDefaultConfigIDIsTheHostNameUpToTheFirstDot() {
        let id = ConfigurationLoader.defaultConfigID()
        #expect(!id.contains("."))
        #expect(ConfigurationLoader().configID == id)
    }

    // MARK: - Definitions

    @Test func definitionsAreSubstitutedWithAndWithoutBraces() {
        let result = parse("""
            $VIP=192.0.2.1
            $NET=192.0.2
            @main $PRIORITY=240
            @^main $PRIORITY=200
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 7
                priority $PRIORITY
                virtual_ipaddress {
                    $VIP
                    ${NET}.2/24
                }
            }
            """)
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(result.configuration?.vrrpInstance(named: "VI_1")?.priority == 240)
        #expect(addresses(result) == ["192.0.2.1/32", "192.0.2.2/24"])
    }

    @Test func substitutionHappensAtUseSoLaterDefinitionsCount() {
        let result = parse("""
            $BASE=192.0.${SUB}
            $SUB=2
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 7
                virtual_ipaddress {
                    ${BASE}.1
            $SUB=3
                    ${BASE}.1
                }
            }
            """)
        #expect(addresses(result) == ["192.0.2.1/32", "192.0.3.1/32"])
    }

    @Test func aSubstitutedWordPointsAtItsReference() {
        let result = parse("""
            $VIP=not-an-address
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 7
                virtual_ipaddress {
                    192.0.2.1 $VIP
                }
            }
            """)
        #expect(result.errors.map(\.place) == ["6:19"])
    }

    @Test func anUndefinedNameStaysAsWrittenAndANearMissIsRefused() {
        // `$HOME` in a script is the shell's: keepalived leaves undefined names alone.
        let script = parse("""
            vrrp_script chk {
                script "/bin/sh -c 'test -d $HOME'"
            }
            """)
        #expect(script.errors.isEmpty)
        #expect(script.configuration?.vrrpScripts.first?.command == "/bin/sh -c 'test -d $HOME'")
        let typo = parse("$VIP=192.0.2.1\n" + instance(extra: "    virtual_ipaddress_excluded {\n        $VIPP\n    }\n"))
        #expect(typo.errors.map(\.short) == [
            "9:9: error: $VIPP is not defined (keepalived would keep '$VIPP' as it is written); did you mean $VIP?",
        ])
    }

    @Test func aReferenceGluedToTextNeedsBraces() {
        let result = parse("$VIP=192.0.2.1\n" + instance(extra: "    virtual_ipaddress_excluded {\n        $VIP/24\n    }\n"))
        #expect(result.errors.map(\.short) == [
            "9:9: error: keepalived substitutes $VIP only before a blank, ',' or ')' or at the end of the line, and would keep '$VIP/' as it is written; write ${VIP}",
        ])
    }

    @Test func aBlankBeforeTheEqualsSignIsNotADefinition() {
        let result = parse("$VIP = 192.0.2.1\n")
        #expect(result.errors.first?.place == "1:1")
    }

    @Test func predefinedNames() {
        let result = parse("""
            vrrp_script chk {
                script "/bin/echo ${_INSTANCE} ${_HASH}${_BANG} ${_PWD}"
            }
            """, configID: "lb1")
        #expect(result.configuration?.vrrpScripts.first?.command == "/bin/echo lb1 #! .")
    }

    @Test func randomIsWithinItsBoundsAndWarns() {
        let result = parse(instance(extra: "    priority ${_RANDOM 10 20}\n"))
        let priority = Int(result.configuration?.vrrpInstance(named: "VI_1")?.priority ?? 0)
        #expect((10...20).contains(priority))
        #expect(result.warnings.count == 1)
    }

    // MARK: - Multi-line definitions

    @Test func multiLineDefinitionsExpandInPlaceAndNest() throws {
        let result = parse("""
            $RS= \\
            real_server 10.0.0.${RS_NUM} 80 { \\
                weight 2 \\
            }
            $VS= \\
            virtual_server 192.0.2.${VS_NUM} 80 { \\
                lb_kind NAT \\
                $RS_NUM=1 \\
                $RS \\
                $RS_NUM=2 \\
                $RS \\
            }

            $VS_NUM=1
            $VS
            $VS_NUM=2
            $VS
            """)
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        let servers = try #require(result.configuration?.virtualServers)
        #expect(servers.map { "\($0.key)" } == ["192.0.2.1 80", "192.0.2.2 80"])
        #expect(servers.map { $0.realServers.map(\.endpoint.description) } == [["10.0.0.1:80", "10.0.0.2:80"], ["10.0.0.1:80", "10.0.0.2:80"]])
    }

    @Test func anEmptyLineEndsAMultiLineDefinitionAndCommentsInsideAreSkipped() {
        let result = parse("""
            $ADDRS=192.0.2.1 \\
            # a comment inside the definition
            192.0.2.2 \\

            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 7
                virtual_ipaddress {
                    $ADDRS
                }
            }
            """)
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(addresses(result) == ["192.0.2.1/32", "192.0.2.2/32"])
    }

    @Test func aMultiLineDefinitionMustEndItsLine() {
        let result = parse("$A=x \\\ny\n" + instance(extra: "    priority $A 1\n"))
        #expect(result.errors.map(\.place) == ["9:14"])
    }

    @Test func aDefinitionOpenAtTheEndOfAFileIsRefused() {
        let result = parse("include inc.conf\n" + instance(), files: ["inc.conf": "$A=1 \\\n  2 \\\n"])
        #expect(result.errors.map(\.description) == [
            "inc.conf:1:1: error: the definition of $A still continues ('\\' at the end of its last line) at the end of 'inc.conf'; end it with a line that has no '\\'",
        ])
    }

    @Test func aBackslashOutsideADefinitionIsRefused() {
        let result = parse(instance(extra: "    priority 100 \\\n"))
        #expect(result.errors.map(\.short) == [
            "7:18: error: a line ending with '\\' continues only inside a $NAME= definition; keepalived would read the '\\' as part of the last word here",
        ])
    }

    @Test func definitionsInAnIncludedFileAreSeenAfterTheInclude() {
        let result = parse("""
            include defs.conf
            vrrp_instance VI_1 {
                interface $IF
                virtual_router_id 7
                virtual_ipaddress {
                    $VIP
                }
            }
            """, files: ["defs.conf": "$VIP=192.0.2.9\n@main $IF=eth1\n@^main $IF=eth2\n"])
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(result.configuration?.vrrpInstance(named: "VI_1")?.interface == "eth1")
        #expect(addresses(result) == ["192.0.2.9/32"])
    }

    @Test func aConditionalCanComeFromADefinition() {
        let result = parse("$IF_MAIN=@main\n" + instance(extra: "    $IF_MAIN priority 240\n"))
        #expect(result.configuration?.vrrpInstance(named: "VI_1")?.priority == 240)
        let other = parse("$IF_MAIN=@main\n" + instance(extra: "    $IF_MAIN priority 240\n"), configID: "backup")
        #expect(other.configuration?.vrrpInstance(named: "VI_1")?.priority == 100)
    }

    // MARK: - ~SEQ

    @Test func sequencesRepeatTheRestOfTheLine() {
        let result = parse("""
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 7
                virtual_ipaddress {
                    ~SEQ(N, 0, 2) 10.0.${N}.1
                    ~SEQx(H, 0x10, 0x1, 0x11) 10.0.0.${H}
                    ~SEQ(I, 2) ~SEQ(J, 5, -2, 3) 10.${I}.${J}.0/24
                }
            }
            """)
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(addresses(result) == [
            "10.0.0.1/32", "10.0.1.1/32", "10.0.2.1/32", "10.0.0.10/32", "10.0.0.11/32",
            "10.1.5.0/24", "10.1.3.0/24", "10.2.5.0/24", "10.2.3.0/24",
        ])
    }

    @Test func invalidSequencesAreRefused() {
        let result = parse(instance(extra: "    ~SEQ(N, 1, -1, 3) priority $N\n    ~SEQ N 3 x\n    ~SEQx(N, -1, 3) x\n    ~LST(N, 1) x\n"))
        #expect(result.errors.map(\.place) == ["7:5", "8:5", "9:5", "10:5"])
    }

    // MARK: - Hostile input

    @Test func aDefinitionThatUsesItselfStops() {
        let result = parse("$A=x$A\n$B=$B\n" + instance(extra: "    priority $A\n    priority ${B}\n"))
        #expect(result.errors.count == 2)
        #expect(result.errors.allSatisfy { $0.message.contains("does not end") })
    }

    @Test func aHugeSequenceIsRefusedAtOnce() {
        let result = parse(instance(extra: "    ~SEQ(N, 0, 9223372036854775807) x\n    ~SEQ(M, 1, 1000000) y\n"))
        #expect(result.errors.map(\.place) == ["7:5"])
        #expect(result.errors.first?.message.contains("too many") == true)
    }

    @Test func nestedSequencesStopAtTheLimit() {
        var limits = ParseLimits()
        limits.maximumExpandedLines = 1_000
        let result = parse("~SEQ(A, 100) ~SEQ(B, 100) ~SEQ(C, 100) $X=1\n", limits: limits)
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.message.contains("at most 1000") == true)
    }

    @Test func aLongValueRepeatedByASequenceStopsAtTheTextLimit() {
        var limits = ParseLimits()
        limits.maximumExpandedBytes = 100_000
        let result = parse("$A=" + String(repeating: "x", count: 1_000) + "\n~SEQ(N, 1000) $A\n", limits: limits)
        #expect(result.errors.filter { $0.message.contains("bytes of text") }.map(\.place) == ["2:15"])
    }

    @Test func multiLineDefinitionsThatExpandThemselvesStop() {
        let result = parse("$A= \\\nx \\\n$A\n$A\n")
        #expect(result.errors.filter { $0.message.contains("nest deeper") }.count == 1)
    }
}
