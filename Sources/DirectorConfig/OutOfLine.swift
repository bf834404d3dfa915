// Storage for the parts of a model value that most instances leave at their default: kept behind a reference when
// set, nothing when default, so a value that does not use them stays small.

/// A value whose default costs no storage: `OutOfLine` keeps only values other than it.
public protocol OutOfLineDefault: Hashable {
    static var outOfLineDefault: Self { get }
}

extension Optional: OutOfLineDefault where Wrapped: Hashable {
    public static var outOfLineDefault: Self { nil }
}

/// Holds its value out of line, and its default as nothing. At 5000 reals each `HealthCheck` carried 240 bytes of
/// MISC_CHECK, FILE_CHECK and network-check settings inline that an HTTP_GET never sets (heaptrack in the lab). Value
/// semantics: a set replaces the box, never changes one another copy shares.
@propertyWrapper
public struct OutOfLine<Value: OutOfLineDefault & Sendable>: Hashable, Sendable {
    private final class Box: Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    private var box: Box?

    public init(wrappedValue: Value) {
        box = wrappedValue == Value.outOfLineDefault ? nil : Box(wrappedValue)
    }

    public var wrappedValue: Value {
        get { box?.value ?? Value.outOfLineDefault }
        set { box = newValue == Value.outOfLineDefault ? nil : Box(newValue) }
    }

    public static func == (a: OutOfLine, b: OutOfLine) -> Bool { a.box === b.box || a.wrappedValue == b.wrappedValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(wrappedValue) }
}
