// Parsed virtual_server blocks kept from one load to the next, so a reload reads again only what changed.
//
// A top-level `virtual_server` block is cached when its result can depend on nothing but its bytes: no `$`, `\`,
// `@` or `~` anywhere in it (so keepalived's preprocessor passes its lines through), no `include`, ASCII outside
// comments, its `{` on the first line and nothing after its last `}`, and not a `group` service (those read the
// virtual_server_group definitions). The key is the file, the include depth and the bytes themselves, compared
// exactly. The value is the resolved `VirtualServer` and every warning the block produced, at the line where the
// block was read; a block that moved is shifted to its new line. A block that produced an error is never cached.
import Glibc
import Synchronization

/// Shared by the loads of one daemon (start, reload, diff). Loads under other `ParseLimits` do not use it.
public final class ParseCache: Sendable {
    let limits: ParseLimits
    private let state = Mutex(State())

    /// Blocks are found by a hash of their file, include depth and bytes, then compared byte for byte: a lookup
    /// reads the block where it lies in the file, with no copy.
    struct Bucket {
        var entries: [Entry] = []
    }

    private struct State {
        var buckets: [Int: Bucket] = [:]
        var count = 0
        var generation: UInt64 = 0
        var reused = 0
    }

    public init(limits: ParseLimits = ParseLimits()) {
        self.limits = limits
    }

    /// Blocks held.
    public var count: Int { state.withLock { $0.count } }
    /// Blocks the last load took from the cache instead of reading them.
    public var reusedByLastLoad: Int { state.withLock { $0.reused } }

    /// Starts a load: entries used by it are kept by `endLoad`.
    func beginLoad() -> UInt64 {
        state.withLock {
            $0.generation += 1
            $0.reused = 0
            return $0.generation
        }
    }

    func countReuse() { state.withLock { $0.reused += 1 } }

    /// Blocks are filed by their file, include depth and first line (the header, up to its newline).
    static func hash(path: String, nesting: Int, firstLine: UnsafeRawBufferPointer) -> Int {
        var hasher = Hasher()
        hasher.combine(path)
        hasher.combine(nesting)
        hasher.combine(bytes: firstLine)
        return hasher.finalize()
    }

    static func firstLine(of bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard let base = bytes.baseAddress, let newline = memchr(base, 10, bytes.count) else { return bytes }
        return UnsafeRawBufferPointer(start: base, count: base.distance(to: UnsafeRawPointer(newline)) + 1)
    }

    /// The complete entry whose bytes are the file's bytes at `start` (ending there with a newline, or with the
    /// file); nil when no entry of that header matches.
    func match(path: String, nesting: Int, in file: UnsafeRawBufferPointer, at start: Int) -> (Entry, Entry.Parsed)? {
        let rest = UnsafeRawBufferPointer(rebasing: file[start...])
        let hash = Self.hash(path: path, nesting: nesting, firstLine: Self.firstLine(of: rest))
        return state.withLock { state in
            guard let bucket = state.buckets[hash] else { return nil }
            for entry in bucket.entries where entry.nesting == nesting && entry.path == path {
                guard let parsed = entry.parsed, entry.bytes.count <= rest.count, entry.bytes.last == 10 || entry.bytes.count == rest.count,
                    entry.matches(UnsafeRawBufferPointer(rebasing: rest[..<(rest.startIndex + entry.bytes.count)]))
                else { continue }
                entry.lastUsed.store(state.generation, ordering: .relaxed)
                return (entry, parsed)
            }
            return nil
        }
    }

    /// The entry for a block just scanned, created (empty) when the block has not been seen; marked as used.
    func entry(path: String, nesting: Int, bytes: UnsafeRawBufferPointer, lines: Int, generation: UInt64) -> Entry {
        let hash = Self.hash(path: path, nesting: nesting, firstLine: Self.firstLine(of: bytes))
        return state.withLock { state in
            if let found = state.buckets[hash]?.entries.first(where: { $0.nesting == nesting && $0.path == path && $0.matches(bytes) }) {
                found.lastUsed.store(generation, ordering: .relaxed)
                return found
            }
            let entry = Entry(path: path, nesting: nesting, bytes: Array(bytes), lines: lines, generation: generation)
            state.buckets[hash, default: Bucket()].entries.append(entry)
            state.count += 1
            return entry
        }
    }

    /// Forgets the blocks this load did not read: the cache holds one configuration's worth.
    func endLoad(_ generation: UInt64) {
        state.withLock { state in
            var stale: [Int] = []
            for (hash, bucket) in state.buckets
            where bucket.entries.contains(where: { $0.lastUsed.load(ordering: .relaxed) < generation || !$0.isComplete }) {
                stale.append(hash)
            }
            for hash in stale {
                let before = state.buckets[hash]?.entries.count ?? 0
                let kept = state.buckets[hash]?.entries.filter { $0.lastUsed.load(ordering: .relaxed) >= generation && $0.isComplete } ?? []
                state.buckets[hash] = kept.isEmpty ? nil : Bucket(entries: kept)
                state.count -= before - kept.count
            }
        }
    }

    /// One block: filled by the load that first reads it, then read by the loads after.
    final class Entry: Sendable {
        let path: String
        let nesting: Int
        let bytes: [UInt8]
        /// Lines the block spans.
        let lines: Int
        let lastUsed: Atomic<UInt64>
        /// Unique for the life of the process (an address could be reused once an entry is gone).
        let serial: UInt64
        private let stored = Mutex<Parsed?>(nil)
        private static let serials = Atomic<UInt64>(0)

        /// Immutable and shared: taking it from the cache is one reference.
        final class Parsed: Sendable {
            /// The line the block started on when it was parsed.
            let baseLine: Int
            /// `virtual_server` and its arguments, for the placeholder node a hit stands for.
            let header: ConfigNode
            let server: VirtualServer
            /// Warnings from reading, keywords and resolving, in the order they were made.
            let diagnostics: [Diagnostic]

            init(baseLine: Int, header: ConfigNode, server: VirtualServer, diagnostics: [Diagnostic]) {
                self.baseLine = baseLine
                self.header = header
                self.server = server
                self.diagnostics = diagnostics
            }
        }

        init(path: String, nesting: Int, bytes: [UInt8], lines: Int, generation: UInt64) {
            self.path = path
            self.nesting = nesting
            self.bytes = bytes
            self.lines = lines
            lastUsed = Atomic(generation)
            serial = Self.serials.add(1, ordering: .relaxed).newValue
        }

        /// The block's bytes are exactly `bytes`.
        func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
            guard self.bytes.count == bytes.count else { return false }
            return self.bytes.withUnsafeBytes { mine in
                guard let a = mine.baseAddress, let b = bytes.baseAddress else { return bytes.isEmpty }
                return memcmp(a, b, bytes.count) == 0
            }
        }

        var parsed: Parsed? { stored.withLock { $0 } }
        var isComplete: Bool { parsed != nil }

        func store(_ parsed: Parsed) { stored.withLock { $0 = parsed } }
    }
}

/// Ties a node (and the draft made from it) to its cache entry; invisible to `==` and hashing, like `SourceOrigin`.
struct SegmentLink: Hashable, Sendable {
    let entry: ParseCache.Entry
    /// The line the block starts on in this load.
    let line: Int

    static func == (_: SegmentLink, _: SegmentLink) -> Bool { true }
    func hash(into hasher: inout Hasher) {}
}

/// What a block's first parse collected before it could be stored: the warnings of reading and of its keywords.
struct PendingSegment: Sendable {
    var link: SegmentLink
    var header: ConfigNode
    var diagnostics: [Diagnostic]
}

// MARK: - Finding a cacheable block

enum PlainSegment {
    /// The end (the offset after its last line's newline, or the end of `bytes`) and the line count of the
    /// top-level `virtual_server` block that starts at `start`, when it is cacheable (see the file's comment).
    /// The line at `start` begins with the word `virtual_server` (after blanks): the cheap test before a lookup.
    static func startsVirtualServer(_ bytes: [UInt8], at start: Int) -> Bool {
        var i = start
        while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
        return hasWord(bytes, at: i, "virtual_server")
    }

    static func virtualServer(in bytes: [UInt8], from start: Int, maximumLineLength: Int) -> (end: Int, lines: Int)? {
        let count = bytes.count
        var i = start
        while i < count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
        guard hasWord(bytes, at: i, "virtual_server") else { return nil }
        var next = i + 14
        while next < count, bytes[next] == UInt8(ascii: " ") || bytes[next] == UInt8(ascii: "\t") { next += 1 }
        if hasWord(bytes, at: next, "group") { return nil }

        let found: (end: Int, lines: Int)? = bytes.withUnsafeBufferPointer { buffer in
            scan(buffer, from: i, lineStart: start, maximumLineLength: maximumLineLength)
        }
        guard let found, !contains(bytes[start..<found.end], "include") else { return nil }
        return found
    }

    /// What each byte is to the scanner: most are nothing (0), so the loop does one table load and one compare.
    private static let classes: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256)
        for c in "$\\@~".utf8 { table[Int(c)] = 1 }  // the preprocessor's: never cached
        for c in "#!".utf8 { table[Int(c)] = 2 }
        for c in "\"'".utf8 { table[Int(c)] = 3 }
        table[Int(UInt8(ascii: "{"))] = 4
        table[Int(UInt8(ascii: "}"))] = 5
        table[10] = 6
        for c in 0x80...0xFF { table[c] = 7 }
        for c in [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), 0x0B, 0x0C] { table[Int(c)] = 8 }
        return table
    }()

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, from begin: Int, lineStart first: Int, maximumLineLength: Int)
        -> (end: Int, lines: Int)?
    {
        classes.withUnsafeBufferPointer { classes in
            // Locals of the closure itself, so they live in registers.
            let count = bytes.count
            var depth = 0, lines = 0, lineStart = first
            var quote: UInt8 = 0
            var comment = false, opened = false, closed = false
            var i = begin
            while i < count {
                let c = bytes[i]
                let kind = classes[Int(c)]
                i += 1
                if kind == 0 {
                    if closed && !comment && quote == 0 { return nil }
                    continue
                }
                if kind == 6 {
                    // The header's `{` must be on its first line; a quote never spans lines.
                    guard quote == 0, opened, i - 1 - lineStart <= maximumLineLength else { return nil }
                    lines += 1
                    if closed { return (i, lines) }
                    lineStart = i
                    comment = false
                    continue
                }
                // Whatever the preprocessor would look at, even in a comment, makes the block uncacheable.
                if kind == 1 { return nil }
                if comment || kind == 8 { continue }
                if kind == 7 { return nil }
                if quote != 0 {
                    if c == quote { quote = 0 }
                    continue
                }
                if kind == 2 {
                    comment = true
                    continue
                }
                if closed { return nil }
                switch kind {
                case 3: quote = c
                case 4:
                    depth += 1
                    opened = true
                case 5:
                    depth -= 1
                    if depth < 0 { return nil }
                    if depth == 0 { closed = true }
                default: break
                }
            }
            guard closed, quote == 0, count - lineStart <= maximumLineLength else { return nil }
            return (count, lines + 1)
        }
    }

    private static func hasWord(_ bytes: [UInt8], at i: Int, _ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard i + length <= bytes.count else { return false }
        let matches = word.withUTF8Buffer { w in (0..<length).allSatisfy { bytes[i + $0] == w[$0] } }
        guard matches else { return false }
        guard i + length < bytes.count else { return true }
        let after = bytes[i + length]
        return after == UInt8(ascii: " ") || after == UInt8(ascii: "\t") || after == UInt8(ascii: "{")
    }

    private static func contains(_ bytes: ArraySlice<UInt8>, _ word: StaticString) -> Bool {
        bytes.withUnsafeBufferPointer { haystack in
            word.withUTF8Buffer { needle in
                guard let base = haystack.baseAddress, let wanted = needle.baseAddress, let first = needle.first, haystack.count >= needle.count
                else { return false }
                var offset = 0
                let last = haystack.count - needle.count
                while offset <= last {
                    // memchr finds each candidate first byte at C speed.
                    guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return false }
                    let at = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
                    if memcmp(base + at, wanted, needle.count) == 0 { return true }
                    offset = at + 1
                }
                return false
            }
        }
    }
}

// MARK: - Moving a cached block to its new line

extension SourceLocation {
    func movingLines(by delta: Int) -> SourceLocation {
        var moved = self
        moved.line += delta
        return moved
    }
}

extension SourceOrigin {
    func movingLines(by delta: Int) -> SourceOrigin { SourceOrigin(location?.movingLines(by: delta)) }
}

extension Diagnostic {
    func movingLines(by delta: Int) -> Diagnostic { Diagnostic(severity, location.movingLines(by: delta), message) }
}

extension ConfigWord {
    func movingLines(by delta: Int) -> ConfigWord {
        var moved = self
        moved.location = location.movingLines(by: delta)
        return moved
    }
}

extension VirtualServer {
    /// The same server declared `delta` lines further down. Every `SourceOrigin` a virtual server holds is here;
    /// `ParseCacheTests` compares every location of a cached load with those of a fresh one.
    func movingLines(by delta: Int) -> VirtualServer {
        guard delta != 0 else { return self }
        var moved = self
        moved.origin = origin.movingLines(by: delta)
        moved.sorryServer?.origin = sorryServer?.origin.movingLines(by: delta) ?? SourceOrigin(nil)
        for i in moved.realServers.indices {
            moved.realServers[i].origin = realServers[i].origin.movingLines(by: delta)
        }
        return moved
    }
}
