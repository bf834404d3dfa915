// Replays every input of the fuzz corpus (Fixtures/fuzz-corpus, and every crash the fuzzer ever found)
// with the fuzz target's properties, so `make check` covers them without libFuzzer.
import DirectorConfig
import Foundation
import Testing

struct FuzzCorpusTests {
    static var corpus: [String] {
        (try? FileManagerNames.list(Paths.fixture("fuzz-corpus"))) ?? []
    }

    /// The same as Tests/Fuzz/ConfigFuzz: no crash, and a valid configuration survives dump and re-parse.
    static func property(_ bytes: [UInt8]) -> String? {
        let fileSystem = InMemoryFileSystem(bytes: ["main.conf": bytes, "inc.conf": bytes, "conf.d/a.conf": bytes])
        var limits = ParseLimits()
        limits.maximumLineLength = 4_096
        limits.maximumFileSize = 1 << 20
        limits.maximumTotalSize = 4 << 20
        limits.maximumFiles = 16
        let result = ConfigurationLoader(fileSystem: fileSystem, limits: limits).load(path: "main.conf")
        guard let configuration = result.configuration else { return nil }
        let dumped = ConfigurationWriter.render(configuration)
        let reparsed = ConfigurationLoader.parse(dumped)
        return reparsed.configuration == configuration ? nil : "round trip changed the configuration:\n\(dumped)\n\(reparsed.diagnostics)"
    }

    @Test func corpusIsNotEmpty() {
        #expect(Self.corpus.count >= 20)
    }

    @Test(arguments: corpus)
    func replay(_ name: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Paths.fixture("fuzz-corpus/" + name)))
        #expect(Self.property(Array(data)) == nil)
    }
}
