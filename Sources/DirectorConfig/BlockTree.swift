// Reads files into a tree of `keyword args... { children }` nodes with source locations, expanding includes,
// within fixed limits: no input can make the reader allocate without bound, recurse without bound, or hang.
import Addresses

/// One statement: a keyword, its arguments and, when it opens one, its block.
public struct ConfigNode: Hashable, Sendable {
    public var keyword: ConfigWord
    public var arguments: [ConfigWord]
    /// nil when the statement has no block; `[]` for an empty block.
    public var block: [ConfigNode]?
    public var blockLocation: SourceLocation?
    /// Set on a top-level `virtual_server` block that the parse cache knows or is learning (see ParseCache.swift).
    var segment: SegmentLink?

    public init(keyword: ConfigWord, arguments: [ConfigWord] = [], block: [ConfigNode]? = nil, blockLocation: SourceLocation? = nil) {
        self.keyword = keyword
        self.arguments = arguments
        self.block = block
        self.blockLocation = blockLocation
    }

    public var location: SourceLocation { keyword.location }
    public var name: String { keyword.text }
}

/// Bounds on what the reader accepts; every one is reported with the place where it was hit.
public struct ParseLimits: Hashable, Sendable {
    public var maximumLineLength = 65_536
    public var maximumFileSize = 16 << 20
    public var maximumTotalSize = 64 << 20
    /// keepalived has no limit; one conf.d file per service is common, so thousands must fit.
    public var maximumFiles = 65_536
    public var maximumIncludeDepth = 32
    public var maximumNesting = 16
    /// Lines that ~SEQ and multi-line definitions make, in all.
    public var maximumExpandedLines = 100_000
    /// Definitions within definitions and ~SEQ within ~SEQ.
    public var maximumExpansionDepth = 32
    /// `$NAME` replacements on one line (a definition that uses itself never ends otherwise).
    public var maximumSubstitutions = 4_096
    public var maximumDefinitions = 10_000
    /// Text that substitution and ~SEQ make, in all (a long value repeated by a long ~SEQ).
    public var maximumExpandedBytes = 16 << 20

    public init() {}
}

struct BlockTreeReader {
    let fileSystem: any ConfigFileSystem
    let limits: ParseLimits
    var log: DiagnosticLog
    /// Files in the order they were first read, so diagnostics can follow reading order.
    private(set) var fileOrder: [String] = []
    private var filesSeen: Set<String> = []
    private var includeStack: [String] = []
    private var filesRead = 0
    private var totalBytes = 0

    /// keepalived's definitions are global: a file sees what the files read before it defined.
    private var preprocessor: Preprocessor
    /// Blocks read before are taken from here (nil: every line is read).
    let cache: ParseCache?
    let generation: UInt64
    /// The warnings each newly cached block's lines made while being read, by entry.
    private(set) var segmentWarnings: [ObjectIdentifier: [Diagnostic]] = [:]

    init(fileSystem: any ConfigFileSystem, limits: ParseLimits, configID: String, log: DiagnosticLog = DiagnosticLog(),
         cache: ParseCache? = nil, generation: UInt64 = 0) {
        self.fileSystem = fileSystem
        self.limits = limits
        self.log = log
        self.preprocessor = Preprocessor(configID: configID, limits: limits)
        self.cache = cache
        self.generation = generation
    }

    /// The statements of the main file; an unreadable main file is reported at `path:1:1`.
    mutating func readMain(_ path: String) -> [ConfigNode] {
        readFile(path, nesting: 0, includedAt: nil)
    }

    // MARK: - One file

    /// Canonical paths already worked out in this load, files and their directories (a conf.d of thousands of
    /// files resolves its directory once, then each file with one lstat).
    private var canonicalPaths: [String: String] = [:]

    private mutating func canonical(_ path: String) -> String {
        if let known = canonicalPaths[path] { return known }
        let directory = directoryName(path).isEmpty ? "." : directoryName(path)
        let resolvedDirectory: String
        if let known = canonicalPaths[directory] {
            resolvedDirectory = known
        } else {
            resolvedDirectory = fileSystem.canonicalPath(directory)
            canonicalPaths[directory] = resolvedDirectory
        }
        let resolved = fileSystem.canonicalPath(path, inCanonicalDirectory: resolvedDirectory)
        canonicalPaths[path] = resolved
        return resolved
    }

    /// A cacheable block being read for the first time.
    private struct WatchedSegment {
        var entry: ParseCache.Entry
        /// The block's last line (a last line without a newline is read once the file's end is known).
        var lastLine: Int
        var line: Int
        var mark: DiagnosticLog.Mark
        var children: Int
    }

    /// The rest of a file, up to one byte past the size limit (the line loop reports the limit where it is crossed).
    private func readWhole(_ reader: any ConfigFileReader) throws(FileAccessError) -> [UInt8] {
        var asked = 256 << 10
        var bytes = try reader.read(maximum: asked)
        // A file that fills the first read is a large one: its size as fstat knows it sizes the rest, one more read
        // into room reserved once (1 MB chunks appended to a growing array copied it again and again). A small one,
        // a conf.d snippet, costs its one read and no fstat.
        let expected = bytes.count == asked ? reader.sizeHint : nil
        if let expected { bytes.reserveCapacity(min(expected, limits.maximumFileSize) + 1) }
        // A regular file answers short only at its end.
        while bytes.count == asked && bytes.count <= limits.maximumFileSize {
            // Past the expected size (the file grew meanwhile): on in 1 MB chunks.
            let rest = expected.flatMap { $0 + 1 > bytes.count ? $0 + 1 - bytes.count : nil } ?? 1 << 20
            let more = min(rest, limits.maximumFileSize + 1 - bytes.count)
            let chunk = try reader.read(maximum: more)
            bytes += chunk
            asked += more
            if chunk.count < more { break }
        }
        return bytes
    }

    private struct Frame {
        var header: ConfigNode?
        var children: [ConfigNode] = []
        var openLocation: SourceLocation
    }

    private mutating func readFile(_ path: String, nesting: Int, includedAt: ConfigWord?) -> [ConfigNode] {
        let reportAt = includedAt?.location ?? SourceLocation(file: path, line: 1, column: 1)
        if filesSeen.insert(path).inserted { fileOrder.append(path) }
        let reader: any ConfigFileReader
        do {
            reader = try fileSystem.open(path)
        } catch {
            log.error(reportAt, "cannot read '\(path)': \(error.message)")
            return []
        }
        filesRead += 1
        includeStack.append(canonical(path))
        defer { includeStack.removeLast() }

        var frames = [Frame(header: nil, openLocation: SourceLocation(file: path, line: 1, column: 1))]
        var attachable = false
        var aborted = false
        var lineNumber = 0
        var fileBytes = 0
        var pending: [UInt8] = []
        var endOfFile = false

        func abortReading(_ location: SourceLocation, _ message: String, log: inout DiagnosticLog) {
            log.error(location, message)
            aborted = true
        }

        // With a parse cache the file is read whole, so a block can be looked up before its lines are read.
        let readAll = cache != nil
        var wholeRead = false
        var watched: WatchedSegment?

        readLoop: while !endOfFile && !aborted {
            let chunk: [UInt8]
            do {
                chunk = readAll ? (wholeRead ? [] : try readWhole(reader)) : try reader.read(maximum: 65_536)
                wholeRead = readAll
            } catch {
                abortReading(SourceLocation(file: path, line: lineNumber + 1, column: 1), "cannot read '\(path)': \(error.message)", log: &log)
                break
            }
            if chunk.isEmpty {
                endOfFile = true
                if pending.isEmpty { break }
            }
            var start = 0
            while start < chunk.count || (endOfFile && !pending.isEmpty) {
                if let cache, pending.isEmpty, watched == nil, frames.count == 1, preprocessor.pending == nil,
                    PlainSegment.startsVirtualServer(chunk, at: start)
                {
                    // A block read before is found by its first line and compared byte for byte where it lies; only
                    // a block not seen before is scanned.
                    let known = chunk.withUnsafeBytes { cache.match(path: path, nesting: nesting, in: $0, at: start) }
                    if let (entry, parsed) = known, fileBytes + entry.bytes.count <= limits.maximumFileSize,
                        totalBytes + entry.bytes.count <= limits.maximumTotalSize
                    {
                        // The cached block stands in for its lines.
                        let delta = lineNumber + 1 - parsed.baseLine
                        var node = ConfigNode(
                            keyword: parsed.header.keyword.movingLines(by: delta),
                            arguments: parsed.header.arguments.map { $0.movingLines(by: delta) }, block: [])
                        node.segment = SegmentLink(entry: entry, line: lineNumber + 1)
                        frames[0].children.append(node)
                        cache.countReuse()
                        attachable = false
                        lineNumber += entry.lines
                        fileBytes += entry.bytes.count
                        totalBytes += entry.bytes.count
                        start += entry.bytes.count
                        continue
                    }
                    if known == nil, let segment = PlainSegment.virtualServer(in: chunk, from: start, maximumLineLength: limits.maximumLineLength) {
                        let entry = chunk.withUnsafeBytes { all in
                            cache.entry(path: path, nesting: nesting, bytes: UnsafeRawBufferPointer(rebasing: all[start..<segment.end]),
                                        lines: segment.lines, generation: generation)
                        }
                        if entry.parsed == nil {
                            watched = WatchedSegment(
                                entry: entry, lastLine: lineNumber + segment.lines, line: lineNumber + 1, mark: log.mark,
                                children: frames[0].children.count)
                        }
                    }
                }
                let newline = chunk[start...].firstIndex(of: 10)
                let end = newline ?? chunk.count
                if pending.count + (end - start) > limits.maximumLineLength {
                    let column = columnOf(byteOffset: limits.maximumLineLength, in: pending + chunk[start..<min(end, start + limits.maximumLineLength)])
                    abortReading(
                        SourceLocation(file: path, line: lineNumber + 1, column: column),
                        "line is longer than \(limits.maximumLineLength) bytes; the rest of '\(path)' is not read", log: &log)
                    break readLoop
                }
                pending.append(contentsOf: chunk[start..<end])
                if newline == nil && !endOfFile { break }
                start = end + 1
                lineNumber += 1
                let lineBytes = pending
                pending.removeAll(keepingCapacity: true)
                // Size limits are checked line by line so the error names the line where the limit was crossed.
                let lineStart = fileBytes
                let terminator = newline == nil ? 0 : 1
                fileBytes += lineBytes.count + terminator
                totalBytes += lineBytes.count + terminator
                if fileBytes > limits.maximumFileSize || totalBytes > limits.maximumTotalSize {
                    let overFile = fileBytes > limits.maximumFileSize
                    let offset = overFile ? limits.maximumFileSize - lineStart : lineBytes.count + terminator - (totalBytes - limits.maximumTotalSize)
                    let column = columnOf(byteOffset: max(0, offset), in: lineBytes)
                    abortReading(
                        SourceLocation(file: path, line: lineNumber, column: column),
                        overFile
                            ? "'\(path)' is larger than \(limits.maximumFileSize) bytes; the rest is not read"
                            : "the configuration is larger than \(limits.maximumTotalSize) bytes in total; the rest is not read",
                        log: &log)
                    break readLoop
                }
                guard let text = decodeLine(lineBytes, path: path, line: lineNumber, log: &log) else {
                    aborted = true
                    break readLoop
                }
                let logicalLines = preprocessor.lines(of: text, file: path, line: lineNumber, log: &log)
                    ?? [LogicalLine(text: text, line: lineNumber, columns: [])]
                for logical in logicalLines {
                    let tokens = logical.columns.isEmpty
                        ? Lexer.tokens(of: logical.text, file: path, line: lineNumber, log: &log)
                        : relocatedTokens(of: logical, file: path)
                    if !process(tokens, frames: &frames, attachable: &attachable, nesting: nesting, path: path) {
                        aborted = true
                        break readLoop
                    }
                }
                if let segment = watched, lineNumber >= segment.lastLine {
                    watched = nil
                    // One clean top-level block came of these lines: the loader finishes the entry.
                    if frames.count == 1, frames[0].children.count == segment.children + 1,
                        let warnings = log.warnings(since: segment.mark)
                    {
                        let link = SegmentLink(entry: segment.entry, line: segment.line)
                        frames[0].children[segment.children].segment = link
                        segmentWarnings[ObjectIdentifier(segment.entry)] = warnings
                    }
                }
                if endOfFile { break }
            }
        }

        preprocessor.endOfFile(path, log: &log)
        if !aborted {
            for frame in frames.dropFirst() {
                let what = frame.header.map { "'\($0.name)' block" } ?? "block"
                log.error(
                    frame.openLocation,
                    "\(what) opened here is never closed: '}' missing before the end of '\(path)' (line \(lineNumber))")
            }
        }
        // Close what is open so later stages still see (and check) the statements read so far.
        while frames.count > 1, let frame = frames.popLast() {
            if var header = frame.header {
                header.block = frame.children
                frames[frames.count - 1].children.append(header)
            }
        }
        return frames[0].children
    }

    /// Applies one line's tokens to the open frames; false when reading must stop.
    private mutating func process(
        _ tokens: [Token], frames: inout [Frame], attachable: inout Bool, nesting: Int, path: String
    ) -> Bool {
        var words: [ConfigWord] = []

        func flush(endOfLine: Bool, into frames: inout [Frame], attachable: inout Bool, reader: inout BlockTreeReader) {
            guard let keyword = words.first else { return }
            let node = ConfigNode(keyword: keyword, arguments: Array(words.dropFirst()))
            words = []
            if keyword.text == "include" {
                let spliced = reader.expandInclude(node, nesting: nesting + frames.count - 1)
                frames[frames.count - 1].children.append(contentsOf: spliced)
                attachable = false
            } else {
                frames[frames.count - 1].children.append(node)
                attachable = endOfLine
            }
        }

        for token in tokens {
            switch token {
            case .word(let word):
                words.append(word)
            case .open(let location):
                var header: ConfigNode?
                if let keyword = words.first {
                    header = ConfigNode(keyword: keyword, arguments: Array(words.dropFirst()))
                    words = []
                } else if attachable, let last = frames[frames.count - 1].children.last, last.block == nil {
                    header = frames[frames.count - 1].children.removeLast()
                } else {
                    log.error(location, "'{' without a keyword before it")
                }
                if header?.name == "include" {
                    log.error(location, "'include' does not take a block")
                    header = nil
                }
                header?.blockLocation = location
                if nesting + frames.count > limits.maximumNesting {
                    log.error(location, "blocks are nested deeper than \(limits.maximumNesting) levels; the rest of '\(path)' is not read")
                    return false
                }
                frames.append(Frame(header: header, openLocation: location))
                attachable = false
            case .close(let location):
                flush(endOfLine: false, into: &frames, attachable: &attachable, reader: &self)
                attachable = false
                if frames.count == 1 {
                    log.error(location, "'}' without a matching '{'")
                    continue
                }
                let frame = frames.removeLast()
                if var header = frame.header {
                    header.block = frame.children
                    frames[frames.count - 1].children.append(header)
                }
            }
        }
        flush(endOfLine: true, into: &frames, attachable: &attachable, reader: &self)
        return true
    }

    /// Tokens of a preprocessed line, placed where the operator wrote their text.
    private mutating func relocatedTokens(of logical: LogicalLine, file: String) -> [Token] {
        var lexerLog = DiagnosticLog()
        let tokens = Lexer.tokens(of: logical.text, file: file, line: logical.line, log: &lexerLog)
        for diagnostic in lexerLog.diagnostics {
            log.record(Diagnostic(diagnostic.severity, logical.relocated(diagnostic.location), diagnostic.message))
        }
        return tokens.map { token in
            switch token {
            case .word(var word):
                word.location = logical.relocated(word.location)
                return .word(word)
            case .open(let location): return .open(logical.relocated(location))
            case .close(let location): return .close(logical.relocated(location))
            }
        }
    }

    // MARK: - Includes

    /// `include PATTERN`: files matching the pattern (relative to the including file, in byte order), spliced in place.
    private mutating func expandInclude(_ node: ConfigNode, nesting: Int) -> [ConfigNode] {
        guard node.arguments.count == 1, let pattern = node.arguments.first else {
            log.error(node.arguments.dropFirst().first?.location ?? node.location, "'include' takes exactly one file name or pattern")
            return []
        }
        let resolved = joinPath(directoryName(node.location.file), pattern.text)
        var paths: [String]
        if hasGlobCharacters(pattern.text) {
            do {
                paths = try fileSystem.glob(resolved)
            } catch {
                log.error(pattern.location, "cannot expand '\(resolved)': \(error.message)")
                return []
            }
            if paths.isEmpty {
                log.warning(pattern.location, "include pattern '\(resolved)' matches no file")
            }
        } else {
            paths = [resolved]
        }
        var nodes: [ConfigNode] = []
        for path in paths {
            let canonical = canonical(path)
            if let index = includeStack.firstIndex(of: canonical) {
                let chain = (includeStack[index...] + [canonical]).joined(separator: " -> ")
                log.error(pattern.location, "include cycle: \(chain)")
                continue
            }
            if includeStack.count >= limits.maximumIncludeDepth {
                log.error(pattern.location, "includes are nested deeper than \(limits.maximumIncludeDepth) files")
                continue
            }
            if filesRead >= limits.maximumFiles {
                log.error(pattern.location, "more than \(limits.maximumFiles) files included; '\(path)' is not read")
                break
            }
            nodes += readFile(path, nesting: nesting, includedAt: pattern)
        }
        return nodes
    }

    // MARK: - Bytes to text

    /// The line as text, or nil (with an error at the offending column) for binary data.
    private func decodeLine(_ bytes: [UInt8], path: String, line: Int, log: inout DiagnosticLog) -> String? {
        var body = bytes[...]
        if line == 1 && body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        if let offset = body.firstIndex(where: { ($0 < 0x20 && $0 != 9 && $0 != 13 && $0 != 11 && $0 != 12) || $0 == 0x7f }) {
            let column = columnOf(byteOffset: offset - body.startIndex, in: Array(body))
            let what = body[offset] == 0 ? "a NUL byte" : "control character \(printable(body[offset]))"
            log.error(
                SourceLocation(file: path, line: line, column: column),
                "binary data (\(what)): this is not a configuration file; the rest of '\(path)' is not read")
            return nil
        }
        if let text = String(validating: body, as: UTF8.self) { return text }
        let offset = firstInvalidUTF8Offset(Array(body))
        // Comments are not read, so their bytes may be in any encoding (GBK comments are common in Chinese
        // configurations): only the text before the comment must be UTF-8.
        if let comment = commentStart(Array(body)), comment <= offset,
            let text = String(validating: body.prefix(comment), as: UTF8.self)
        {
            return text
        }
        log.error(
            SourceLocation(file: path, line: line, column: columnOf(byteOffset: offset, in: Array(body))),
            "invalid UTF-8: this is not a configuration file; the rest of '\(path)' is not read")
        return nil
    }
}

/// Where a `#` or `!` comment starts on a line of bytes, outside double quotes.
func commentStart(_ bytes: [UInt8]) -> Int? {
    var quoted = false
    for (i, c) in bytes.enumerated() {
        if c == UInt8(ascii: "\"") { quoted.toggle() }
        if !quoted && (c == UInt8(ascii: "#") || c == UInt8(ascii: "!")) { return i }
    }
    return nil
}

/// 1-based column (in scalars) of a byte offset, counting every non-continuation byte before it.
func columnOf(byteOffset: Int, in bytes: [UInt8]) -> Int {
    bytes.prefix(byteOffset).reduce(1) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
}

func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
    var offset = 0
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar):
            offset += UTF8.width(scalar)
        case .emptyInput:
            return offset
        case .error:
            return offset
        }
    }
}
