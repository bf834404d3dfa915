// keepalived's line-level language, applied to each line before the lexer: `@ID`/`@^ID` conditional lines,
// `$NAME=value` definitions (multi-line with a trailing `\`), `$NAME`/`${NAME}` substitution and `~SEQ` lines
// (lib/parser.c of keepalived 2.2.7: read_line, check_definition, replace_param, add_seq). Definitions are shared
// by every file in reading order, as keepalived's are. Every expansion is bounded by `ParseLimits`.

/// One line after preprocessing, with the original column of each of its scalars (a substituted scalar has the
/// column of the `$` that produced it), so diagnostics keep pointing at what the operator wrote.
struct LogicalLine {
    var text: String
    var line: Int
    var columns: [Int]

    func relocated(_ location: SourceLocation) -> SourceLocation {
        var moved = location
        moved.line = line
        let index = location.column - 1
        moved.column = columns.indices.contains(index) ? columns[index] : (columns.last ?? 1)
        return moved
    }
}

/// A line being worked on: its scalars and where each came from.
struct WorkLine {
    var scalars: [Unicode.Scalar]
    var columns: [Int]

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
        columns = (0..<scalars.count).map { $0 + 1 }
    }

    init(_ text: String, allAt column: Int) {
        scalars = Array(text.unicodeScalars)
        columns = Array(repeating: column, count: scalars.count)
    }

    init(scalars: ArraySlice<Unicode.Scalar>, columns: ArraySlice<Int>) {
        self.scalars = Array(scalars)
        self.columns = Array(columns)
    }

    var isEmpty: Bool { scalars.isEmpty }
    var text: String { String(String.UnicodeScalarView(scalars)) }
    /// The column of the scalar at `index`, or of the line's end.
    func column(_ index: Int) -> Int { columns.indices.contains(index) ? columns[index] : (columns.last.map { $0 + 1 } ?? 1) }

    func slice(from start: Int, to end: Int? = nil) -> WorkLine {
        let end = min(end ?? scalars.count, scalars.count), start = min(start, end)
        return WorkLine(scalars: scalars[start..<end], columns: columns[start..<end])
    }

    func hasPrefix(_ prefix: String) -> Bool { scalars.starts(with: prefix.unicodeScalars) }

    /// The text before any comment, without surrounding blanks; quotes are read as the lexer reads them, so a
    /// `#` inside quotes stays text.
    func code() -> WorkLine {
        var quote: Unicode.Scalar?
        var end = scalars.count
        var i = 0
        scan: while i < scalars.count {
            let c = scalars[i]
            if let open = quote {
                let typographic = open == Lexer.leftTypographicQuote || open == Lexer.rightTypographicQuote
                if c == "\\" && open != "'" {
                    i += 2
                    continue
                }
                if typographic ? (c == Lexer.leftTypographicQuote || c == Lexer.rightTypographicQuote) : c == open { quote = nil }
            } else if c == "#" || c == "!" {
                end = i
                break scan
            } else if c == "\"" || c == "'" || c == Lexer.leftTypographicQuote || c == Lexer.rightTypographicQuote {
                quote = c
            }
            i += 1
        }
        return slice(from: 0, to: end).trimmed()
    }

    func trimmed() -> WorkLine {
        guard let first = scalars.firstIndex(where: { !Lexer.isSpace($0) }),
              let last = scalars.lastIndex(where: { !Lexer.isSpace($0) }) else { return slice(from: 0, to: 0) }
        return slice(from: first, to: last + 1)
    }

    func droppingLeadingBlanks(from index: Int) -> WorkLine {
        var i = index
        while i < scalars.count && (scalars[i] == " " || scalars[i] == "\t") { i += 1 }
        return slice(from: i)
    }
}

/// A definition: one line of text, or the lines of a multi-line definition.
struct Definition: Sendable {
    var lines: [String]
    var multiline: Bool
}

struct Preprocessor {
    let configID: String
    let limits: ParseLimits
    var definitions: [String: Definition] = [:]
    /// A multi-line definition still reading its lines, and where it started.
    var pending: (name: String, lines: [String], location: SourceLocation)?
    /// Lines made by ~SEQ and multi-line definitions so far, against `limits.maximumExpandedLines`.
    var expandedLines = 0
    var expandedBytes = 0
    var exhausted = false
    /// Near-miss answers for undefined names, forgotten whenever a new name is defined.
    var nearMisses: [String: String?] = [:]

    init(configID: String, limits: ParseLimits) {
        self.configID = configID
        self.limits = limits
    }

    /// The lines one physical line becomes; nil when it needs no preprocessing (the usual case) and reads as it is.
    mutating func lines(of text: String, file: String, line: Int, log: inout DiagnosticLog) -> [LogicalLine]? {
        if pending == nil && isPlain(text) { return nil }
        let work = WorkLine(text)
        if pending != nil {
            continueDefinition(work, log: &log)
            return []
        }
        var out: [LogicalLine] = []
        expand(work.code(), file: file, line: line, depth: 0, into: &out, log: &log)
        return out
    }

    /// At the end of a file: a definition still open there is an error (keepalived would run on into whatever it
    /// reads next, another file's lines included).
    mutating func endOfFile(_ path: String, log: inout DiagnosticLog) {
        guard let open = pending else { return }
        log.error(
            open.location,
            "the definition of $\(open.name) still continues ('\\' at the end of its last line) at the end of '\(path)'; end it with a line that has no '\\'")
        finishDefinition()
    }

    private func isPlain(_ text: String) -> Bool {
        var sawContent = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "$") || byte == UInt8(ascii: "\\") { return false }
            if !sawContent && byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") {
                if byte == UInt8(ascii: "@") || byte == UInt8(ascii: "~") { return false }
                sawContent = true
            }
        }
        return true
    }

    // MARK: - Definitions

    /// A line of an open multi-line definition. An empty line ends it, a comment line is skipped, and a line
    /// without a trailing `\` is its last (keepalived's read_line).
    private mutating func continueDefinition(_ work: WorkLine, log: inout DiagnosticLog) {
        guard var open = pending else { return }
        if work.scalars.allSatisfy({ $0 == "\r" }) {
            finishDefinition()
            return
        }
        var code = work.code()
        if code.isEmpty { return }
        let continues = code.scalars.last == "\\"
        if continues { code = code.slice(from: 0, to: code.scalars.count - 1).trimmed() }
        if !code.isEmpty { open.lines.append(code.text) }
        pending = open
        if !continues { finishDefinition() }
    }

    private mutating func finishDefinition() {
        guard let open = pending else { return }
        pending = nil
        define(open.name, Definition(lines: open.lines, multiline: !open.lines.isEmpty))
    }

    mutating func define(_ name: String, _ definition: Definition) {
        if definitions.updateValue(definition, forKey: name) == nil { nearMisses.removeAll() }
    }

    /// `$NAME=` at the start of the line: the name and where the value starts. keepalived allows no blank before `=`.
    private func definitionHead(_ work: WorkLine) -> (name: String, valueStart: Int)? {
        let s = work.scalars
        guard s.count >= 2, s[0] == "$", isNameStart(s[1]) else { return nil }
        var i = 2
        while i < s.count && isNameCharacter(s[i]) { i += 1 }
        guard i < s.count, s[i] == "=" else { return nil }
        return (String(String.UnicodeScalarView(s[1..<i])), i + 1)
    }

    private mutating func startDefinition(_ work: WorkLine, name: String, valueStart: Int, file: String, line: Int, log: inout DiagnosticLog) {
        if definitions.count >= limits.maximumDefinitions && definitions[name] == nil {
            log.error(SourceLocation(file: file, line: line, column: work.column(0)), "more than \(limits.maximumDefinitions) definitions; $\(name) is not defined")
            return
        }
        var value = work.droppingLeadingBlanks(from: valueStart)
        guard value.scalars.last == "\\" else {
            define(name, Definition(lines: [value.text], multiline: false))
            return
        }
        value = value.slice(from: 0, to: value.scalars.count - 1).trimmed()
        pending = (name, value.isEmpty ? [] : [value.text], SourceLocation(file: file, line: line, column: work.column(0)))
    }

    // MARK: - One line

    func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.isASCII && c.properties.isAlphabetic) }
    func isNameCharacter(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) }

    /// Applies conditionals, definitions, ~SEQ and substitution to one line (already without its comment), in
    /// keepalived's order, and appends what is left to `out`.
    mutating func expand(_ start: WorkLine, file: String, line: Int, depth: Int, into out: inout [LogicalLine], log: inout DiagnosticLog) {
        var work = start
        if work.isEmpty || exhausted { return }
        func location(_ index: Int) -> SourceLocation { SourceLocation(file: file, line: line, column: work.column(index)) }
        if depth > limits.maximumExpansionDepth {
            log.error(location(0), "definitions and ~SEQ nest deeper than \(limits.maximumExpansionDepth) levels here (a definition that uses itself?)")
            exhausted = true
            return
        }
        if work.scalars[0] == "@" {
            let negated = work.scalars.count > 1 && work.scalars[1] == "^"
            let idStart = negated ? 2 : 1
            guard let blank = work.scalars[idStart...].firstIndex(where: { $0 == " " || $0 == "\t" }) else {
                log.warning(location(0), "conditional line '\(work.text)' has nothing after the config id; keepalived ignores it")
                return
            }
            let id = String(String.UnicodeScalarView(work.scalars[idStart..<blank]))
            if (id == configID) == negated { return }
            work = work.droppingLeadingBlanks(from: blank)
            if work.isEmpty { return }
        }
        if let head = definitionHead(work) {
            startDefinition(work, name: head.name, valueStart: head.valueStart, file: file, line: line, log: &log)
            return
        }
        if work.hasPrefix("~SEQ") {
            expandSequence(work, file: file, line: line, depth: depth, into: &out, log: &log)
            return
        }
        if work.hasPrefix("~LST") {
            log.error(location(0), "~LST lines are not supported by directord; write the lines out, or use ~SEQ")
            return
        }
        var following: [String] = []
        var followingColumn = 0
        if work.scalars[0] != "~" && work.scalars.contains("$") {
            guard let substituted = substitute(work, file: file, line: line, log: &log) else { return }
            if substituted.changed {
                following = substituted.following
                followingColumn = substituted.followingColumn
                let again = substituted.line
                if let first = again.scalars.first, first == "@" || first == "~" || definitionHead(again) != nil {
                    expand(again, file: file, line: line, depth: depth + 1, into: &out, log: &log)
                    work = WorkLine("")
                } else {
                    work = again
                }
            }
        }
        if !work.isEmpty { emit(work, file: file, line: line, into: &out, log: &log) }
        for text in following {
            guard countExpandedLine(at: SourceLocation(file: file, line: line, column: followingColumn), log: &log) else { return }
            expand(WorkLine(text, allAt: followingColumn), file: file, line: line, depth: depth + 1, into: &out, log: &log)
        }
    }

    private mutating func emit(_ work: WorkLine, file: String, line: Int, into out: inout [LogicalLine], log: inout DiagnosticLog) {
        if work.scalars.last == "\\" {
            // keepalived joins lines only inside a definition; elsewhere it keeps the '\' as part of the last word.
            log.error(
                SourceLocation(file: file, line: line, column: work.column(work.scalars.count - 1)),
                "a line ending with '\\' continues only inside a $NAME= definition; keepalived would read the '\\' as part of the last word here")
            return
        }
        expandedBytes += work.scalars.count
        if expandedBytes > limits.maximumExpandedBytes {
            log.error(
                SourceLocation(file: file, line: line, column: work.column(0)),
                "definitions and ~SEQ make more than \(limits.maximumExpandedBytes) bytes of text; the rest is not read")
            exhausted = true
            return
        }
        out.append(LogicalLine(text: work.text, line: line, columns: work.columns))
    }

    /// Counts one line made by an expansion; false (with one error) once the limit is reached.
    mutating func countExpandedLine(at location: SourceLocation, log: inout DiagnosticLog) -> Bool {
        if exhausted { return false }
        expandedLines += 1
        if expandedLines > limits.maximumExpandedLines {
            log.error(location, "~SEQ and multi-line definitions make more than \(limits.maximumExpandedLines) lines; the rest is not read")
            exhausted = true
            return false
        }
        return true
    }
}
