// The parse cache must be invisible: a load that takes blocks from it gives the same configuration, the same
// diagnostics and the same source locations as a load that reads every line.
@testable import DirectorConfig
import Foundation
import Testing

struct ParseCacheTests {
    /// Every `SourceLocation` a configuration holds, in a stable order (found by reflection, so a field added to the
    /// model later is compared too).
    static func locations(_ value: Any) -> [String] {
        var found: [String] = []
        func walk(_ value: Any, _ path: String) {
            if let location = value as? DirectorConfig.SourceLocation {
                found.append("\(path)=\(location)")
                return
            }
            let mirror = Mirror(reflecting: value)
            for (index, child) in mirror.children.enumerated() {
                walk(child.value, "\(path).\(child.label ?? "\(index)")")
            }
        }
        walk(value, "")
        return found
    }

    /// Loads `text` through `cache` and without a cache, and checks they agree in every respect.
    @discardableResult
    func load(_ text: String, cache: ParseCache, files: [String: String] = [:],
              sourceLocation: Testing.SourceLocation = #_sourceLocation) -> LoadResult {
        var all = files
        all["main.conf"] = text
        let fs = InMemoryFileSystem(all)
        let cached = ConfigurationLoader(fileSystem: fs, configID: "main", cache: cache).load(path: "main.conf")
        let fresh = ConfigurationLoader(fileSystem: fs, configID: "main").load(path: "main.conf")
        #expect(cached.diagnostics.map(\.description) == fresh.diagnostics.map(\.description), sourceLocation: sourceLocation)
        #expect(cached.configuration == fresh.configuration, sourceLocation: sourceLocation)
        #expect(Self.locations(cached.configuration as Any) == Self.locations(fresh.configuration as Any), sourceLocation: sourceLocation)
        return cached
    }

    static func service(_ i: Int, reals: Int = 3, weight: (Int) -> Int = { $0 + 1 }, extra: String = "") -> String {
        var out = "virtual_server 10.1.0.\(i) 80 {\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n\(extra)"
        for j in 0..<reals {
            out += "    real_server 172.16.\(i).\(j + 1) 80 {  # real \(j)\n        weight \(weight(j))\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n"
        }
        return out + "}\n"
    }

    @Test func unchangedBlocksAreReusedAndMovedBlocksKeepTheirLines() {
        let cache = ParseCache()
        let base = (1...5).map { Self.service($0) }.joined(separator: "\n")
        load("global_defs {\n    router_id a\n}\n" + base, cache: cache)
        #expect(cache.reusedByLastLoad == 0)
        #expect(cache.count == 5)
        load("global_defs {\n    router_id a\n}\n" + base, cache: cache)
        #expect(cache.reusedByLastLoad == 5)
        // Lines inserted before every block, a weight changed in the second and a real added to the fourth.
        var services = (1...5).map { Self.service($0) }
        services[1] = Self.service(2, weight: { $0 == 1 ? 9 : $0 + 1 })
        services[3] = Self.service(4, reals: 4)
        let moved = "# a comment\n\nglobal_defs {\n    router_id a\n}\n" + services.joined(separator: "\n")
        let result = load(moved, cache: cache)
        #expect(cache.reusedByLastLoad == 3)
        #expect(result.configuration?.virtualServers[1].realServers[1].weight == 9)
        #expect(result.configuration?.virtualServers[3].realServers.count == 4)
        let line = moved.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("virtual_server 10.1.0.5 ") }
        #expect(result.configuration?.virtualServers[4].origin.location?.line == line.map { $0 + 1 })
    }

    @Test("a server read from the same cache entry, moved or not, says so; a changed one does not")
    func parseSerialsNameTheEntry() throws {
        let cache = ParseCache()
        let head = "global_defs {\n    router_id a\n}\n"
        let first = try #require(load(head + (1...3).map { Self.service($0) }.joined(), cache: cache).configuration)
        var services = (1...3).map { Self.service($0) }
        services[1] = Self.service(2, weight: { $0 == 0 ? 7 : $0 + 1 })
        let second = try #require(load("# moved down\n" + head + services.joined(), cache: cache).configuration)
        let same = zip(first.virtualServers, second.virtualServers).map { $0.parseSerial.sameEntry(as: $1.parseSerial) }
        #expect(same == [true, false, true], "the first and last moved a line down and kept their entry; the second changed")
        // Read without a cache, nothing claims an entry.
        let fresh = try #require(ConfigurationLoader.parse(head + Self.service(1)).configuration)
        #expect(!fresh.virtualServers[0].parseSerial.sameEntry(as: fresh.virtualServers[0].parseSerial))
        // A block whose FILE_CHECK names a track_file depends on that block too.
        let tracked = head + "track_file f {\n    file /tmp/f\n}\n" + Self.service(4, extra: "")
            .replacingOccurrences(of: "TCP_CHECK {\n            connect_timeout 3\n        }", with: "FILE_CHECK {\n            track_file f\n        }")
        let a = try #require(load(tracked, cache: cache).configuration)
        let b = try #require(load(tracked, cache: cache).configuration)
        #expect(!a.virtualServers[0].parseSerial.sameEntry(as: b.virtualServers[0].parseSerial))
    }

    @Test func warningsComeBackAtTheBlocksNewLine() {
        let cache = ParseCache()
        // No `protocol`: a warning at the header, made when resolving; `nat_mask`: one made by the keywords.
        let block = "virtual_server 10.1.0.1 80 {\n    nat_mask 255.255.255.0\n    real_server 172.16.0.1 80 {\n    }\n}\n"
        let first = load(block, cache: cache)
        #expect(first.warnings.map(\.location.line).sorted() == [1, 1, 2])
        let second = load("\n\n" + block, cache: cache)
        #expect(cache.reusedByLastLoad == 1)
        #expect(second.warnings.map(\.location.line).sorted() == [3, 3, 4])
        #expect(second.warnings.map(\.message) == first.warnings.map(\.message))
    }

    @Test func blocksWithErrorsAreReadEveryTime() {
        let cache = ParseCache()
        let bad = "virtual_server 10.1.0.1 80 {\n    protocol TCP\n    real_server 172.16.0.1 80 {\n        weigth 3\n    }\n}\n"
        let first = load(bad, cache: cache)
        #expect(first.configuration == nil)
        let second = load(bad, cache: cache)
        #expect(cache.reusedByLastLoad == 0)
        #expect(second.errors.map(\.place) == ["4:9"])
    }

    @Test func blocksThatDependOnTheirSurroundingsAreReadEveryTime() {
        let cache = ParseCache()
        // `$` substitution: the definition lives outside the block.
        let substituted = { (w: Int) in
            "$W=\(w)\nvirtual_server 10.1.0.1 80 {\n    protocol TCP\n    real_server 172.16.0.1 80 {\n        weight $W\n    }\n}\n"
        }
        load(substituted(3), cache: cache)
        let changed = load(substituted(4), cache: cache)
        #expect(cache.reusedByLastLoad == 0)
        #expect(changed.configuration?.virtualServers.first?.realServers.first?.weight == 4)
        // A group service reads the virtual_server_group.
        let grouped = { (vip: String) in
            "virtual_server_group G {\n    \(vip) 80\n}\nvirtual_server group G {\n    protocol TCP\n    real_server \(vip) 8080 {\n    }\n}\n"
        }
        load(grouped("10.1.0.1"), cache: cache)
        let regrouped = load(grouped("2001:db8::1"), cache: cache)
        #expect(cache.reusedByLastLoad == 0)
        #expect(regrouped.configuration?.virtualServers.first?.family == .ipv6)
        // Conditional lines and includes.
        load("virtual_server 10.1.0.1 80 {\n    protocol TCP\n@main    lb_algo rr\n}\n", cache: cache)
        load("virtual_server 10.1.0.1 80 {\n    protocol TCP\n@main    lb_algo rr\n}\n", cache: cache)
        #expect(cache.reusedByLastLoad == 0)
        let files = ["reals.conf": "real_server 172.16.0.1 80 {\n}\n"]
        load("virtual_server 10.1.0.1 80 {\n    protocol TCP\n    include reals.conf\n}\n", cache: cache, files: files)
        load("virtual_server 10.1.0.1 80 {\n    protocol TCP\n    include reals.conf\n}\n", cache: cache, files: files)
        #expect(cache.reusedByLastLoad == 0)
    }

    @Test func includedFilesAreCachedByTheirOwnPath() {
        let cache = ParseCache()
        var files: [String: String] = [:]
        for i in 1...4 { files["conf.d/\(i).conf"] = Self.service(i) }
        load("include conf.d/*.conf\n", cache: cache, files: files)
        files["conf.d/3.conf"] = Self.service(3, weight: { _ in 7 })
        let result = load("include conf.d/*.conf\n", cache: cache, files: files)
        #expect(cache.reusedByLastLoad == 3)
        #expect(result.configuration?.virtualServers[2].realServers.map(\.weight) == [7, 7, 7])
        #expect(result.configuration?.virtualServers[2].origin.location?.file == "conf.d/3.conf")
    }

    @Test func aBlockAtTheEndOfTheFileIsOnlyTakenWhereItStillEndsTheFile() {
        let cache = ParseCache()
        let block = "virtual_server 10.1.0.1 80 {\n    protocol TCP\n    real_server 172.16.0.1 80 {\n    }\n}"
        load(block, cache: cache)
        // The same bytes, now followed by more on the line and by another block: read again, not taken.
        let followed = load(block + " # end\n" + Self.service(2), cache: cache)
        #expect(followed.configuration?.virtualServers.count == 2)
        load(block + "\n", cache: cache)
        let refused = load(block + " delay_loop 3\n", cache: cache)
        #expect(refused.configuration == nil, "text after the closing brace is read, not skipped")
        load(block, cache: cache)
        load(block, cache: cache)
        #expect(cache.reusedByLastLoad == 1)
    }

    @Test func theCacheHoldsTheLastLoadOnly() {
        let cache = ParseCache()
        load((1...6).map { Self.service($0) }.joined(), cache: cache)
        #expect(cache.count == 6)
        load((5...7).map { Self.service($0) }.joined(), cache: cache)
        #expect(cache.reusedByLastLoad == 2)
        #expect(cache.count == 3)
    }

    @Test func shippedExamplesLoadTheSameThroughTheCache() throws {
        let cache = ParseCache()
        let directory = Paths.repositoryRoot + "/conf.d"
        for name in try FileManagerNames.list(directory) where name.hasSuffix(".conf") {
            let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            load(text, cache: cache)
            load("\n# moved\n" + text, cache: cache)
        }
        for name in try FileManagerNames.list(Paths.fixtures) where name.hasSuffix(".conf") {
            guard let text = try? String(contentsOfFile: Paths.fixture(name), encoding: .utf8) else { continue }
            load(text, cache: cache)
            load("\n\n\n" + text, cache: cache)
        }
    }

    @Test(arguments: [
        ("virtual_server 10.0.0.1 80 {\n}\n", true),
        ("  virtual_server 10.0.0.1 80 { # x {\n  a \"}\" 'x{'\n}  # }\n", true),
        ("virtual_server 10.0.0.1 80 {\n}", true),
        ("virtual_server 10.0.0.1 80\n{\n}\n", false),
        ("virtual_server 10.0.0.1 80 {\n} delay_loop 3\n", false),
        ("virtual_server group G {\n}\n", false),
        ("virtual_server 10.0.0.1 80 {\n  a \"b\n}\n", false),
        ("virtual_server 10.0.0.1 80 {\n  weight $W\n}\n", false),
        ("virtual_server 10.0.0.1 80 {\n  # mail@example\n}\n", false),
        ("virtual_server 10.0.0.1 80 {\n  a “b”\n}\n", false),
        ("virtual_server 10.0.0.1 80 {\n  {\n}\n", false),
        ("virtual_server_group G {\n}\n", false),
    ])
    func segmentScanner(text: String, cacheable: Bool) {
        let bytes = Array(text.utf8)
        let found = PlainSegment.virtualServer(in: bytes, from: 0, maximumLineLength: 1000)
        #expect((found != nil) == cacheable)
        if let found { #expect(found.end == bytes.count) }
    }
}
