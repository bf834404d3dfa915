// directord.conf(5) documents every keyword the parser knows (ignored and rejected ones included).
import DirectorConfig
import Foundation
import Testing

struct ManPageTests {
    /// Keywords set in bold: `.B kw`, `.BI kw`, `.BR kw`, or `\fBkw` inline; `\-` is the roff hyphen.
    static func boldWords(in roff: String) -> Set<String> {
        var words = Set<String>()
        for rawLine in roff.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.replacingOccurrences(of: "\\-", with: "-")
            for macro in [".B ", ".BI ", ".BR "] where line.hasPrefix(macro) {
                let rest = line.dropFirst(macro.count).trimmingCharacters(in: .whitespaces)
                let first = rest.hasPrefix("\"") ? rest.dropFirst().prefix { $0 != " " && $0 != "\"" } : rest.prefix { $0 != " " }
                words.insert(String(first))
                // `.B group { \fIinstance\fR ... \fB}` and similar name several keywords on one line.
                for piece in rest.components(separatedBy: "\\fB").dropFirst() {
                    words.insert(String(piece.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }))
                }
                if macro == ".B " {
                    for word in rest.split(separator: " ") { words.insert(String(word)) }
                }
            }
            for piece in line.components(separatedBy: "\\fB").dropFirst() {
                words.insert(String(piece.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }))
            }
        }
        return words
    }

    @Test func everyKeywordIsDocumented() throws {
        let roff = try String(contentsOfFile: Paths.repositoryRoot + "/man/directord.conf.5", encoding: .utf8)
        let documented = Self.boldWords(in: roff)
        let missing = KeywordCatalog.allKeywords.filter { !documented.contains($0) }.sorted()
        #expect(missing.isEmpty, "not in man/directord.conf.5 (in bold): \(missing)")
        #expect(KeywordCatalog.allKeywords.count > 150)
    }

    @Test func lintClean() throws {
        let mandoc = "/usr/bin/mandoc"
        try #require(FileManager.default.isExecutableFile(atPath: mandoc), "mandoc is not installed")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mandoc)
        process.arguments = ["-Tlint", "-Wall", Paths.repositoryRoot + "/man/directord.conf.5"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0 && output.isEmpty, "\(output)")
    }

    @Test func theCheckCatchesAMissingKeyword() {
        let words = Self.boldWords(in: ".TP\n.BI router_id \" name\"\nText about sh\\-port.\n.B lvs_flush\n")
        #expect(words.contains("router_id") && words.contains("lvs_flush"))
        #expect(!words.contains("sh-port"))
    }
}
