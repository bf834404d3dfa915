// Inputs that must never crash, hang or allocate without bound: each is rejected at an exact place.
import DirectorConfig
import Foundation
import Testing

struct BadInputTests {
    private func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "directord-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func binaryFileStopsAtTheFirstNulByte() {
        var bytes = Array("global_defs {\n}\n".utf8)
        bytes += [0x7f, 0x45, 0x4c, 0x46] + Array("abc".utf8) + [0, 0, 1, 0xff]
        let result = ConfigurationLoader.parse(bytes: bytes, name: "a.out")
        #expect(result.errors.map(\.description) == [
            "a.out:3:1: error: binary data (control character \\x7f): this is not a configuration file; the rest of 'a.out' is not read",
        ])
    }

    @Test func nulByteColumnCountsCharacters() {
        let bytes = Array("global_defs {\n  router_id “é”".utf8) + [0] + Array("\n}\n".utf8)
        let result = ConfigurationLoader.parse(bytes: bytes)
        #expect(result.errors.map(\.short) == [
            "2:16: error: binary data (a NUL byte): this is not a configuration file; the rest of 'directord.conf' is not read",
        ])
    }

    @Test func invalidUTF8IsReportedAtItsColumn() {
        let bytes = Array("global_defs {\n  router_id ab".utf8) + [0xC3, 0x28] + Array("\n}\n".utf8)
        let result = ConfigurationLoader.parse(bytes: bytes)
        #expect(result.errors.map(\.short) == [
            "2:15: error: invalid UTF-8: this is not a configuration file; the rest of 'directord.conf' is not read",
        ])
    }

    @Test func binaryIncludedFileIsReportedInThatFile() {
        let fs = InMemoryFileSystem(bytes: [
            "main.conf": Array("include blob.conf\n".utf8),
            "blob.conf": [0x1f, 0x8b, 0x08, 0x00],
        ])
        let result = ConfigurationLoader(fileSystem: fs).load(path: "main.conf")
        #expect(result.errors.map(\.description) == [
            "blob.conf:1:1: error: binary data (control character \\x1f): this is not a configuration file; the rest of 'blob.conf' is not read",
        ])
    }

    @Test func hundredMegabyteLineOnDiskIsCutAtTheLimit() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/huge.conf"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("global_defs {\n  router_id ".utf8)))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        let block = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        for _ in 0..<100 { handle.write(block) }
        handle.write(Data("\n}\n".utf8))
        handle.closeFile()

        let start = ContinuousClock.now
        let result = ConfigurationLoader().load(path: path)
        #expect(result.errors.map(\.description) == [
            "\(path):2:65537: error: line is longer than 65536 bytes; the rest of '\(path)' is not read",
        ])
        // Reading stops at the limit instead of scanning (or buffering) the rest of the 100 MB.
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func longLineColumnCountsCharactersNotBytes() {
        var limits = ParseLimits()
        limits.maximumLineLength = 10
        let result = ConfigurationLoader.parse("# éééé\nééééééé\n", limits: limits)
        #expect(result.errors.map(\.short) == ["2:6: error: line is longer than 10 bytes; the rest of 'directord.conf' is not read"])
    }

    @Test func fileSizeLimitNamesTheLineWhereItIsCrossed() {
        var limits = ParseLimits()
        limits.maximumFileSize = 40
        let text = String(repeating: "# twenty bytes line\n", count: 5)
        let result = ConfigurationLoader.parse(text, limits: limits)
        #expect(result.errors.map(\.short) == ["3:1: error: 'directord.conf' is larger than 40 bytes; the rest is not read"])
    }

    @Test func totalSizeLimitAcrossIncludes() {
        var limits = ParseLimits()
        limits.maximumTotalSize = 30
        let fs = InMemoryFileSystem(["main.conf": "include a.conf\ninclude b.conf\n", "b.conf": "# 0123456789\n# 0123456789\n"])
        let result = ConfigurationLoader(fileSystem: fs, limits: limits).load(path: "main.conf")
        #expect(result.errors.map(\.description) == [
            "main.conf:1:9: error: cannot read 'a.conf': No such file or directory",
            "b.conf:1:1: error: the configuration is larger than 30 bytes in total; the rest is not read",
        ])
    }

    @Test func deepNestingStopsAtTheLimit() {
        let text = (1...100).map { String(repeating: " ", count: $0) + "a\($0) {" }.joined(separator: "\n")
        let result = ConfigurationLoader.parse(text)
        // The unknown outer keyword is reported too, but nothing about the unclosed blocks of an aborted file.
        #expect(result.errors.map(\.short) == [
            "1:2: error: unknown keyword 'a1' at the top level",
            "17:22: error: blocks are nested deeper than 16 levels; the rest of 'directord.conf' is not read",
        ])
    }

    @Test func nestingCountsAcrossIncludes() {
        let outer = (1...10).map { "b\($0) {" }.joined(separator: "\n") + "\ninclude inner.conf\n" + String(repeating: "}\n", count: 10)
        let inner = (1...10).map { "c\($0) {" }.joined(separator: "\n") + "\n" + String(repeating: "}\n", count: 10)
        let fs = InMemoryFileSystem(["main.conf": outer, "inner.conf": inner])
        let result = ConfigurationLoader(fileSystem: fs).load(path: "main.conf")
        #expect(result.errors.map(\.description) == [
            "main.conf:1:1: error: unknown keyword 'b1' at the top level",
            "inner.conf:7:4: error: blocks are nested deeper than 16 levels; the rest of 'inner.conf' is not read",
        ])
    }

    @Test func includeDepthAndFileCountAreBounded() {
        var files: [String: String] = [:]
        for i in 0..<40 { files["f\(i).conf"] = "include f\(i + 1).conf\n" }
        files["f40.conf"] = "\n"
        let result = ConfigurationLoader(fileSystem: InMemoryFileSystem(files)).load(path: "f0.conf")
        #expect(result.errors.map(\.description) == ["f31.conf:1:9: error: includes are nested deeper than 32 files"])

        var limits = ParseLimits()
        limits.maximumFiles = 3
        let many = InMemoryFileSystem(["main.conf": "include d/*.conf\n", "d/1.conf": "", "d/2.conf": "", "d/3.conf": ""])
        let capped = ConfigurationLoader(fileSystem: many, limits: limits).load(path: "main.conf")
        #expect(capped.errors.map(\.description) == ["main.conf:1:9: error: more than 3 files included; 'd/3.conf' is not read"])
    }

    @Test func directoriesAndFifosAreRefusedWithoutBlocking() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
        #expect(mkfifo(directory + "/fifo", 0o600) == 0)
        try "include sub\ninclude fifo\n".write(toFile: directory + "/main.conf", atomically: true, encoding: .utf8)
        let result = ConfigurationLoader().load(path: directory + "/main.conf")
        #expect(result.errors.map(\.short) == [
            "1:9: error: cannot read '\(directory)/sub': is a directory",
            "2:9: error: cannot read '\(directory)/fifo': is not a regular file",
        ])
    }

    @Test func diagnosticsAreCapped() {
        let text = String(repeating: "nonsense\n", count: 1000)
        let result = ConfigurationLoader.parse(text)
        #expect(result.diagnostics.count == 201)
        #expect(result.diagnostics.last?.description == "directord.conf:201:1: error: too many errors; the first 200 are shown")
    }

    @Test func manyWarningsLeaveAValidConfigurationValid() throws {
        // 300 NAT services with no VRRP-managed gateway: one warning each, and nothing wrong.
        var text = ""
        for i in 0..<300 {
            text += "virtual_server 10.30.\(i / 250).\(i % 250 + 1) 80 {\n lb_kind NAT\n protocol TCP\n"
            text += " real_server 10.31.0.1 80 {\n weight 1\n }\n}\n"
        }
        let result = ConfigurationLoader.parse(text)
        #expect(result.errors.isEmpty)
        #expect(result.configuration?.virtualServers.count == 300)
        #expect(result.warnings.count == 201)
        #expect(result.warnings.last?.message == "too many warnings; the first 200 are shown")
    }
}

// Forms met in real configurations that keepalived 2.2.7 runs: read as keepalived reads them, with a warning.
struct KeepalivedToleranceTests {
    @Test func aFlagWithAnOnValueIsTheFlag() throws {
        let result = parse("global_defs {\n    enable_script_security 1\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    nopreempt yes\n    virtual_ipaddress {\n        192.0.2.1\n    }\n}\n")
        let config = try #require(result.configuration, "\(result.errors.map(\.short))")
        #expect(config.globals.enableScriptSecurity && config.vrrpInstances.first?.preempt == false)
        #expect(result.warnings.map(\.short).contains("2:28: warning: 'enable_script_security' takes no value: keepalived ignores '1' and sets it, and so does directord"))
        let off = parse("global_defs {\n    enable_script_security 0\n}\n")
        #expect(off.errors.map(\.short) == ["2:28: error: keepalived 2.2.7 ignores the value of 'enable_script_security' and turns it on; remove the line to leave it off"])
    }

    @Test func bytesThatAreNotUTF8InACommentAreNotRead() throws {
        // "监控" in GBK, after a comment mark: keepalived never reads it, nor does directord.
        let bytes: [UInt8] = Array("vrrp_script chk {\n    script \"/bin/true\"   ###".utf8) + [0xBC, 0xE0, 0xBF, 0xD8] + Array("\n}\n".utf8)
        let result = ConfigurationLoader(fileSystem: InMemoryFileSystem(bytes: ["directord.conf": bytes])).load(path: "directord.conf")
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(result.configuration?.vrrpScripts.first?.command == "/bin/true")
        // Before the comment, the same bytes are still refused.
        let bad: [UInt8] = Array("vrrp_script chk".utf8) + [0xBC, 0xE0] + Array(" {\n}\n".utf8)
        let refused = ConfigurationLoader(fileSystem: InMemoryFileSystem(bytes: ["directord.conf": bad])).load(path: "directord.conf")
        #expect(refused.errors.first?.message.hasPrefix("invalid UTF-8") == true)
    }

    @Test func wordsAfterTheVirtualServerPortAreIgnoredWithAWarning() throws {
        let result = parse("virtual_server 192.168.100.100 53 dev eth0.53 {\n    protocol UDP\n    lb_kind DR\n    real_server 10.0.0.1 53 {\n    }\n}\n")
        #expect(result.configuration?.virtualServers.first?.key.description == "192.168.100.100 53")
        #expect(result.warnings.map(\.short).contains("1:35: warning: keepalived 2.2.7 ignores 'dev eth0.53' after the port, and so does directord"))
    }

    @Test func quorumZeroIsOne() throws {
        let result = parse("virtual_server 192.0.2.1 80 {\n    protocol TCP\n    lb_kind DR\n    quorum 0\n    real_server 10.0.0.1 80 {\n    }\n}\n")
        #expect(result.configuration?.virtualServers.first?.quorum == 1)
        #expect(result.warnings.map(\.short).contains("4:12: warning: quorum 0 is read as 1, as keepalived 2.2.7 reads it"))
    }
}
