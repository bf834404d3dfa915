// track_file blocks (top level) and FILE_CHECK (in a real_server), with keepalived 2.2.7's meaning
// (trackers/track_file.c, check/check_file.c): a number read from a file, times a weight.
import Addresses

/// A top-level `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`.
public struct TrackFile: Hashable, Sendable {
    public struct InitFile: Hashable, Sendable {
        public var value: Int
        /// Write the value even over an existing file (else only when the file is missing).
        public var overwrite: Bool

        public init(value: Int = 0, overwrite: Bool = false) {
            self.value = value
            self.overwrite = overwrite
        }
    }

    public var name: String
    public var path: String
    /// The default multiplier for whoever tracks the file (keepalived: 1, in -254..254).
    public var weight: Int
    public var reverse: Bool
    public var initFile: InitFile?
    public var origin: SourceOrigin

    public init(name: String, path: String, weight: Int = 1, reverse: Bool = false, initFile: InitFile? = nil,
                origin: SourceOrigin = SourceOrigin(nil)) {
        self.name = name
        self.path = path
        self.weight = weight
        self.reverse = reverse
        self.initFile = initFile
        self.origin = origin
    }
}

/// A FILE_CHECK as configured, its track_file resolved.
public struct FileCheckConfig: Hashable, Sendable {
    public var trackFile: String
    /// The track_file's `file`.
    public var path: String
    /// The FILE_CHECK's `weight`, else the track_file's. 0: a non-zero value is a failure (zero with reverse).
    public var weight: Int
    public var reverse: Bool
    var pending: Pending?

    public init(trackFile: String, path: String, weight: Int = 1, reverse: Bool = false) {
        self.trackFile = trackFile
        self.path = path
        self.weight = weight
        self.reverse = reverse
    }
}

struct TrackFileDraft: Sendable {
    var name: ConfigWord
    var path: String?
    var weight = 1
    var reverse = false
    var initFile: TrackFile.InitFile?

    static let keywords = KeywordTable<TrackFileDraft>("track_file", [
        .value("file") { d, node, _ in d.path = node.arguments[0].text },
        .value("weight", 1...2) { d, node, log in
            guard let v = log.integer(node.arguments[0], -254...254, "track_file 'weight'") else { return }
            d.weight = v
            if node.arguments.count == 2 {
                guard let r = log.choice(node.arguments[1], "the weight option", [("reverse", true), ("noreverse", false)]) else { return }
                d.reverse = r
            }
        },
        .value("init_file", 0...2) { d, node, log in
            var initFile = TrackFile.InitFile()
            for word in node.arguments {
                if word.text == "overwrite" {
                    initFile.overwrite = true
                } else if let v = log.integer(word, Int(Int32.min)...Int(Int32.max), "'init_file' value") {
                    initFile.value = v
                } else {
                    return
                }
            }
            d.initFile = initFile
        },
    ])

    func resolve(log: inout DiagnosticLog) -> TrackFile? {
        guard let path else {
            log.error(name.location, "track_file \(name.text) has no 'file'")
            return nil
        }
        guard path.hasPrefix("/") else {
            log.error(name.location, "track_file \(name.text): 'file' must be an absolute path, not '\(path)'")
            return nil
        }
        return TrackFile(name: name.text, path: path, weight: weight, reverse: reverse, initFile: initFile,
                         origin: SourceOrigin(name.location))
    }
}

/// The FILE_CHECK-only part of a check's draft; the path comes from the named track_file once all are read.
struct FileCheckDraft: Sendable {
    var trackFile: ConfigWord?
    var weight: (value: Int, reverse: Bool)?
}

extension HealthCheckDraft {
    /// keepalived 2.2.7 (check_file.c): `track_file` and `weight` only, none of the common checker keywords; and
    /// directord's `delay_loop`, how often the file is read (default: the real's or virtual server's).
    static let fileKeywords = KeywordTable<HealthCheckDraft>("FILE_CHECK", InheritedCheckSettings.keywords(\HealthCheckDraft.inherited)
        .filter { $0.name == "delay_loop" } + [
        .value("track_file") { d, node, _ in d.file.trackFile = node.arguments[0] },
        .value("weight", 1...2) { d, node, log in
            guard let v = log.integer(node.arguments[0], -Int(Int32.max)...Int(Int32.max), "FILE_CHECK 'weight'") else { return }
            var reverse = false
            if node.arguments.count == 2 {
                guard let r = log.choice(node.arguments[1], "the weight option", [("reverse", true), ("noreverse", false)]) else { return }
                reverse = r
            }
            d.file.weight = (v, reverse)
        },
    ])

    /// FILE_CHECK's half of `resolve`. keepalived knows a file's state at once: no retry, warmup or alpha. directord
    /// reads the file every delay_loop of the real (or virtual server). The path is filled in by `resolveTrackFiles`.
    func resolveFile(real: Endpoint, settings: InheritedCheckSettings, log: inout DiagnosticLog) -> HealthCheck? {
        guard let name = file.trackFile else {
            log.error(header.location, "FILE_CHECK of real_server \(real) has no 'track_file'")
            return nil
        }
        var check = HealthCheck(kind: kind, connectIP: real.address, connectPort: real.port, retry: 0,
                                delayBeforeRetry: .seconds(1), delayLoop: settings.delayLoop ?? HealthCheck.defaultDelayLoop,
                                warmup: .zero, alpha: false)
        var config = FileCheckConfig(trackFile: name.text, path: "", weight: file.weight?.value ?? 1, reverse: file.weight?.reverse ?? false)
        config.pending = FileCheckConfig.Pending(origin: SourceOrigin(name.location), explicitWeight: file.weight != nil)
        check.file = config
        return check
    }
}

extension FileCheckConfig {
    /// Where the FILE_CHECK named its track_file, until the track_files are all read. Not part of equality.
    struct Pending: Hashable, Sendable {
        var origin: SourceOrigin
        var explicitWeight: Bool
        static func == (_: Pending, _: Pending) -> Bool { true }
        func hash(into hasher: inout Hasher) {}
    }
}

extension Configuration {
    /// Gives every FILE_CHECK the path (and, without its own weight, the weight) of the track_file it names;
    /// a FILE_CHECK naming no track_file takes its real server out of the configuration with an error.
    mutating func resolveTrackFiles(log: inout DiagnosticLog) {
        let byName = Dictionary(trackFiles.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for v in virtualServers.indices {
            // Most services have no FILE_CHECK: leave their reals (and the storage a cached block shares) alone.
            guard virtualServers[v].realServers.contains(where: { $0.checks.contains { $0.file?.pending != nil } }) else { continue }
            var reals: [RealServer] = []
            for var real in virtualServers[v].realServers {
                var ok = true
                for c in real.checks.indices {
                    guard var file = real.checks[c].file, let pending = file.pending else { continue }
                    guard let tracked = byName[file.trackFile] else {
                        if let location = pending.origin.location {
                            log.error(location, "FILE_CHECK of real_server \(real.endpoint): no track_file named '\(file.trackFile)'")
                        }
                        ok = false
                        continue
                    }
                    file.path = tracked.path
                    if !pending.explicitWeight {
                        file.weight = tracked.weight
                        file.reverse = tracked.reverse
                    }
                    file.pending = nil
                    real.checks[c].file = file
                }
                if ok { reals.append(real) }
            }
            virtualServers[v].realServers = reals
            // What it reads now depends on the track_file blocks too, not on its own bytes alone.
            virtualServers[v].parseSerial = ParseSerial()
        }
    }
}

extension ConfigurationDraft {
    static func trackFileKeyword(_ name: String) -> Keyword<ConfigurationDraft> {
        .block(name, 1...1) { d, node, log in
            var draft = TrackFileDraft(name: node.arguments[0])
            TrackFileDraft.keywords.apply(node.block ?? [], to: &draft, log: &log)
            if d.trackFiles.contains(where: { $0.name.text == draft.name.text }) {
                log.error(node.arguments[0].location, "track_file \(draft.name.text) is defined twice")
                return
            }
            d.trackFiles.append(draft)
        }
    }
}
