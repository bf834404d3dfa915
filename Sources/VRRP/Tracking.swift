/// One tracked object (track_script, track_interface, track_file ...) as keepalived weighs it.
public struct TrackedObject: Hashable, Sendable {
    /// Script, interface or file name.
    public var name: String
    /// 0: failure means FAULT; > 0: added while up; < 0: added (so subtracted) while down.
    public var weight: Int
    /// `reverse`: the object counts as up when it is down and vice versa.
    public var reverse: Bool
    /// A track_file: the object carries a number (`TrackingState.set(_:value:)`), not up/down.
    public var tracksValue: Bool

    public init(name: String, weight: Int = 0, reverse: Bool = false, tracksValue: Bool = false) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
        self.tracksValue = tracksValue
    }

    /// What a track_file value means for an instance (keepalived's process_update_vrrp_track_file_status):
    /// nil is FAULT, otherwise the priority change. Weight 0: a non-zero value (zero with reverse) is FAULT.
    /// Else value × weight (negated by reverse), limited to -254...253, where -254 is FAULT.
    public func fileContribution(_ value: Int64) -> Int? {
        if weight == 0 { return (value != 0) != reverse ? nil : 0 }
        // |value| ≤ 2^31 and |weight| ≤ 254: the product fits in 64 bits.
        let product = value * Int64(weight) * (reverse ? -1 : 1)
        let status = Int(min(max(product, -254), 253))
        return status == -254 ? nil : status
    }
}

/// What tracking means for an instance right now: a priority adjustment and whether it must be in FAULT.
public struct TrackingSummary: Hashable, Sendable {
    /// Sum of the weights that currently apply.
    public var weight: Int
    /// An unweighted object is down.
    public var faulted: Bool

    public init(weight: Int = 0, faulted: Bool = false) {
        self.weight = weight
        self.faulted = faulted
    }

    /// keepalived's effective priority: an owner (255) is never moved; others are clamped to 1...254 so tracking
    /// can neither make an address owner nor a resigning router.
    public func effectivePriority(base: UInt8) -> UInt8 {
        if base == 255 { return 255 }
        return UInt8(min(254, max(1, Int(base) + weight)))
    }
}

/// The up/down status of an instance's (or sync group's) tracked objects.
///
/// Wiring: the script runner / link monitor calls `set(_:up:)`; when it returns true, feed `summary` to the
/// instances concerned as `.trackingChanged`.
public struct TrackingState: Hashable, Sendable {
    /// The tracked objects with their weights.
    public private(set) var objects: [TrackedObject]
    private var up: [String: Bool]
    /// The last number read for each track_file (0 until one is).
    private var values: [String: Int64]

    /// `initiallyUp` names the objects considered up before the first report (keepalived: scripts without
    /// `init_fail`, interfaces whose link is up).
    public init(objects: [TrackedObject], initiallyUp: Set<String>) {
        self.objects = objects
        self.up = Dictionary(objects.map { ($0.name, initiallyUp.contains($0.name)) }, uniquingKeysWith: { a, _ in a })
        self.values = Dictionary(objects.filter(\.tracksValue).map { ($0.name, 0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Records a track_file's number; true when it changed. Unknown names are ignored (false).
    @discardableResult
    public mutating func set(_ name: String, value: Int64) -> Bool {
        guard let old = values[name], old != value else { return false }
        values[name] = value
        return true
    }

    /// The last number recorded for a tracked file, nil when not tracked.
    public func value(_ name: String) -> Int64? { values[name] }

    /// Records a status; true when it changed the summary's inputs. Unknown names are ignored (false).
    @discardableResult
    public mutating func set(_ name: String, up isUp: Bool) -> Bool {
        guard let old = up[name], old != isUp else { return false }
        up[name] = isUp
        return true
    }

    /// Whether `name` is currently up (before `reverse`), nil when not tracked.
    public func isUp(_ name: String) -> Bool? { up[name] }

    /// The current weight total and fault flag.
    public var summary: TrackingSummary {
        var result = TrackingSummary()
        for object in objects {
            if object.tracksValue {
                if let change = object.fileContribution(values[object.name] ?? 0) {
                    result.weight += change
                } else {
                    result.faulted = true
                }
                continue
            }
            let effectiveUp = (up[object.name] ?? false) != object.reverse
            if object.weight == 0 {
                if !effectiveUp { result.faulted = true }
            } else if object.weight > 0 {
                if effectiveUp { result.weight += object.weight }
            } else if !effectiveUp {
                result.weight += object.weight
            }
        }
        return result
    }
}
