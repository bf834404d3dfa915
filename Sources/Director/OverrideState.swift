import DirectorConfig
import FoundationEssentials
import Glibc
import HealthCheck

/// The operator's runtime overrides, by virtual server identity and real: what `directorctl drain` and `weight`
/// set. Pure; `OverrideStateFile` keeps it across restarts.
struct Overrides: Equatable, Sendable {
    private(set) var byServer: [String: [Endpoint: RealOverride]] = [:]

    init() {}

    init(_ entries: [OverrideStateFile.Entry]) {
        for entry in entries {
            guard case .success(let real) = RealTarget.parseEndpoint(entry.real) else { continue }
            self[entry.virtualServer, real] = RealOverride(drained: entry.drained, weight: entry.weight)
        }
    }

    subscript(identity: String, real: Endpoint) -> RealOverride {
        get { byServer[identity]?[real] ?? RealOverride() }
        set {
            byServer[identity, default: [:]][real] = newValue.isEmpty ? nil : newValue
            if byServer[identity]?.isEmpty == true { byServer[identity] = nil }
        }
    }

    var isEmpty: Bool { byServer.isEmpty }

    /// Drops the overrides of reals `configuration` no longer has; answers what was dropped, for the log.
    mutating func prune(to configuration: Configuration) -> [String] {
        var dropped: [String] = []
        guard !byServer.isEmpty else { return dropped }
        let configured = Dictionary(configuration.virtualServers.map { ($0.identity, Set($0.realServers.map(\.endpoint))) },
                                    uniquingKeysWith: { a, b in a.union(b) })
        for (identity, reals) in byServer {
            for real in reals.keys where configured[identity]?.contains(real) != true {
                self[identity, real] = RealOverride()
                dropped.append("real \(real) of virtual_server \(identity)")
            }
        }
        return dropped.sorted()
    }

    var entries: [OverrideStateFile.Entry] {
        byServer.flatMap { identity, reals in
            reals.map { real, o in OverrideStateFile.Entry(virtualServer: identity, real: real.description, drained: o.drained, weight: o.weight) }
        }.sorted { ($0.virtualServer, $0.real) < ($1.virtualServer, $1.real) }
    }
}

/// The overrides on disk: one small JSON file, mode 0600, replaced atomically (written beside, synced, renamed),
/// so a crash leaves the old file or the new one and never half of either.
struct OverrideStateFile: Sendable {
    static let defaultPath = "/var/lib/directord/overrides.json"

    struct Entry: Codable, Hashable, Sendable {
        /// The virtual server's identity as status prints it ("192.0.2.1 80 TCP").
        var virtualServer: String
        var real: String
        var drained: Bool
        var weight: Int?
    }

    struct Contents: Codable {
        var version: Int
        var overrides: [Entry]
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    var path: String

    /// The saved overrides; none when the file does not exist. A file that cannot be read or decoded is an error
    /// for the caller to report (and then ignore: a corrupt state file must never stop the director).
    func load() -> Result<[Entry], Failure> {
        let data: Data
        switch AtomicFile.read(path) {
        case .success(nil): return .success([])
        case .success(let bytes?): data = bytes
        case .failure(let failure): return .failure(Failure(description: failure.description))
        }
        do {
            let contents = try JSONDecoder().decode(Contents.self, from: data)
            guard contents.version == 1 else {
                return .failure(Failure(description: "\(path): unknown version \(contents.version) (this directord writes 1)"))
            }
            return .success(contents.overrides)
        } catch {
            return .failure(Failure(description: "\(path) is not a valid state file: \(error)"))
        }
    }

    func save(_ entries: [Entry]) -> Result<Void, Failure> {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let bytes: [UInt8]
        do { bytes = Array(try encoder.encode(Contents(version: 1, overrides: entries))) + [UInt8(ascii: "\n")] } catch {
            return .failure(Failure(description: "cannot encode the overrides: \(error)"))
        }
        return AtomicFile.replace(path, with: bytes).mapError { Failure(description: $0.description) }
    }
}
