import DirectorConfig

/// What a reload changes among the virtual servers, matched by identity. When nothing outside them that the health
/// plans and the desired table read has changed (`isolated`), the unchanged ones need no work at all: their checks,
/// verdicts and kernel entries stay as they are, and a reload costs what changed.
struct ReloadChanges: Sendable {
    /// Added or different, in the new configuration's order.
    var changed: [VirtualServer]
    /// In the running configuration and not in the new one.
    var removed: [VirtualServer]
    /// The globals, virtual_server_groups, SSL block and track files are the same (the health plans read the first
    /// and the last two, the desired table the first two), and identities are unique on both sides.
    var isolated: Bool

    init(from old: Configuration, to next: Configuration) {
        // By position, so no virtual server is copied to be compared.
        let before = Dictionary(old.virtualServers.indices.map { (old.virtualServers[$0].identity, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Set(next.virtualServers.map(\.identity))
        // Same identity and equal value (origins are not part of ==): nothing to do. Equal arrays from the parse
        // cache share their storage, so most comparisons stop at the first field.
        changed = next.virtualServers.filter { vs in before[vs.identity].map { old.virtualServers[$0] != vs } ?? true }
        removed = old.virtualServers.filter { !after.contains($0.identity) }
        isolated = old.globals == next.globals && old.virtualServerGroups == next.virtualServerGroups && old.ssl == next.ssl
            && old.trackFiles == next.trackFiles && before.count == old.virtualServers.count
            && after.count == next.virtualServers.count
    }

    var isEmpty: Bool { changed.isEmpty && removed.isEmpty }
}
