// Include cycles are found on the real file system whatever the spelling: through a symbolic link, a relative
// path, or `..` (the reader resolves each directory once, then each file with one lstat).
import DirectorConfig
import Foundation
import Testing

@Suite(.serialized) struct IncludePathTests {
    static func directory() throws -> String {
        let dir = NSTemporaryDirectory() + "include-paths-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/conf.d", withIntermediateDirectories: true)
        return dir
    }

    @Test func aCycleThroughASymbolicLinkIsFound() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "include conf.d/*.conf\n".write(toFile: dir + "/main.conf", atomically: true, encoding: .utf8)
        try "virtual_server 10.0.0.1 80 {\n    protocol TCP\n}\n".write(toFile: dir + "/conf.d/a.conf", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/conf.d/b.conf", withDestinationPath: "../main.conf")
        for cache in [nil, ParseCache()] {
            let result = ConfigurationLoader(cache: cache).load(path: dir + "/main.conf")
            #expect(result.errors.contains { $0.message.contains("include cycle") }, "\(result.diagnostics)")
        }
    }

    @Test func aCycleThroughDotDotAndARelativeMainFileIsFound() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "include conf.d/../main.conf\n".write(toFile: dir + "/main.conf", atomically: true, encoding: .utf8)
        let previous = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        FileManager.default.changeCurrentDirectoryPath(dir)
        let result = ConfigurationLoader(cache: ParseCache()).load(path: "main.conf")
        #expect(result.errors.contains { $0.message.contains("include cycle") }, "\(result.diagnostics)")
    }

    @Test func manyFilesInOneDirectoryAreRead() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "include conf.d/*.conf\n".write(toFile: dir + "/main.conf", atomically: true, encoding: .utf8)
        for i in 0..<1500 {
            try "virtual_server 10.0.\(i / 250).\(i % 250 + 1) 80 {\n    protocol TCP\n    real_server 10.9.0.1 80 {\n    }\n}\n"
                .write(toFile: dir + "/conf.d/\(String(format: "%04d", i)).conf", atomically: false, encoding: .utf8)
        }
        let cache = ParseCache()
        let result = ConfigurationLoader(cache: cache).load(path: dir + "/main.conf")
        #expect(result.errors.isEmpty)
        #expect(result.configuration?.virtualServers.count == 1500)
        _ = ConfigurationLoader(cache: cache).load(path: dir + "/main.conf")
        #expect(cache.reusedByLastLoad == 1500)
    }
}
