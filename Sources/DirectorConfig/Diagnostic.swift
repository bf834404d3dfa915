// Where configuration text came from, and what is wrong with it, in the `file:line:col: error: ...` form.

/// A position in a configuration file: 1-based line and column (columns count Unicode scalars).
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

/// Where a model value was declared. Deliberately invisible to `==` and hashing: two configurations that differ
/// only in line numbers are the same configuration, which is what a reload diff needs.
public struct SourceOrigin: Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation?

    public init(_ location: SourceLocation?) { self.location = location }

    public static func == (_: SourceOrigin, _: SourceOrigin) -> Bool { true }
    public func hash(into hasher: inout Hasher) {}
    public var description: String { location?.description ?? "<unknown>" }
}

public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Hashable, Sendable {
        case error
        case warning
    }

    public var severity: Severity
    public var location: SourceLocation
    public var message: String

    public init(_ severity: Severity, _ location: SourceLocation, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// Collects diagnostics with a cap per severity, so a garbage file cannot produce an unbounded list, and many
/// warnings (a large valid configuration) never crowd out an error or turn into one.
struct DiagnosticLog: Sendable {
    static let maximumCount = 200

    private(set) var diagnostics: [Diagnostic] = []
    private(set) var errorCount = 0
    private var shown: [Diagnostic.Severity: Int] = [:]
    private var overflowed: Set<Diagnostic.Severity> = []

    /// Every diagnostic made, shown or not.
    private var madeCount = 0

    var hasErrors: Bool { errorCount > 0 }

    mutating func error(_ location: SourceLocation, _ message: String) {
        errorCount += 1
        append(Diagnostic(.error, location, message))
    }

    mutating func warning(_ location: SourceLocation, _ message: String) {
        append(Diagnostic(.warning, location, message))
    }

    /// A point in the log, to collect what was made after it.
    struct Mark {
        fileprivate var shown: Int
        fileprivate var made: Int
        fileprivate var errors: Int
    }

    var mark: Mark { Mark(shown: diagnostics.count, made: madeCount, errors: errorCount) }

    /// The warnings made since `mark`; nil when an error was made or a diagnostic was left out (past the cap).
    func warnings(since mark: Mark) -> [Diagnostic]? {
        guard errorCount == mark.errors, madeCount - mark.made == diagnostics.count - mark.shown else { return nil }
        return Array(diagnostics[mark.shown...])
    }

    mutating func record(_ diagnostic: Diagnostic) {
        switch diagnostic.severity {
        case .error: error(diagnostic.location, diagnostic.message)
        case .warning: warning(diagnostic.location, diagnostic.message)
        }
    }

    private mutating func append(_ diagnostic: Diagnostic) {
        madeCount += 1
        let severity = diagnostic.severity
        if shown[severity, default: 0] < Self.maximumCount {
            shown[severity, default: 0] += 1
            diagnostics.append(diagnostic)
        } else if overflowed.insert(severity).inserted {
            // The notice has the severity of what it hides: hidden warnings leave a valid configuration valid.
            diagnostics.append(Diagnostic(
                severity, diagnostic.location, "too many \(severity.rawValue)s; the first \(Self.maximumCount) are shown"))
        }
    }
}
