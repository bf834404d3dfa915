// keepalived's per-checker timing as a pure state machine: delay_loop, retry, delay_before_retry, warmup, alpha.
// The caller feeds results and the time; it answers transitions and when to check next.
import Timeline

public struct CheckTiming: Sendable, Hashable {
    /// `delay_loop`: between checks (keepalived default 60 s).
    public var delayLoop: Duration
    /// `retry` (alias `nb_get_retry`): further checks of an up server after a failure before it is taken down,
    /// so it goes down on the (retry + 1)-th failure in a row, as keepalived.
    public var retry: Int
    /// `delay_before_retry`: between those further checks (keepalived: 3 s for HTTP/SSL, 1 s otherwise).
    public var delayBeforeRetry: Duration
    /// `warmup`: the first check runs at a random point within this; nil means delay_loop, zero disables.
    public var warmup: Duration?
    /// `alpha`: start down until the first success (default off: start up, as keepalived).
    public var alpha: Bool

    public init(delayLoop: Duration = .seconds(60), retry: Int = 1, delayBeforeRetry: Duration = .seconds(1),
                warmup: Duration? = nil, alpha: Bool = false) {
        self.delayLoop = delayLoop
        self.retry = max(0, retry)
        self.delayBeforeRetry = delayBeforeRetry
        self.warmup = warmup
        self.alpha = alpha
    }
}

/// A change of a check's verdict, with the result that caused it.
public struct CheckTransition: Sendable, Hashable {
    public let isUp: Bool
    public let result: CheckResult
}

public struct CheckStep: Sendable, Hashable {
    public let transition: CheckTransition?
    public let nextCheck: Moment
}

public struct CheckHealth: Sendable, Hashable {
    public let timing: CheckTiming
    public private(set) var isUp: Bool
    /// Failures in a row since the last success.
    public private(set) var failuresInARow = 0
    public private(set) var lastResult: CheckResult?
    /// The weight the last success asked for (misc_dynamic, FILE_CHECK); nil: the configured weight.
    public private(set) var weight: DynamicWeight?

    public init(timing: CheckTiming) {
        self.timing = timing
        self.isUp = !timing.alpha
    }

    /// When the first check runs; `randomFraction` in [0, 1) is injected so tests are deterministic and 1000 checks
    /// do not fire at once.
    public func firstCheck(at now: Moment, randomFraction: Double) -> Moment {
        let spread = timing.warmup ?? timing.delayLoop
        let fraction = min(max(randomFraction, 0), 1)
        return now + .nanoseconds(Int64(Double(spread.wholeNanoseconds) * fraction))
    }

    public mutating func record(_ result: CheckResult, at now: Moment) -> CheckStep {
        lastResult = result
        if result.isUp {
            failuresInARow = 0
            // A new weight while up is a transition too: the virtual server must hear it.
            let transition = isUp && result.weight == weight ? nil : CheckTransition(isUp: true, result: result)
            isUp = true
            weight = result.weight
            return CheckStep(transition: transition, nextCheck: now + timing.delayLoop)
        }
        failuresInARow += 1
        guard isUp else {
            return CheckStep(transition: nil, nextCheck: now + timing.delayLoop)
        }
        if failuresInARow <= timing.retry {
            return CheckStep(transition: nil, nextCheck: now + timing.delayBeforeRetry)
        }
        isUp = false
        return CheckStep(transition: CheckTransition(isUp: false, result: result), nextCheck: now + timing.delayLoop)
    }
}

