// Helpers: where fixtures live, and diagnostics reduced to what tests compare.
import DirectorConfig
import Foundation
import Testing

enum Paths {
    /// The copied test resources (Package.swift declares Fixtures as a resource).
    static var fixtures: String {
        if let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) { return url.path }
        return sourceFixtures
    }

    static let sourceFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func fixture(_ name: String) -> String { fixtures + "/" + name }
}

extension Diagnostic {
    /// `line:col: severity: message` without the file, for compact expectations.
    var short: String { "\(location.line):\(location.column): \(severity.rawValue): \(message)" }
    var place: String { "\(location.line):\(location.column)" }
}

/// Parses text as one in-memory file; extra files may be given for includes.
func parse(_ text: String, files: [String: String] = [:], limits: ParseLimits = ParseLimits(), configID: String = "main") -> LoadResult {
    var all = files
    all["main.conf"] = text
    return ConfigurationLoader(fileSystem: InMemoryFileSystem(all), limits: limits, configID: configID).load(path: "main.conf")
}

/// The configuration of a text that must be valid; records an issue with every diagnostic otherwise.
func valid(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Configuration? {
    let result = parse(text)
    #expect(result.errors.isEmpty, "unexpected errors: \(result.errors.map(\.short))", sourceLocation: sourceLocation)
    return result.configuration
}

/// A minimal valid instance block, for tests about something else.
func instance(_ name: String = "VI_1", vrid: Int = 51, interface: String = "eth0", extra: String = "") -> String {
    """
    vrrp_instance \(name) {
        interface \(interface)
        virtual_router_id \(vrid)
        virtual_ipaddress {
            192.0.2.10
        }
    \(extra)
    }

    """
}

enum FileManagerNames {
    static func list(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }
}
