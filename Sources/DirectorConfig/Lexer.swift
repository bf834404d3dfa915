// Splits one line of keepalived syntax into words and braces: comments, quotes (with keepalived's escapes),
// and the typographic quotes that blog posts leave behind.

enum Token: Sendable {
    case word(ConfigWord)
    case open(SourceLocation)
    case close(SourceLocation)
}

/// One word of configuration text, with quotes removed, and where it started.
public struct ConfigWord: Hashable, Sendable, CustomStringConvertible {
    public var text: String
    public var location: SourceLocation

    public init(_ text: String, at location: SourceLocation) {
        self.text = text
        self.location = location
    }

    public var description: String { text }
}

struct Lexer {
    static let leftTypographicQuote: Unicode.Scalar = "\u{201C}"
    static let rightTypographicQuote: Unicode.Scalar = "\u{201D}"

    /// Tokens of one line; problems (unterminated quote, typographic quotes) go to `log`.
    static func tokens(of line: String, file: String, line number: Int, log: inout DiagnosticLog) -> [Token] {
        var line = line
        // Configuration is almost always ASCII: its bytes are its scalars, so words are slices of the line's
        // storage, made into strings once, with no per-character work.
        if let tokens = line.withUTF8({ asciiTokens(of: $0, file: file, line: number, log: &log) }) { return tokens }
        return scalarTokens(of: line, file: file, line: number, log: &log)
    }

    /// The ASCII fast path: nil when the line holds any other byte (the scalar path then reads it).
    private static func asciiTokens(
        of bytes: UnsafeBufferPointer<UInt8>, file: String, line number: Int, log: inout DiagnosticLog
    ) -> [Token]? {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), cr = UInt8(ascii: "\r")
        let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}"), hash = UInt8(ascii: "#")
        let bang = UInt8(ascii: "!"), doubleQuote = UInt8(ascii: "\""), singleQuote = UInt8(ascii: "'")
        let backslash = UInt8(ascii: "\\")
        func isSpace(_ c: UInt8) -> Bool { c == space || c == tab || c == cr || c == 0x0B || c == 0x0C }
        if bytes.contains(where: { $0 >= 0x80 }) { return nil }
        var tokens: [Token] = []
        var i = 0
        let count = bytes.count
        func location(_ index: Int) -> SourceLocation { SourceLocation(file: file, line: number, column: index + 1) }

        while i < count {
            let c = bytes[i]
            if isSpace(c) {
                i += 1
                continue
            }
            if c == hash || c == bang { break }
            if c == openBrace || c == closeBrace {
                tokens.append(c == openBrace ? .open(location(i)) : .close(location(i)))
                i += 1
                continue
            }
            let start = i
            // Bytes of a word that needed unquoting; nil while the word is a plain slice of the line.
            var unquoted: [UInt8]?
            var plainStart = i
            var commentStarts = false
            wordLoop: while i < count {
                let c = bytes[i]
                if isSpace(c) || c == openBrace || c == closeBrace { break }
                if c == hash || c == bang {
                    commentStarts = true
                    break
                }
                if c == doubleQuote || c == singleQuote {
                    var text = unquoted ?? []
                    text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainStart..<i]))
                    let open = i
                    i += 1
                    var closed = false
                    while i < count {
                        let q = bytes[i]
                        if q == c {
                            closed = true
                            i += 1
                            break
                        }
                        if q == backslash && c != singleQuote && i + 1 < count {
                            text.append(UInt8(truncatingIfNeeded: unescape(Unicode.Scalar(bytes[i + 1])).value))
                            i += 2
                            continue
                        }
                        text.append(q)
                        i += 1
                    }
                    unquoted = text
                    plainStart = i
                    if !closed {
                        log.error(location(open), "unterminated quoted string: the closing '\(Unicode.Scalar(c))' is missing on this line")
                        break wordLoop
                    }
                    continue
                }
                i += 1
            }
            let word: String
            if var text = unquoted {
                text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainStart..<i]))
                word = String(decoding: text, as: UTF8.self)
            } else {
                word = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            tokens.append(.word(ConfigWord(word, at: location(start))))
            if commentStarts { break }
        }
        return tokens
    }

    /// The general path, scalar by scalar (columns count scalars), for lines with non-ASCII text.
    private static func scalarTokens(of line: String, file: String, line number: Int, log: inout DiagnosticLog) -> [Token] {
        let scalars = Array(line.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        func location(_ index: Int) -> SourceLocation { SourceLocation(file: file, line: number, column: index + 1) }

        var reportedNonBreakingSpace = false
        // keepalived splits words on ASCII blanks only: a U+00A0 pasted from a web page is part of its word there,
        // so the line is an unknown keyword and ignored. Read here as the space it looks like, as typographic
        // quotes are read as plain ones, with a warning that says the difference.
        func nonBreakingSpace(at index: Int) {
            guard !reportedNonBreakingSpace else { return }
            reportedNonBreakingSpace = true
            log.warning(location(index), "non-breaking space (U+00A0, as pasted from a web page) read as a space; keepalived reads it as part of a word and ignores this line as an unknown keyword: write a plain space")
        }

        while i < scalars.count {
            let c = scalars[i]
            if isSpace(c) {
                if c == "\u{A0}" { nonBreakingSpace(at: i) }
                i += 1
                continue
            }
            if c == "#" || c == "!" { break }
            if c == "{" {
                tokens.append(.open(location(i)))
                i += 1
                continue
            }
            if c == "}" {
                tokens.append(.close(location(i)))
                i += 1
                continue
            }
            let start = i
            var text = String.UnicodeScalarView()
            var commentStarts = false
            wordLoop: while i < scalars.count {
                let c = scalars[i]
                if isSpace(c) || c == "{" || c == "}" {
                    if c == "\u{A0}" { nonBreakingSpace(at: i) }
                    break
                }
                if c == "#" || c == "!" {
                    commentStarts = true
                    break
                }
                if c == "\"" || c == "'" || c == leftTypographicQuote || c == rightTypographicQuote {
                    let typographic = c == leftTypographicQuote || c == rightTypographicQuote
                    let open = i
                    i += 1
                    var closed = false
                    while i < scalars.count {
                        let q = scalars[i]
                        if typographic ? (q == leftTypographicQuote || q == rightTypographicQuote) : q == c {
                            closed = true
                            i += 1
                            break
                        }
                        if q == "\\" && c != "'" && i + 1 < scalars.count {
                            text.append(unescape(scalars[i + 1]))
                            i += 2
                            continue
                        }
                        text.append(q)
                        i += 1
                    }
                    if !closed {
                        log.error(location(open), "unterminated quoted string: the closing \(typographic ? "quote" : "'\(c)'") is missing on this line")
                        break wordLoop
                    }
                    if typographic {
                        log.warning(
                            location(open),
                            "typographic quotes (\u{201C} \u{201D}) read as plain quotes; write \" instead")
                    }
                    continue
                }
                text.append(c)
                i += 1
            }
            tokens.append(.word(ConfigWord(String(text), at: location(start))))
            if commentStarts { break }
        }
        return tokens
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" || c == "\u{A0}"
    }

    /// keepalived's escapes inside quotes: \n \t \r and friends; any other `\C` is C itself.
    private static func unescape(_ c: Unicode.Scalar) -> Unicode.Scalar {
        switch c {
        case "n": "\n"
        case "t": "\t"
        case "r": "\r"
        case "a": "\u{07}"
        case "b": "\u{08}"
        case "f": "\u{0C}"
        case "v": "\u{0B}"
        case "E": "\u{1B}"
        default: c
        }
    }
}
