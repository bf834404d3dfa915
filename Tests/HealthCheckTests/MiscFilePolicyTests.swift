// MISC_CHECK's exit statuses, FILE_CHECK's file values and the dynamic weights they ask for, composed with the
// operator's overrides: all pure, no process, no file, no clock.
import NIOCore
import Timeline
import Testing
@testable import HealthCheck

@Suite("MISC_CHECK exit status mapping")
struct MiscExitTests {
    @Test func zeroIsUpAtTheConfiguredWeight() {
        #expect(MiscCheck.result(of: .exited(0), dynamic: false) == .up)
        #expect(MiscCheck.result(of: .exited(0), dynamic: true) == .up)
    }

    @Test func oneIsDownWithOrWithoutDynamic() {
        #expect(!MiscCheck.result(of: .exited(1), dynamic: false).isUp)
        #expect(!MiscCheck.result(of: .exited(1), dynamic: true).isUp)
    }

    @Test func twoTo255SetTheWeightToStatusMinusTwoOnlyWithDynamic() {
        #expect(MiscCheck.result(of: .exited(2), dynamic: true) == .up(weight: .set(0)))
        #expect(MiscCheck.result(of: .exited(12), dynamic: true) == .up(weight: .set(10)))
        #expect(MiscCheck.result(of: .exited(255), dynamic: true) == .up(weight: .set(253)))
        #expect(!MiscCheck.result(of: .exited(12), dynamic: false).isUp, "without misc_dynamic any non-zero status is down")
    }

    @Test func signalsTimeoutsAndStartFailuresAreDown() {
        #expect(MiscCheck.result(of: .signalled(9), dynamic: true).failure == .scriptFailed("killed by signal 9"))
        #expect(MiscCheck.result(of: .timedOut, dynamic: true).failure == .scriptFailed("timed out and was killed"))
        #expect(!MiscCheck.result(of: .failedToStart("no such user x"), dynamic: false).isUp)
    }
}

@Suite("FILE_CHECK value parsing and verdicts")
struct FileValueTests {
    func parse(_ text: String) -> Int64? { FileCheck.parseValue(Array(text.utf8)) }

    @Test func numbersAsStrtolReadsThem() {
        #expect(parse("1\n") == 1)
        #expect(parse("  -42 trailing words") == -42)
        #expect(parse("+7") == 7)
        #expect(parse("0x1f") == 31)
        #expect(parse("010") == 8, "base 0: a leading zero is octal, as strtol")
        #expect(parse("0x") == 0, "'0x' with no hex digit is the 0 before it")
    }

    @Test func garbageAndEmptyReadAsZero() {
        #expect(parse("") == 0)
        #expect(parse("up") == 0)
        #expect(parse("\n\n") == 0)
        #expect(FileCheck.parseValue([0xff, 0x00, 0x31]) == 0)
    }

    @Test func outOfRangeIsIgnored() {
        #expect(parse("2147483648") == 2_147_483_648, "keepalived accepts up to 2^31")
        #expect(parse("2147483649") == nil)
        #expect(parse("-2147483649") == nil)
        #expect(parse(String(repeating: "9", count: 40)) == nil, "too long for 64 bits")
    }

    @Test func onlyTheFirst127BytesCount() {
        // A huge file of digits: only the first 127 are read, and that is out of range: ignored, never a trap.
        #expect(FileCheck.parseValue([UInt8](repeating: UInt8(ascii: "1"), count: 1 << 20)) == nil)
        // Blanks pushing the number past the limit: nothing readable.
        #expect(parse(String(repeating: " ", count: 130) + "5") == 0)
        // Truncated mid-number (a writer caught half way): what is there counts.
        #expect(parse("12") == 12)
    }

    @Test func weightZeroIsASwitch() {
        let check = FileCheck(path: "/x", weight: 0)
        #expect(check.result(for: 0) == .up(weight: .offset(0)))
        #expect(!check.result(for: 1).isUp)
        #expect(!check.result(for: -3).isUp)
        let reversed = FileCheck(path: "/x", weight: 0, reverse: true)
        #expect(!reversed.result(for: 0).isUp, "reverse: zero is the failure")
        #expect(reversed.result(for: 1) == .up(weight: .offset(0)))
    }

    @Test func aWeightMultipliesTheValueIntoAnOffset() {
        #expect(FileCheck(path: "/x", weight: 2).result(for: 5) == .up(weight: .offset(10)))
        #expect(FileCheck(path: "/x", weight: 2, reverse: true).result(for: 5) == .up(weight: .offset(-10)))
        #expect(FileCheck(path: "/x", weight: 1).result(for: -4) == .up(weight: .offset(-4)))
    }

    @Test func atOrBelowMinus2To31IsAFault() {
        #expect(!FileCheck(path: "/x", weight: 1).result(for: -2_147_483_648).isUp)
        #expect(!FileCheck(path: "/x", weight: 2_147_483_647).result(for: -2).isUp, "clamped to -2^31")
        #expect(FileCheck(path: "/x", weight: 2_147_483_647).result(for: 2_147_483_648) == .up(weight: .offset(Int(Int32.max))),
                "a huge product is clamped, never overflows")
    }
}

@Suite("Dynamic weights in the virtual server policy")
struct DynamicWeightPolicyTests {
    typealias VS = VirtualServerHealth<String, String>

    func make(weight: Int = 5, override: RealOverride = RealOverride(), checks: [String] = ["misc"]) -> VS {
        VS(reals: [("web1", RealServerPolicy(weight: weight, checks: checks, override: override)),
                   ("web2", RealServerPolicy(weight: 1, checks: ["other"]))],
           initiallyUp: { _ in true })
    }

    func up(_ weight: DynamicWeight?) -> CheckTransition { CheckTransition(isUp: true, result: .up(weight: weight)) }

    @Test func aDynamicWeightReplacesTheConfiguredOneAndZeroGivesItBack() {
        var vs = make()
        #expect(vs.start().desired == [.real("web1", weight: 5), .real("web2", weight: 1)])
        let set = vs.apply(check: "misc", transition: up(.set(10)))
        #expect(set.desired == [.real("web1", weight: 10), .real("web2", weight: 1)])
        #expect(set.desiredChanged && set.events.isEmpty, "a weight change is not an up/down event")
        #expect(vs.liveWeight == 11, "quorum counts the dynamic weight")
        #expect(vs.apply(check: "misc", transition: up(nil)).desired.first == .real("web1", weight: 5))
    }

    @Test func aFailureForgetsTheWeightAndTheNextSuccessBringsItsOwn() {
        var vs = make()
        _ = vs.start()
        _ = vs.apply(check: "misc", transition: up(.set(10)))
        let down = vs.apply(check: "misc", transition: CheckTransition(isUp: false, result: .down(.scriptFailed("exited with status 1"))))
        #expect(down.desired == [.real("web2", weight: 1)])
        #expect(vs.apply(check: "misc", transition: up(.set(3))).desired.first == .real("web1", weight: 3))
    }

    @Test func drainWinsAndAnOperatorWeightWinsOverTheDynamicWeight() {
        var drained = make(override: RealOverride(drained: true))
        _ = drained.start()
        #expect(drained.apply(check: "misc", transition: up(.set(10))).desired.first == .real("web1", weight: 0))
        var weighted = make(override: RealOverride(weight: 7))
        _ = weighted.start()
        #expect(weighted.apply(check: "misc", transition: up(.set(10))).desired.first == .real("web1", weight: 7))
        // `directorctl weight --reset` rebuilds the policy without the override: the check's weight is back.
        let reset = VS(reals: [("web1", RealServerPolicy(weight: 5, checks: ["misc"]))], initiallyUp: { _ in true },
                       initialWeight: { _ in .set(10) })
        #expect(reset.weight(of: "web1") == 10)
    }

    @Test func offsetsAddUpAndAreKeptInTheKernelsRange() {
        var vs = make(weight: 5, checks: ["misc", "file"])
        _ = vs.start()
        _ = vs.apply(check: "misc", transition: up(.set(10)))
        #expect(vs.apply(check: "file", transition: up(.offset(3))).desired.first == .real("web1", weight: 13))
        #expect(vs.apply(check: "file", transition: up(.offset(-100))).desired.first == .real("web1", weight: 0))
        #expect(vs.apply(check: "file", transition: up(.offset(Int(Int32.max)))).desired.first == .real("web1", weight: 65535))
    }

    @Test func aReloadKeepsTheWeightItsRunningCheckAsked() {
        let vs = VS(reals: [("web1", RealServerPolicy(weight: 5, checks: ["misc"]))], initiallyUp: { _ in true },
                    initialWeight: { _ in .set(9) })
        #expect(vs.weight(of: "web1") == 9)
    }

    @Test func checkHealthReportsAWeightChangeWhileUp() {
        var health = CheckHealth(timing: CheckTiming(delayLoop: .seconds(1), retry: 0))
        let now = Moment.zero
        #expect(health.record(.up, at: now).transition == nil)
        #expect(health.record(.up(weight: .set(4)), at: now).transition == CheckTransition(isUp: true, result: .up(weight: .set(4))))
        #expect(health.record(.up(weight: .set(4)), at: now).transition == nil, "the same weight again is no news")
        #expect(health.record(.up, at: now).transition?.result == .up, "back to the configured weight is news")
    }
}
