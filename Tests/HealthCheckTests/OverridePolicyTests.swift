// The operator's overrides composed with health, in the pure policy: no sockets, no clock.
import Testing
@testable import HealthCheck

@Suite("Virtual server policy: drains and weight overrides")
struct OverridePolicyTests {
    typealias VS = VirtualServerHealth<String, String>
    static let down = CheckTransition(isUp: false, result: refused)
    static let up = CheckTransition(isUp: true, result: .up)

    func make(weights: [String: Int] = ["web1": 2, "web2": 3], overrides: [String: RealOverride] = [:], inhibit: Set<String> = [],
              quorum: QuorumPolicy = QuorumPolicy(), sorry: SorryServerPolicy? = nil) -> VS {
        VS(reals: weights.keys.sorted().map {
            ($0, RealServerPolicy(weight: weights[$0] ?? 1, inhibitOnFailure: inhibit.contains($0), checks: ["check-\($0)"],
                                  override: overrides[$0] ?? RealOverride()))
        }, quorum: quorum, sorryServer: sorry, initiallyUp: { _ in true })
    }

    @Test func aDrainedLiveRealStaysInTheTableAtWeightZero() {
        var before = make()
        _ = before.start()
        var drained = make(overrides: ["web1": RealOverride(drained: true)])
        let step = drained.start(replacing: before)
        #expect(step.desired == [.real("web1", weight: 0), .real("web2", weight: 3)])
        #expect(step.desiredChanged)
        #expect(step.events.isEmpty, "a drain is not a health transition")
        #expect(drained.liveWeight == 3, "a drained real is not live for quorum")
        #expect(drained.isLive("web1"), "its checks still say it is up")
    }

    @Test func aWeightOverrideReplacesTheConfiguredWeightWhileTheRealIsUp() {
        var vs = make(overrides: ["web2": RealOverride(weight: 7)])
        #expect(vs.start().desired == [.real("web1", weight: 2), .real("web2", weight: 7)])
        #expect(vs.liveWeight == 9)
        let gone = vs.apply(check: "check-web2", transition: Self.down)
        #expect(gone.desired == [.real("web1", weight: 2)], "health overrules the override")
        let back = vs.apply(check: "check-web2", transition: Self.up)
        #expect(back.desired == [.real("web1", weight: 2), .real("web2", weight: 7)])
    }

    @Test func drainWinsOverAWeightOverrideAndUndrainReturnsToIt() {
        var vs = make(overrides: ["web1": RealOverride(drained: true, weight: 5)])
        #expect(vs.start().desired.first == .real("web1", weight: 0))
        var undrained = make(overrides: ["web1": RealOverride(weight: 5)])
        #expect(undrained.start(replacing: vs).desired.first == .real("web1", weight: 5))
    }

    @Test func aDrainedRealThatFailsItsChecksLeavesOrStaysInhibited() {
        var vs = make(overrides: ["web1": RealOverride(drained: true)])
        _ = vs.start()
        #expect(vs.apply(check: "check-web1", transition: Self.down).desired == [.real("web2", weight: 3)])
        var inhibited = make(overrides: ["web1": RealOverride(drained: true)], inhibit: ["web1"])
        _ = inhibited.start()
        #expect(inhibited.apply(check: "check-web1", transition: Self.down).desired == [.real("web1", weight: 0), .real("web2", weight: 3)])
        // Back up, it is still drained: weight 0, not its configured 2.
        #expect(inhibited.apply(check: "check-web1", transition: Self.up).desired.first == .real("web1", weight: 0))
    }

    @Test func drainingEveryRealLosesQuorumAndBringsTheSorryServer() {
        var before = make(sorry: SorryServerPolicy())
        _ = before.start()
        var one = make(overrides: ["web1": RealOverride(drained: true)], sorry: SorryServerPolicy())
        let first = one.start(replacing: before)
        #expect(first.events.isEmpty)
        var both = make(overrides: ["web1": RealOverride(drained: true), "web2": RealOverride(drained: true)], sorry: SorryServerPolicy())
        let all = both.start(replacing: one)
        #expect(all.events == [.quorumDown(liveWeight: 0, threshold: 1), .sorryServerActive])
        #expect(all.desired == [.sorryServer(weight: 1)])
        var undrained = make(overrides: ["web2": RealOverride(drained: true)], sorry: SorryServerPolicy())
        let back = undrained.start(replacing: both)
        #expect(back.events == [.quorumUp(liveWeight: 2, threshold: 1), .sorryServerInactive])
        #expect(back.desired == [.real("web1", weight: 2), .real("web2", weight: 0)])
    }

    @Test func aChangedPlanKeepsTheQuorumStateInsideTheHysteresisBand() {
        let q = QuorumPolicy(quorum: 4, hysteresis: 1)
        var vs = make(quorum: q)
        _ = vs.start()
        #expect(vs.quorumUp, "5 >= 4")
        // Draining web1 leaves 3: inside the band (lost only below 4 - 1), so quorum holds.
        var drained = make(overrides: ["web1": RealOverride(drained: true)], quorum: q)
        #expect(drained.start(replacing: vs).events.isEmpty)
        #expect(drained.quorumUp)
        // web2's weight overridden to 1 as well leaves 1: below the band.
        var lower = make(overrides: ["web1": RealOverride(drained: true), "web2": RealOverride(weight: 1)], quorum: q)
        #expect(lower.start(replacing: drained).events == [.quorumDown(liveWeight: 1, threshold: 3)])
        // Back to 4 with web2 at 4: gained only at 4 + 1, so quorum stays down.
        var four = make(overrides: ["web1": RealOverride(drained: true), "web2": RealOverride(weight: 4)], quorum: q)
        #expect(four.start(replacing: lower).events.isEmpty)
        #expect(!four.quorumUp)
    }
}
