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
        let scalars = Array(line.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        func location(_ index: Int) -> SourceLocation { SourceLocation(file: file, line: number, column: index + 1) }

        while i < scalars.count {
            let c = scalars[i]
            if isSpace(c) {
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
                if isSpace(c) || c == "{" || c == "}" { break }
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
