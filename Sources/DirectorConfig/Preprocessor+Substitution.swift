// `$NAME` / `${NAME}` substitution (keepalived's replace_param), its pre-defined names, and `~SEQ` lines (add_seq).

extension Preprocessor {
    struct Substitution {
        var line: WorkLine
        var changed = false
        /// The further lines of a multi-line definition that ended the line, to be read after it.
        var following: [String] = []
        var followingColumn = 0
    }

    /// Replaces references left to right, reading each replacement again, so a value may use definitions that are
    /// resolved now and not when it was defined (keepalived's rule). nil, with an error, when the line is refused.
    mutating func substitute(_ work: WorkLine, file: String, line: Int, log: inout DiagnosticLog) -> Substitution? {
        var s = work.scalars, c = work.columns
        var result = Substitution(line: work)
        var i = 0, count = 0
        func location(_ index: Int) -> SourceLocation {
            SourceLocation(file: file, line: line, column: c.indices.contains(index) ? c[index] : (c.last ?? 1))
        }
        while i + 1 < s.count {
            guard s[i] == "$" else {
                i += 1
                continue
            }
            let braces = s[i + 1] == "{"
            let nameStart = i + (braces ? 2 : 1)
            guard nameStart < s.count, isNameStart(s[nameStart]) else {
                i += 1
                continue
            }
            var j = nameStart + 1
            while j < s.count && isNameCharacter(s[j]) { j += 1 }
            let name = String(String.UnicodeScalarView(s[nameStart..<j]))
            var parameters: [Substring] = []
            let end: Int
            if braces {
                // `${_RANDOM MIN MAX}`: blanks and digits may follow the name inside the braces, not ending in a blank.
                var k = j
                while k < s.count && (s[k] == " " || ("0"..."9").contains(s[k])) { k += 1 }
                guard k < s.count, s[k] == "}", k == j || s[k - 1] != " " else {
                    i += 1
                    continue
                }
                let inside = String(String.UnicodeScalarView(s[j..<k]))
                parameters = inside.split(separator: " ")
                end = k + 1
            } else {
                end = j
                if end < s.count && !" \t,)".unicodeScalars.contains(s[end]) {
                    if definitions[name] != nil {
                        let written = String(String.UnicodeScalarView(s[i..<min(s.count, end + 1)]))
                        log.error(
                            location(i),
                            "keepalived substitutes $\(name) only before a blank, ',' or ')' or at the end of the line, and would keep '\(written)' as it is written; write ${\(name)}")
                        return nil
                    }
                    i = end
                    continue
                }
            }
            guard let definition = lookup(name, parameters: parameters, file: file, at: location(i), log: &log) else {
                if parameters.isEmpty, let near = nearMiss(name) {
                    log.error(
                        location(i),
                        "$\(name) is not defined (keepalived would keep '$\(name)' as it is written); did you mean $\(near)?")
                    return nil
                }
                i = end
                continue
            }
            if definition.multiline && end != s.count {
                log.error(
                    location(i),
                    "$\(name) is a multi-line definition: it must end its line (keepalived would keep '$\(name)' as it is written here)")
                return nil
            }
            count += 1
            let replacement = Array((definition.lines.first ?? "").unicodeScalars)
            if count > limits.maximumSubstitutions || s.count - (end - i) + replacement.count > limits.maximumLineLength {
                log.error(
                    location(i),
                    "substituting $\(name) does not end within \(limits.maximumSubstitutions) substitutions and \(limits.maximumLineLength) characters (a definition that uses itself?)")
                return nil
            }
            if definition.multiline {
                if result.following.isEmpty { result.followingColumn = c[i] }
                result.following = Array(definition.lines.dropFirst()) + result.following
            }
            let column = c[i]
            s.replaceSubrange(i..<end, with: replacement)
            c.replaceSubrange(i..<end, with: repeatElement(column, count: replacement.count))
            result.changed = true
            // A value that starts with '~' is a ~SEQ line: keepalived reads it again before substituting further.
            if replacement.first(where: { $0 != " " && $0 != "\t" }) == "~" { break }
        }
        result.line = WorkLine(scalars: s[...], columns: c[...])
        return result
    }

    /// A user definition, or one of keepalived's pre-defined names (which a user definition overrides).
    private mutating func lookup(_ name: String, parameters: [Substring], file: String, at location: SourceLocation, log: inout DiagnosticLog) -> Definition? {
        if parameters.isEmpty, let definition = definitions[name] { return definition }
        func single(_ text: String) -> Definition { Definition(lines: [text], multiline: false) }
        if !parameters.isEmpty && name != "_RANDOM" { return nil }
        switch name {
        case "_PWD":
            let directory = directoryName(file)
            return single(directory.isEmpty ? "." : directory)
        case "_INSTANCE": return single(configID)
        case "_HASH": return single("#")
        case "_BANG": return single("!")
        case "_RANDOM":
            let numbers = parameters.prefix(2).map { Int($0.prefix(9)) ?? 0 }
            let low = numbers.first ?? 0, high = numbers.count > 1 ? numbers[1] : 32_767
            if parameters.count > 2 { log.warning(location, "${_RANDOM} takes at most two numbers; keepalived ignores the rest") }
            guard low <= high else {
                log.error(location, "${_RANDOM \(low) \(high)}: the minimum is larger than the maximum")
                return single("\(low)")
            }
            log.warning(location, "${_RANDOM} takes a new value at every start and reload, as in keepalived")
            return single(String(Int.random(in: low...high)))
        default: return nil
        }
    }

    /// A defined name one edit away from `name`, for the "did you mean" of an undefined reference. Bounded: names
    /// longer than 64 characters are not compared, and answers are remembered until a new name is defined.
    private mutating func nearMiss(_ name: String) -> String? {
        if let known = nearMisses[name] { return known }
        guard name.count <= 64, nearMisses.count < 1_024 else { return nil }
        let length = name.count
        let found = definitions.keys
            .filter { abs($0.count - length) <= 1 && $0.count <= 64 && editDistance($0, name) == 1 }
            .min()
        nearMisses[name] = .some(found)
        return found
    }

    // MARK: - ~SEQ

    /// `~SEQ(var, start, step, end) text`, `~SEQ(var, start, end) text`, `~SEQ(var, end) text`; `~SEQx` writes the
    /// values in hexadecimal. The text is read once per value with $var defined, so ~SEQ lines nest.
    mutating func expandSequence(_ work: WorkLine, file: String, line: Int, depth: Int, into out: inout [LogicalLine], log: inout DiagnosticLog) {
        let s = work.scalars
        let here = SourceLocation(file: file, line: line, column: work.column(0))
        func fail(_ why: String) {
            log.error(here, "invalid ~SEQ: \(why); write ~SEQ(var, start, step, end), ~SEQ(var, start, end) or ~SEQ(var, end)")
        }
        func skipBlanks(_ i: inout Int) { while i < s.count && (s[i] == " " || s[i] == "\t") { i += 1 } }
        var i = 4
        let hex = i < s.count && s[i] == "x"
        if hex { i += 1 }
        skipBlanks(&i)
        guard i < s.count, s[i] == "(" else { return fail("'(' is missing") }
        i += 1
        skipBlanks(&i)
        let nameStart = i
        while i < s.count && !" \t,)".unicodeScalars.contains(s[i]) { i += 1 }
        let variable = String(String.UnicodeScalarView(s[nameStart..<i]))
        guard let first = variable.unicodeScalars.first, isNameStart(first), variable.unicodeScalars.allSatisfy(isNameCharacter) else {
            return fail("'\(variable)' is not a variable name")
        }
        skipBlanks(&i)
        guard i < s.count, s[i] == "," else { return fail("',' is missing after the variable") }
        guard let close = s[(i + 1)...].firstIndex(of: ")") else { return fail("')' is missing") }
        var arguments = work.slice(from: i + 1, to: close)
        if arguments.scalars.contains("$") {
            guard let substituted = substitute(arguments, file: file, line: line, log: &log) else { return }
            guard substituted.following.isEmpty else { return fail("a value is a multi-line definition") }
            arguments = substituted.line
        }
        let numbers = arguments.text.split(separator: ",", omittingEmptySubsequences: false).map { parseLong($0) }
        guard (1...3).contains(numbers.count), numbers.allSatisfy({ $0 != nil }) else {
            return fail("'\(arguments.text)' is not one to three numbers")
        }
        let values = numbers.compactMap { $0 }
        var start: Int, step: Int, end: Int
        switch values.count {
        case 1:
            end = values[0]
            step = end < 1 ? -1 : 1
            start = end < 0 ? -1 : 1
        case 2:
            start = values[0]
            end = values[1]
            step = start <= end ? 1 : -1
        default:
            start = values[0]
            step = values[1]
            end = values[2]
            if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
                return fail("step \(step) never goes from \(start) to \(end)")
            }
        }
        if hex && (start < 0 || end < 0) { return fail("~SEQx takes only positive numbers") }
        let (span, overflow) = end.subtractingReportingOverflow(start)
        let (count, tooMany) = overflow ? (Int.max, true) : (span / step).addingReportingOverflow(1)
        if tooMany || count > limits.maximumExpandedLines - expandedLines {
            log.error(here, "~SEQ makes \(tooMany ? "too many" : String(count)) lines; directord reads at most \(limits.maximumExpandedLines) made lines in all")
            exhausted = true
            return
        }
        let text = work.droppingLeadingBlanks(from: close + 1)
        for k in 0..<count {
            guard countExpandedLine(at: here, log: &log) else { return }
            let value = start + k * step
            define(variable, Definition(lines: [hex ? String(value, radix: 16) : String(value)], multiline: false))
            expand(text, file: file, line: line, depth: depth + 1, into: &out, log: &log)
        }
    }
}

/// A number as strtol(3) with base 0 reads it (sign, `0x` hexadecimal, leading-zero octal), with blanks around it;
/// nil for anything else or a value outside 64 bits.
func parseLong<S: StringProtocol>(_ text: S) -> Int? {
    var body = Substring(text.trimmingBlanks())
    var negative = false
    if body.first == "-" || body.first == "+" {
        negative = body.first == "-"
        body = body.dropFirst()
    }
    var radix = 10
    if body.hasPrefix("0x") || body.hasPrefix("0X") {
        radix = 16
        body = body.dropFirst(2)
    } else if body.count > 1 && body.hasPrefix("0") {
        radix = 8
        body = body.dropFirst()
    }
    guard !body.isEmpty, let magnitude = Int(body, radix: radix) else { return nil }
    return negative ? -magnitude : magnitude
}

extension StringProtocol {
    func trimmingBlanks() -> SubSequence {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return self[endIndex...] }
        return self[first...last]
    }
}
