import Testing

import VRRP

/// The group policy alone, fed member statuses as a table.
@Suite("SyncGroupPolicy")
struct SyncGroupPolicyTests {
    typealias Status = SyncGroupPolicy.MemberStatus

    static func groupNotify(_ state: NotifyEvent.State) -> SyncGroupPolicy.Action {
        .notify(NotifyEvent(scope: .group, name: "G", state: state, priority: 0))
    }

    static let backup = Status(state: .backup)
    static let wanting = Status(state: .backup, wantsMaster: true)
    static let master = Status(state: .master)
    static let ownFault = Status(state: .fault, ownFault: true)
    static let followerFault = Status(state: .fault)

    @Test func movesMembersTogether() {
        var group = SyncGroupPolicy(name: "G", members: ["OUT", "IN"], controlsSyncDaemon: true)
        // Nothing until every member has started.
        #expect(group.update(member: "OUT", status: Self.backup).isEmpty)
        #expect(group.state == .initialize)
        #expect(
            group.update(member: "IN", status: Self.backup) == [.switchSyncDaemon(.backup), Self.groupNotify(.backup)])
        // One member ready is not enough.
        #expect(group.update(member: "IN", status: Self.wanting).isEmpty)
        #expect(
            group.update(member: "OUT", status: Self.wanting) == [
                .direct(member: "OUT", .becomeMaster), .direct(member: "IN", .becomeMaster),
                .switchSyncDaemon(.master), Self.groupNotify(.master),
            ])
        // Members reporting their promotion one by one are not told again.
        #expect(group.update(member: "OUT", status: Self.master).isEmpty)
        #expect(group.update(member: "IN", status: Self.master).isEmpty)
        // One member loses an election: the other follows.
        #expect(
            group.update(member: "IN", status: Self.backup) == [
                .direct(member: "OUT", .becomeBackup), .switchSyncDaemon(.backup), Self.groupNotify(.backup),
            ])
        #expect(group.update(member: "OUT", status: Self.backup).isEmpty)
    }

    @Test func faultTakesTheGroupAndClearsTogether() {
        var group = SyncGroupPolicy(name: "G", members: ["OUT", "IN"])
        _ = group.update(member: "OUT", status: Self.master)
        _ = group.update(member: "IN", status: Self.master)
        #expect(
            group.update(member: "IN", status: Self.ownFault) == [
                .direct(member: "OUT", .becomeFault), Self.groupNotify(.fault),
            ])
        #expect(group.update(member: "OUT", status: Self.followerFault).isEmpty)
        // A second member's own fault while the group is down changes nothing.
        #expect(group.update(member: "OUT", status: Status(state: .fault, ownFault: true)).isEmpty)
        #expect(group.update(member: "IN", status: Self.backup) == [.direct(member: "IN", .becomeFault)])
        #expect(group.update(member: "IN", status: Self.followerFault).isEmpty)
        // The last own fault clears: every follower is released and the group is BACKUP.
        #expect(
            group.update(member: "OUT", status: Self.backup) == [
                .direct(member: "IN", .clearFault), Self.groupNotify(.backup),
            ])
        #expect(group.update(member: "IN", status: Self.backup).isEmpty)
        #expect(group.state == .backup)
    }

    @Test func stopNotifiesOnceEveryMemberStopped() {
        var group = SyncGroupPolicy(name: "G", members: ["OUT", "IN"], controlsSyncDaemon: true)
        _ = group.update(member: "OUT", status: Self.master)
        _ = group.update(member: "IN", status: Self.master)
        #expect(group.update(member: "OUT", status: Status(state: .initialize)).isEmpty)
        #expect(
            group.update(member: "IN", status: Status(state: .initialize)) == [
                .switchSyncDaemon(.stopped), Self.groupNotify(.stop),
            ])
    }

    @Test func ignoresStrangers() {
        var group = SyncGroupPolicy(name: "G", members: ["OUT"])
        #expect(group.update(member: "ELSEWHERE", status: Self.master).isEmpty)
        #expect(group.statuses["ELSEWHERE"] == nil)
    }
}

@Suite("Tracking, notify and timing")
struct TrackingNotifyTimingTests {
    @Test func trackingFollowsKeepalivedWeights() {
        var tracking = TrackingState(
            objects: [
                TrackedObject(name: "chk_nginx", weight: -20),
                TrackedObject(name: "eth1", weight: 0),
                TrackedObject(name: "chk_bonus", weight: 10),
                TrackedObject(name: "eth2", weight: 5, reverse: true),
            ],
            initiallyUp: ["chk_nginx", "eth1", "chk_bonus", "eth2"])
        #expect(tracking.summary == TrackingSummary(weight: 10, faulted: false))
        let changed = tracking.set("chk_nginx", up: false)
        let repeated = tracking.set("chk_nginx", up: false)
        let unknown = tracking.set("unknown", up: false)
        #expect(changed && !repeated && !unknown)
        #expect(tracking.summary == TrackingSummary(weight: -10, faulted: false))
        // reverse: a positive weight applies while the object is down.
        tracking.set("eth2", up: false)
        #expect(tracking.summary == TrackingSummary(weight: -5, faulted: false))
        // Unweighted: down means FAULT.
        tracking.set("eth1", up: false)
        #expect(tracking.summary.faulted)
        #expect(tracking.isUp("eth1") == false)
    }

    @Test func weightZeroReverseFaultsWhileUp() {
        let tracking = TrackingState(
            objects: [TrackedObject(name: "standby_flag", weight: 0, reverse: true)], initiallyUp: ["standby_flag"])
        #expect(tracking.summary.faulted)
    }

    @Test func effectivePriorityIsClamped() {
        #expect(TrackingSummary(weight: -20).effectivePriority(base: 101) == 81)
        #expect(TrackingSummary(weight: -200).effectivePriority(base: 101) == 1)
        #expect(TrackingSummary(weight: 200).effectivePriority(base: 101) == 254)
        #expect(TrackingSummary(weight: -200).effectivePriority(base: 255) == 255)
    }

    @Test func notifyArgumentsAndScripts() {
        let event = NotifyEvent(scope: .instance, name: "VI_1", state: .master, priority: 101)
        #expect(event.arguments == ["INSTANCE", "VI_1", "MASTER", "101"])
        let runs = event.invocations(
            master: "/etc/keepalived/master.sh", backup: "/etc/keepalived/backup.sh", fault: nil, stop: nil,
            any: "/opt/scripts/keepalived/send_msg.sh")
        #expect(runs.map(\.script) == ["/etc/keepalived/master.sh", "/opt/scripts/keepalived/send_msg.sh"])
        #expect(runs.map(\.appendedArguments) == [[], ["INSTANCE", "VI_1", "MASTER", "101"]])
        let fault = NotifyEvent(scope: .group, name: "VG_1", state: .fault, priority: 0)
        #expect(fault.invocations(master: "m", backup: "b", fault: nil, stop: nil, any: nil as String?).isEmpty)
        #expect(fault.arguments == ["GROUP", "VG_1", "FAULT", "0"])
    }

    @Test func timerFormulas() {
        // v2: (256 - p)/256 s regardless of advert_int.
        #expect(VRRPTiming.skewTime(version: .v2, priority: 100, masterAdvertIntervalCentiseconds: 300)
            == .nanoseconds(609_375_000))
        #expect(
            VRRPTiming.masterDownInterval(version: .v2, priority: 100, masterAdvertIntervalCentiseconds: 300)
                == .nanoseconds(9_609_375_000))
        // v3: scaled by the interval; advert_int 0.01 s, priority 200: 56 * 1 / 256 cs = 2.1875 ms.
        #expect(VRRPTiming.skewTime(version: .v3, priority: 200, masterAdvertIntervalCentiseconds: 1)
            == .nanoseconds(2_187_500))
        #expect(
            VRRPTiming.masterDownInterval(
                version: .v3, priority: 200, masterAdvertIntervalCentiseconds: 1, downTimerAdverts: 5)
                == .nanoseconds(52_187_500))
        #expect(VRRPTiming.skewTime(version: .v2, priority: 255, masterAdvertIntervalCentiseconds: 100)
            == .nanoseconds(3_906_250))
    }
}
