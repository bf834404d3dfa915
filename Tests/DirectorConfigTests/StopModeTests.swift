import Testing

@testable import DirectorConfig

@Suite struct StopModeTests {
    func stopMode(_ globals: String) throws -> LVSFlushOnStop {
        let result = ConfigurationLoader.parse("global_defs {\n\(globals)\n}\n")
        #expect(result.errors.isEmpty, "\(result.errors)")
        return try #require(result.configuration).globals.lvsFlushOnStop
    }

    @Test func keepFlushAndVSModes() throws {
        #expect(try stopMode("") == .off)
        #expect(try stopMode("lvs_flush_on_stop") == .all)
        #expect(try stopMode("lvs_flush_on_stop VS") == .virtualServers)
        #expect(try stopMode("lvs_keep_on_stop") == .keep)
        // The last one given wins, as the man page says.
        #expect(try stopMode("lvs_keep_on_stop\nlvs_flush_on_stop") == .all)
        #expect(try stopMode("lvs_flush_on_stop VS\nlvs_keep_on_stop") == .keep)
    }

    @Test func keepSurvivesTheDump() throws {
        let first = try #require(ConfigurationLoader.parse("global_defs {\nlvs_keep_on_stop\n}\n").configuration)
        let dumped = ConfigurationWriter.render(first)
        #expect(dumped.contains("lvs_keep_on_stop"))
        #expect(ConfigurationLoader.parse(dumped).configuration == first)
    }

    @Test func keepTakesNoArgument() {
        // keepalived ignores a value after the flag: "yes" is read as the flag with a warning, "no" is refused.
        let yes = ConfigurationLoader.parse("global_defs {\n    lvs_keep_on_stop yes\n}\n")
        #expect(yes.errors.isEmpty && yes.warnings.map(\.location.line) == [2])
        #expect(yes.configuration?.globals.lvsFlushOnStop == .keep)
        let result = ConfigurationLoader.parse("global_defs {\n    lvs_keep_on_stop no\n}\n")
        #expect(result.errors.map(\.location.line) == [2])
    }
}
