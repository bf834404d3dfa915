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
        // By index throughout: iterating the arrays (filter, map) would copy every server, which costs more than
        // the comparisons.
        let olds = old.virtualServers, nexts = next.virtualServers
        var before: [String: Int] = [:]
        before.reserveCapacity(olds.count)
        for i in olds.indices where before[olds[i].identity] == nil { before[olds[i].identity] = i }
        var after = Set<String>(minimumCapacity: nexts.count)
        changed = []
        for i in nexts.indices {
            after.insert(nexts[i].identity)
            // Same identity and equal value (origins are not part of ==): nothing to do. Two servers read from the
            // same parse-cache entry are equal without a look at their fields (a block below an edit was moved to
            // new lines, which copied its arrays and would make == compare them all).
            if let j = before[nexts[i].identity],
                olds[j].parseSerial.sameEntry(as: nexts[i].parseSerial) || olds[j] == nexts[i]
            {
                continue
            }
            changed.append(nexts[i])
        }
        removed = []
        for i in olds.indices where !after.contains(olds[i].identity) { removed.append(olds[i]) }
        isolated = old.globals == next.globals && old.virtualServerGroups == next.virtualServerGroups && old.ssl == next.ssl
            && old.trackFiles == next.trackFiles && before.count == old.virtualServers.count
            && after.count == next.virtualServers.count
    }

    var isEmpty: Bool { changed.isEmpty && removed.isEmpty }
}
