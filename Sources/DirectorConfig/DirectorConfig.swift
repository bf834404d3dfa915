// DirectorConfig: keepalived-compatible configuration — lexer, block tree with source locations, keyword tables
// owned per domain, semantic validation, and the plain-value model. Reading files is the only I/O.
@_exported import Addresses
import Glibc

/// The outcome of loading: the configuration when there is no error, and every diagnostic either way.
public struct LoadResult: Sendable {
    public var configuration: Configuration?
    public var diagnostics: [Diagnostic]

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
}

public struct ConfigurationLoader: Sendable {
    public var fileSystem: any ConfigFileSystem
    public var limits: ParseLimits
    /// The id that `@ID` and `@^ID` lines are compared with (keepalived's `-i`/`--config-id`).
    public var configID: String
    /// Blocks parsed by earlier loads (a daemon's reloads); nil: everything is parsed.
    public var cache: ParseCache?

    public init(
        fileSystem: any ConfigFileSystem = LocalFileSystem(), limits: ParseLimits = ParseLimits(),
        configID: String = ConfigurationLoader.defaultConfigID(), cache: ParseCache? = nil
    ) {
        self.fileSystem = fileSystem
        self.limits = limits
        self.configID = configID
        self.cache = cache
    }

    /// keepalived's default config id: the host name up to its first dot.
    public static func defaultConfigID() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(name.prefix { $0 != "." })
    }

    /// Reads `path` and everything it includes, applies keepalived's defaults and validates the result.
    public func load(path: String) -> LoadResult {
        let cache = self.cache.flatMap { $0.limits == limits ? $0 : nil }
        let generation = cache?.beginLoad() ?? 0
        defer { cache?.endLoad(generation) }
        var reader = BlockTreeReader(fileSystem: fileSystem, limits: limits, configID: configID, cache: cache, generation: generation)
        let nodes = reader.readMain(path)
        var log = reader.log
        var draft = ConfigurationDraft()
        // Most top-level blocks of a large file are virtual servers: one allocation instead of doubling.
        draft.virtualServers.reserveCapacity(nodes.count)
        for node in nodes {
            guard let link = node.segment else {
                ConfigurationDraft.keywords.apply(node, to: &draft, log: &log)
                continue
            }
            if let parsed = link.entry.parsed {
                let delta = link.line - parsed.baseLine
                for warning in parsed.diagnostics { log.record(warning.movingLines(by: delta)) }
                var server = VirtualServerDraft(header: node)
                server.cached = parsed.server.movingLines(by: delta)
                draft.virtualServers.append(server)
                continue
            }
            let mark = log.mark
            let count = draft.virtualServers.count
            ConfigurationDraft.keywords.apply(node, to: &draft, log: &log)
            if draft.virtualServers.count == count + 1, let warnings = log.warnings(since: mark) {
                var header = node
                header.block = nil
                header.segment = nil
                draft.virtualServers[count].pending = PendingSegment(
                    link: link, header: header,
                    diagnostics: reader.segmentWarnings[ObjectIdentifier(link.entry), default: []] + warnings)
            }
        }
        var configuration = draft.resolve(log: &log)
        ConfigurationValidator.validate(&configuration, log: &log)
        // Reading order of files, then line and column; ties keep the order of discovery.
        let rank = Dictionary(reader.fileOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        func key(_ d: Diagnostic) -> (Int, Int, Int) { (rank[d.location.file] ?? Int.max, d.location.line, d.location.column) }
        let diagnostics = log.diagnostics.enumerated().sorted { a, b in
            key(a.element) == key(b.element) ? a.offset < b.offset : key(a.element) < key(b.element)
        }.map(\.element)
        return LoadResult(configuration: log.hasErrors ? nil : configuration, diagnostics: diagnostics)
    }

    /// Parses text held in memory as the file `name` (includes are resolved against nothing and so fail).
    public static func parse(_ text: String, name: String = "directord.conf", limits: ParseLimits = ParseLimits()) -> LoadResult {
        ConfigurationLoader(fileSystem: InMemoryFileSystem([name: text]), limits: limits).load(path: name)
    }

    public static func parse(bytes: [UInt8], name: String = "directord.conf", limits: ParseLimits = ParseLimits()) -> LoadResult {
        ConfigurationLoader(fileSystem: InMemoryFileSystem(bytes: [name: bytes]), limits: limits).load(path: name)
    }
}

extension SSLSettings {
    private static func file(_ name: String, _ field: WritableKeyPath<SSLSettings, String?> & Sendable) -> Keyword<SSLSettings> {
        .value(name) { s, node, log in
            let word = node.arguments[0]
            if s[keyPath: field] != nil { log.warning(node.location, "SSL '\(name)' given twice: the last one counts, as in keepalived") }
            guard !word.text.isEmpty else {
                log.error(word.location, "SSL '\(name)' is empty")
                return
            }
            s[keyPath: field] = word.text
        }
    }

    static let keywords = KeywordTable<SSLSettings>("SSL", [
        file("password", \.password),
        file("ca", \.ca),
        file("certificate", \.certificate),
        file("key", \.key),
    ])
}

struct ConfigurationDraft: Sendable {
    var globals = GlobalSettings()
    var scripts: [VRRPScriptDraft] = []
    var syncGroups: [SyncGroup] = []
    var instances: [VRRPInstanceDraft] = []
    var groups: [VirtualServerGroup] = []
    var virtualServers: [VirtualServerDraft] = []
    var staticNetwork = StaticNetwork()
    var nextRulePriority: [AddressFamily: UInt32] = [:]
    var trackFiles: [TrackFileDraft] = []
    var trackProcesses: [TrackProcessDraft] = []
    var ssl: SSLSettings?
    /// Static addresses written without `dev`: they take global_defs' default_interface, which may come later.
    var devlessStaticAddresses: [ConfigWord] = []

    static let keywords = KeywordTable<ConfigurationDraft>(KeywordCatalog.topLevel, [
        .block("global_defs") { d, node, log in GlobalSettings.keywords.apply(node.block ?? [], to: &d.globals, log: &log) },
        .block("vrrp_script", 1...1) { d, node, log in
            var script = VRRPScriptDraft(name: node.arguments[0])
            VRRPScriptDraft.keywords.apply(node.block ?? [], to: &script, log: &log)
            d.scripts.append(script)
        },
        .block("vrrp_sync_group", 1...1) { d, node, log in
            var group = SyncGroup(name: node.arguments[0].text, members: [], origin: SourceOrigin(node.arguments[0].location))
            // Instance names written straight in the block (keepalived's own lvs_syncd sample does it): keepalived
            // 2.2.7 ignores them as unknown keywords and drops the empty group, running the instances unsynced.
            // Refused with the form that means what was written.
            let names = SyncGroup.keywords.names
            let bare = (node.block ?? []).filter { $0.block == nil && !names.contains($0.name) && closestName(to: $0.name, among: names) == nil }
            if let first = bare.first {
                let words = bare.flatMap { [$0.keyword] + $0.arguments }.map(\.text).joined(separator: " ")
                log.error(first.location, "vrrp_sync_group '\(group.name)': '\(words)' must be inside 'group { \(words) }'; keepalived 2.2.7 ignores bare names and runs the instances unsynced")
            }
            SyncGroup.keywords.apply((node.block ?? []).filter { n in !bare.contains(n) }, to: &group, log: &log)
            // Taken as members too, so that the names are still checked and the group is not reported empty.
            group.members += bare.flatMap { [$0.keyword] + $0.arguments }.map { SyncGroup.Member($0.text, origin: SourceOrigin($0.location)) }
            d.syncGroups.append(group)
        },
        .block("vrrp_instance", 1...1) { d, node, log in
            var instance = VRRPInstanceDraft(name: node.arguments[0])
            VRRPInstanceDraft.keywords.apply(node.block ?? [], to: &instance, log: &log)
            // keepalived numbers virtual_rules without a preference from the same counter as static_rules.
            for i in instance.virtualRules.indices where instance.virtualRules[i].rule.priority == nil {
                d.numberRule(&instance.virtualRules[i].rule, at: instance.virtualRules[i].location, log: &log)
            }
            d.instances.append(instance)
        },
        .block("virtual_server_group", 1...1) { d, node, log in d.groups.append(VirtualServerGroup.parse(node, log: &log)) },
        .block("virtual_server", 1...Int.max) { d, node, log in
            var server = VirtualServerDraft.start(node, log: &log)
            VirtualServerDraft.keywords.apply(node.block ?? [], to: &server, log: &log)
            d.virtualServers.append(server)
        },
        .block("static_ipaddress") { d, node, log in
            for entry in node.block ?? [] {
                guard let (address, word) = VRRPInstanceDraft.parseVirtualAddress(entry, log: &log) else { continue }
                if address.device == nil { d.devlessStaticAddresses.append(word) }
                d.staticNetwork.addresses.append(address)
            }
        },
        .block("static_routes") { d, node, log in
            d.staticNetwork.routes += (node.block ?? []).compactMap { VRRPInstanceDraft.parseVirtualRoute($0, log: &log) }
        },
        .block("static_rules") { d, node, log in
            for entry in node.block ?? [] {
                guard var rule = StaticNetwork.parseRule(entry, log: &log) else { continue }
                if rule.priority == nil { d.numberRule(&rule, at: entry.location, log: &log) }
                d.staticNetwork.rules.append(rule)
            }
        },
        // keepalived reads net_namespace at the top level (global_parser's install_keyword_root), not in global_defs.
        .value("net_namespace") { d, node, log in d.globals.setNetNamespace(node.arguments[0], log: &log) },
        .block("vrrp_track_process", 1...1) { d, node, log in
            var draft = TrackProcessDraft(name: node.arguments[0])
            TrackProcessDraft.keywords.apply(node.block ?? [], to: &draft, log: &log)
            if d.trackProcesses.contains(where: { $0.name.text == draft.name.text }) {
                log.error(node.arguments[0].location, "vrrp_track_process \(draft.name.text) is defined twice")
                return
            }
            d.trackProcesses.append(draft)
        },
        trackFileKeyword("vrrp_track_file"),
        trackFileKeyword("track_file"),
        .unsupported("bfd_instance", "BFD is not implemented"),
        .unsupported("garp_group", "gratuitous ARP pacing groups are not implemented"),
        .unsupported("linkbeat_interfaces", "directord follows link state through netlink"),
        .block("SSL") { d, node, log in
            if d.ssl != nil { log.warning(node.location, "a second 'SSL' block replaces the first, as in keepalived") }
            var ssl = SSLSettings(origin: SourceOrigin(node.location))
            SSLSettings.keywords.apply(node.block ?? [], to: &ssl, log: &log)
            d.ssl = ssl
        },
    ])

    /// keepalived numbers rules without a preference down from 16384, per family, and warns.
    mutating func numberRule(_ rule: inout StaticRule, at location: SourceLocation, log: inout DiagnosticLog) {
        let next = nextRulePriority[rule.family, default: StaticNetwork.firstDefaultRulePriority]
        nextRulePriority[rule.family] = next - 1
        rule.priority = next
        log.warning(location, "rule has no 'preference': \(next), as keepalived sets it (give one to place it)")
    }

    func resolve(log: inout DiagnosticLog) -> Configuration {
        var staticNetwork = self.staticNetwork
        if let device = globals.defaultInterface {
            // keepalived's default_interface: the interface of static addresses that name none.
            for i in staticNetwork.addresses.indices where staticNetwork.addresses[i].device == nil {
                staticNetwork.addresses[i].device = device
            }
        } else {
            for word in devlessStaticAddresses {
                // keepalived would pick eth0; directord wants the interface named.
                log.error(word.location, "static address \(word.text) needs 'dev INTERFACE' (or global_defs 'default_interface')")
            }
        }
        var configuration = Configuration(
            globals: globals,
            vrrpScripts: scripts.compactMap { $0.resolve(log: &log) },
            syncGroups: syncGroups,
            vrrpInstances: instances.compactMap { $0.resolve(globals: globals, log: &log) },
            virtualServerGroups: groups,
            virtualServers: virtualServers.compactMap { $0.resolveCaching(groups: groups, log: &log) },
            staticNetwork: staticNetwork)
        configuration.trackFiles = trackFiles.compactMap { $0.resolve(log: &log) }
        configuration.ssl = ssl
        configuration.resolveTrackFiles(log: &log)
        configuration.trackProcesses = trackProcesses.compactMap { $0.resolve(log: &log) }
        return configuration
    }
}

/// Every keyword the parser knows, by the block it belongs to (for suggestions and the man page test).
public enum KeywordCatalog {
    static let topLevel = "top level"

    public static let tables: [(context: String, keywords: [String])] = [
        (ConfigurationDraft.keywords.context, ConfigurationDraft.keywords.names + ["include"]),
        (GlobalSettings.keywords.context, GlobalSettings.keywords.names),
        (VRRPScriptDraft.keywords.context, VRRPScriptDraft.keywords.names),
        (SyncGroup.keywords.context, SyncGroup.keywords.names),
        (VRRPInstanceDraft.keywords.context, VRRPInstanceDraft.keywords.names),
        (VRRPInstanceDraft.authenticationKeywords.context, VRRPInstanceDraft.authenticationKeywords.names),
        (VirtualServerDraft.keywords.context, VirtualServerDraft.keywords.names),
        (RealServerDraft.keywords.context, RealServerDraft.keywords.names),
        (HealthCheckDraft.httpKeywords.context, HealthCheckDraft.httpKeywords.names),
        (HealthCheckDraft.tcpKeywords.context, HealthCheckDraft.tcpKeywords.names),
        (HealthCheckDraft.URLDraft.keywords.context, HealthCheckDraft.URLDraft.keywords.names),
        (HealthCheckDraft.miscKeywords.context, HealthCheckDraft.miscKeywords.names),
        (HealthCheckDraft.fileKeywords.context, HealthCheckDraft.fileKeywords.names),
        (TrackFileDraft.keywords.context, TrackFileDraft.keywords.names),
        (TrackProcessDraft.keywords.context, TrackProcessDraft.keywords.names),
        (SSLSettings.keywords.context, SSLSettings.keywords.names),
    ] + HealthCheckDraft.networkKeywordTables

    public static var allKeywords: Set<String> { Set(tables.flatMap(\.keywords)) }

    static let topLevelKeywords: Set<String> = Set(ConfigurationDraft.keywords.names)

    static func contexts(of keyword: String) -> [String] {
        tables.filter { $0.keywords.contains(keyword) }.map(\.context)
    }
}
