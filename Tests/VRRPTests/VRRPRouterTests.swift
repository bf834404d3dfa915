import Timeline
import Addresses
import Testing

import VRRP

/// The router alone, on a manual clock: what it decides for a host, in the order the host performs it.
@Suite("VRRP router")
struct VRRPRouterTests {
    static let t0 = Moment.now

    static func machine(_ name: String, priority: UInt8 = 100, inSyncGroup: Bool = false) throws -> VRRPInstance {
        try VRRPInstance(
            VRRPInstance.Configuration(
                name: name, version: .v2, priority: priority, primaryAddress: .ipv4(0x0A00_0001), inSyncGroup: inSyncGroup))
    }

    static func tracking(_ objects: [TrackedObject], up: Bool = true) -> TrackingState {
        TrackingState(objects: objects, initiallyUp: up ? Set(objects.map(\.name)) : [])
    }

    /// The instance actions in order, as "NAME: action".
    static func steps(_ actions: [VRRPRouter.Action]) -> [String] {
        actions.compactMap { action in
            guard case .instance(let name, let step, _) = action else { return nil }
            return "\(name): \(step)"
        }
    }

    static func states(_ actions: [VRRPRouter.Action]) -> [String] {
        actions.compactMap { action in
            guard case .instance(let name, .stateChanged(let from, let to), _) = action else { return nil }
            return "\(name) \(from.rawValue)→\(to.rawValue)"
        }
    }

    /// Both instances started, then their master-down timers fired: a group of two, MASTER.
    static func masterGroup(tracking groupObjects: [TrackedObject] = []) throws -> VRRPRouter {
        var router = VRRPRouter()
        router.addGroup(SyncGroupPolicy(name: "G", members: ["VI_OUT", "VI_IN"]), tracking: tracking(groupObjects))
        router.add(try machine("VI_OUT", inSyncGroup: true), group: "G", tracking: tracking([]))
        router.add(
            try machine("VI_IN", inSyncGroup: true), group: "G", tracking: tracking([TrackedObject(name: "interface:eth1")]))
        _ = router.handle(.instance("VI_OUT", .start), now: t0, reason: "started")
        _ = router.handle(.instance("VI_IN", .start), now: t0, reason: "started")
        let later = t0 + .seconds(4)
        _ = router.handle(.instance("VI_OUT", .timerFired(.masterDown)), now: later)
        _ = router.handle(.instance("VI_IN", .timerFired(.masterDown)), now: later)
        return router
    }

    @Test func aScriptChangesStatusOnlyAfterRiseOrFallRunsInARow() throws {
        var router = VRRPRouter()
        router.addScript("chk", .init(rise: 2, fall: 3, up: true))
        router.add(try Self.machine("VI_1"), group: nil, tracking: Self.tracking([TrackedObject(name: "script:chk", weight: 20)]))
        #expect(router.summary(of: "VI_1") == TrackingSummary(weight: 20))

        // Two failures, a success (the count starts again), then three failures: down at the third.
        for succeeded in [false, false, true, false, false] {
            #expect(router.handle(.scriptFinished("chk", succeeded: succeeded), now: Self.t0).isEmpty)
        }
        let down = router.handle(.scriptFinished("chk", succeeded: false), now: Self.t0)
        #expect(down.first == .scriptStatus("chk", up: false))
        #expect(router.scripts["chk"]?.failures == 3 && router.scripts["chk"]?.up == false)
        #expect(router.summary(of: "VI_1") == TrackingSummary(weight: 0))
        #expect(router.members["VI_1"]?.machine.effectivePriority == 100)

        // One success is not enough with rise 2.
        #expect(router.handle(.scriptFinished("chk", succeeded: true), now: Self.t0).isEmpty)
        let up = router.handle(.scriptFinished("chk", succeeded: true), now: Self.t0)
        #expect(up.first == .scriptStatus("chk", up: true))
        #expect(router.members["VI_1"]?.machine.effectivePriority == 120)
    }

    @Test func aScriptNobodyTracksIsCountedButTellsNoInstance() throws {
        var router = VRRPRouter()
        router.addScript("lonely", .init(rise: 1, fall: 1, up: true))
        router.add(try Self.machine("VI_1"), group: nil, tracking: Self.tracking([]))
        #expect(router.handle(.scriptFinished("lonely", succeeded: false), now: Self.t0) == [.scriptStatus("lonely", up: false)])
        #expect(router.handle(.scriptFinished("unknown", succeeded: false), now: Self.t0).isEmpty)
    }

    @Test func aSharedObjectReachesItsInstancesInTheOrderTheyWereAdded() throws {
        var router = VRRPRouter()
        let link = TrackedObject(name: "interface:eth0")
        for name in ["VI_C", "VI_A", "VI_B"] {
            router.add(try Self.machine(name), group: nil, tracking: Self.tracking([link]))
            _ = router.handle(.instance(name, .start), now: Self.t0)
        }
        let actions = router.handle(.tracked("interface:eth0", up: false), now: Self.t0, reason: "eth0 link down")
        #expect(Self.states(actions) == ["VI_C BACKUP→FAULT", "VI_A BACKUP→FAULT", "VI_B BACKUP→FAULT"])
        for case .instance(_, _, let context) in actions { #expect(context.reason == "eth0 link down" && !context.starting) }
        // The same status again changes nothing.
        #expect(router.handle(.tracked("interface:eth0", up: false), now: Self.t0).isEmpty)
    }

    @Test func startActionsSayTheyCameFromStartAndCarryThePriorityAfterIt() throws {
        var router = VRRPRouter()
        router.add(try Self.machine("VI_1"), group: nil, tracking: Self.tracking([TrackedObject(name: "script:chk", weight: -30)], up: false))
        let summary = try #require(router.summary(of: "VI_1"))
        _ = router.handle(.instance("VI_1", .trackingChanged(summary)), now: Self.t0)
        let actions = router.handle(.instance("VI_1", .start), now: Self.t0, reason: "started")
        #expect(!actions.isEmpty)
        for case .instance(_, _, let context) in actions {
            #expect(context == VRRPRouter.Context(reason: "started", starting: true, priority: 70))
        }
    }

    @Test func oneMembersFaultTakesItsSiblingAlongAndTheGroupSaysSo() throws {
        var router = try Self.masterGroup()
        #expect(router.groups["G"]?.policy.state == .master)
        let actions = router.handle(.tracked("interface:eth1", up: false), now: Self.t0 + .seconds(5), reason: "eth1 link down")
        #expect(Self.states(actions) == ["VI_IN MASTER→FAULT", "VI_OUT MASTER→FAULT"])
        // The group's state change comes after the member that caused it, before the sibling follows.
        let order = actions.map { action -> String in
            switch action {
            case .instance(let name, .stateChanged, _): "state \(name)"
            case .groupState(let group, _, let to, let member, _): "group \(group) \(to.rawValue) by \(member)"
            case .groupNotify(let group, let event): "notify \(group) \(event.state)"
            default: ""
            }
        }.filter { !$0.isEmpty }
        #expect(order.prefix(3) == ["state VI_IN", "group G FAULT by VI_IN", "notify G fault"])
        #expect(order.contains("state VI_OUT"))
        let sibling = actions.first { if case .instance("VI_OUT", .stateChanged, _) = $0 { true } else { false } }
        guard case .instance(_, _, let context)? = sibling else {
            Issue.record("VI_OUT did not change state")
            return
        }
        #expect(context.reason == "sync group G follows a member into FAULT (eth1 link down)")
    }

    @Test func aGroupsOwnTrackingCountsForEveryMember() throws {
        var router = try Self.masterGroup(tracking: [TrackedObject(name: "script:gw", weight: 0)])
        #expect(router.summary(of: "VI_OUT") == TrackingSummary())
        let actions = router.handle(.tracked("script:gw", up: false), now: Self.t0 + .seconds(5))
        #expect(Set(Self.states(actions)) == ["VI_OUT MASTER→FAULT", "VI_IN MASTER→FAULT"])
        #expect(router.summary(of: "VI_OUT")?.faulted == true && router.summary(of: "VI_IN")?.faulted == true)
    }

    @Test func eventsForInstancesItDoesNotRunAreIgnored() throws {
        var router = try Self.masterGroup()
        #expect(router.handle(.instance("VI_GONE", .start), now: Self.t0).isEmpty)
        // A member removed by a reload: the group's directives skip it, the other member still acts.
        router.remove("VI_OUT")
        let actions = router.handle(.tracked("interface:eth1", up: false), now: Self.t0 + .seconds(5))
        #expect(Self.states(actions) == ["VI_IN MASTER→FAULT"])
    }

    @Test func retrackKeepsTheStateAndReplacesTheObjects() throws {
        var router = try Self.masterGroup()
        router.retrack("VI_IN", Self.tracking([TrackedObject(name: "interface:eth2", weight: 10)]))
        #expect(router.members["VI_IN"]?.machine.state == .master)
        #expect(router.summary(of: "VI_IN") == TrackingSummary(weight: 10))
        #expect(router.handle(.tracked("interface:eth1", up: false), now: Self.t0).isEmpty)
        #expect(router.trackedObjects == ["interface:eth2"])
    }
}
