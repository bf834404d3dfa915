import Timeline
import Addresses
import Testing

import VRRP

/// The instance state machine driven directly, event by event, with a manual clock.
@Suite("VRRPInstance")
struct VRRPInstanceTests {
    typealias Action = VRRPInstance.Action

    static let me = IPAddress.ipv4(0x0A00_0001)  // 10.0.0.1
    static let peer = IPAddress.ipv4(0x0A00_0002)  // 10.0.0.2

    /// A manual clock: an epoch and an offset moved by hand.
    struct ManualClock {
        let epoch = Moment.now
        var offset: Duration = .zero
        var now: Moment { epoch + offset }
        func at(_ offset: Duration) -> Moment { epoch + offset }
    }

    static func config(
        priority: UInt8 = 100, version: VRRPVersion = .v2, interval: UInt16 = 100,
        _ configure: (inout VRRPInstance.Configuration) -> Void = { _ in }
    ) -> VRRPInstance.Configuration {
        var c = VRRPInstance.Configuration(
            name: "VI_1", version: version, priority: priority, advertIntervalCentiseconds: interval,
            primaryAddress: me)
        configure(&c)
        return c
    }

    /// An instance driven to MASTER by its down timer (v2, priority 100: 3.609375 s).
    static func master(
        _ clock: inout ManualClock, _ configure: (inout VRRPInstance.Configuration) -> Void = { _ in }
    ) throws -> VRRPInstance {
        var instance = try VRRPInstance(config(configure))
        _ = instance.handle(.start, now: clock.now)
        clock.offset = .nanoseconds(3_609_375_000)
        _ = instance.handle(.timerFired(.masterDown), now: clock.now)
        #expect(instance.state == .master)
        return instance
    }

    static func notify(_ state: NotifyEvent.State, _ priority: Int = 100) -> Action {
        .notify(NotifyEvent(scope: .instance, name: "VI_1", state: state, priority: priority))
    }

    @Test func rejectsUnrunnableConfigurations() {
        func error(_ configure: (inout VRRPInstance.Configuration) -> Void) -> VRRPInstance.ConfigurationError? {
            do {
                _ = try VRRPInstance(Self.config(configure))
                return nil
            } catch { return error }
        }
        #expect(error { $0.priority = 0 } == .priorityZero(instance: "VI_1"))
        #expect(error { $0.advertIntervalCentiseconds = 50 } == .intervalOutOfRange(instance: "VI_1", centiseconds: 50))
        #expect(
            error {
                $0.version = .v3
                $0.advertIntervalCentiseconds = 5000
            } == .intervalOutOfRange(instance: "VI_1", centiseconds: 5000))
        #expect(error { $0.preemptDelay = .seconds(1001) } == .preemptDelayOutOfRange(instance: "VI_1"))
        #expect(error { $0.downTimerAdverts = 0 } == .downTimerAdvertsOutOfRange(instance: "VI_1", value: 0))
        #expect(
            error { $0.gratuitous.masterRepeat = -1 } == .negativeGratuitousSetting(instance: "VI_1"))
        #expect(error { _ in } == nil)
    }

    @Test func startEntersBackupWithMasterDownTimer() throws {
        let clock = ManualClock()
        var instance = try VRRPInstance(Self.config())
        let actions = instance.handle(.start, now: clock.now)
        #expect(
            actions == [
                .removeVirtualAddresses,
                .stateChanged(from: .initialize, to: .backup),
                .armTimer(.masterDown, deadline: clock.at(.nanoseconds(3_609_375_000))),
                Self.notify(.backup),
            ])
        // A second start is not a restart.
        #expect(instance.handle(.start, now: clock.now).isEmpty)
    }

    @Test func becomingMasterFollowsKeepalivedsOrder() throws {
        var clock = ManualClock()
        var instance = try VRRPInstance(Self.config { $0.controlsSyncDaemon = true })
        _ = instance.handle(.start, now: clock.now)
        clock.offset = .nanoseconds(3_609_375_000)
        let actions = instance.handle(.timerFired(.masterDown), now: clock.now)
        #expect(
            actions == [
                .stateChanged(from: .backup, to: .master),
                .sendAdvert(priority: 100),
                .armTimer(.advert, deadline: clock.now + .seconds(1)),
                .addVirtualAddresses,
                .sendGratuitous(count: 5),
                .armTimer(.garpDelay, deadline: clock.now + .seconds(5)),
                .switchSyncDaemon(.master),
                Self.notify(.master),
            ])
        #expect(instance.masterAddress == Self.me)
    }

    @Test func staleAndEarlyTimersAreIgnored() throws {
        var clock = ManualClock()
        var instance = try VRRPInstance(Self.config())
        _ = instance.handle(.start, now: clock.now)
        // Not armed.
        #expect(instance.handle(.timerFired(.advert), now: clock.now).isEmpty)
        // Armed but not yet due (e.g. the daemon's old timer after a re-arm).
        clock.offset = .seconds(2)
        #expect(instance.handle(.timerFired(.masterDown), now: clock.now).isEmpty)
        #expect(instance.state == .backup)
    }

    @Test func advertTimerKeepsItsCadenceWhenWokenLate() throws {
        var clock = ManualClock()
        var instance = try Self.master(&clock)
        let start = clock.offset
        // Woken 300 ms late: the advert goes now, the next stays on the original grid.
        clock.offset = start + .milliseconds(1300)
        let late = instance.handle(.timerFired(.advert), now: clock.now)
        #expect(late == [.sendAdvert(priority: 100), .armTimer(.advert, deadline: clock.at(start + .seconds(2)))])
        // Woken more than a whole interval late: restart the grid from now rather than burst.
        clock.offset = start + .milliseconds(3500)
        let veryLate = instance.handle(.timerFired(.advert), now: clock.now)
        #expect(veryLate.last == .armTimer(.advert, deadline: clock.now + .seconds(1)))
    }

    @Test func backupHandlesAdvertsPerRFC() throws {
        var clock = ManualClock()
        var instance = try VRRPInstance(Self.config())
        _ = instance.handle(.start, now: clock.now)
        clock.offset = .seconds(1)
        // Higher priority: reset the down timer to a full interval.
        let higher = instance.handle(
            .advertReceived(.init(priority: 200, source: Self.peer, advertIntervalCentiseconds: 100)), now: clock.now)
        #expect(higher == [.armTimer(.masterDown, deadline: clock.now + .nanoseconds(3_609_375_000))])
        #expect(instance.masterAddress == Self.peer)
        // Lower priority with preempt: ignored, the timer keeps running.
        clock.offset = .seconds(2)
        let lower = instance.handle(
            .advertReceived(.init(priority: 50, source: Self.peer, advertIntervalCentiseconds: 100)), now: clock.now)
        #expect(lower.isEmpty)
        // Priority 0: take over after Skew_Time only.
        let resign = instance.handle(
            .advertReceived(.init(priority: 0, source: Self.peer, advertIntervalCentiseconds: 100)), now: clock.now)
        #expect(resign == [.armTimer(.masterDown, deadline: clock.now + .nanoseconds(609_375_000))])
        // Our own advert looped back is not a peer.
        let own = instance.handle(
            .advertReceived(.init(priority: 200, source: Self.me, advertIntervalCentiseconds: 100)), now: clock.now)
        #expect(own.isEmpty)
    }

    @Test func masterAnswersLowerPriorityAndResigningPeers() throws {
        var clock = ManualClock()
        var instance = try Self.master(&clock)
        clock.offset += .milliseconds(200)
        let lower = instance.handle(
            .advertReceived(.init(priority: 50, source: Self.peer, advertIntervalCentiseconds: 100)), now: clock.now)
        // keepalived defaults: answer with an advert, re-announce (garp_lower_prio_repeat 5), again 5 s later.
        #expect(
            lower == [
                .sendAdvert(priority: 100), .sendGratuitous(count: 5),
                .armTimer(.garpDelay, deadline: clock.now + .seconds(5)),
            ])
        let resign = instance.handle(
            .advertReceived(.init(priority: 0, source: Self.peer, advertIntervalCentiseconds: 100)), now: clock.now)
        #expect(resign == [.sendAdvert(priority: 100), .armTimer(.advert, deadline: clock.now + .seconds(1))])
        // Equal priority from a lower address: we stay.
        let equalLower = instance.handle(
            .advertReceived(.init(priority: 100, source: .ipv4(0x0900_0000), advertIntervalCentiseconds: 100)),
            now: clock.now)
        #expect(equalLower.first == .sendAdvert(priority: 100))
        #expect(instance.state == .master)
    }

    @Test func downTimerAdvertsScaleTheMasterDownInterval() throws {
        var instance = try VRRPInstance(Self.config { $0.downTimerAdverts = 7 })
        let clock = ManualClock()
        // 7 × 1 s + (256 - 100)/256 s = 7.609375 s.
        let actions = instance.handle(.start, now: clock.now)
        #expect(actions.contains(.armTimer(.masterDown, deadline: clock.at(.nanoseconds(7_609_375_000)))))
        _ = instance.handle(.timerFired(.masterDown), now: clock.at(.nanoseconds(7_609_374_000)))
        #expect(instance.state == .backup)
        _ = instance.handle(.timerFired(.masterDown), now: clock.at(.nanoseconds(7_609_375_000)))
        #expect(instance.state == .master)
    }

    @Test func startupHoldDelaysTheFirstTakeOverEvenForAnOwner() throws {
        let clock = ManualClock()
        var backup = try VRRPInstance(Self.config())
        backup.startupHold = clock.at(.seconds(10))
        let actions = backup.handle(.start, now: clock.now)
        #expect(actions.contains(.armTimer(.masterDown, deadline: clock.at(.nanoseconds(13_609_375_000)))))
        // An advert heard during the hold restarts the timer from the hold's end, as keepalived does.
        _ = backup.handle(.advertReceived(.init(priority: 150, source: Self.peer, advertIntervalCentiseconds: 100)), now: clock.at(.seconds(2)))
        #expect(backup.deadlines[.masterDown] == clock.at(.nanoseconds(13_609_375_000)))
        var owner = try VRRPInstance(Self.config(priority: 255) { $0.initialState = .master })
        owner.startupHold = clock.at(.seconds(10))
        _ = owner.handle(.start, now: clock.now)
        #expect(owner.state == .backup)
        _ = owner.handle(.timerFired(.masterDown), now: clock.at(.seconds(10)))
        #expect(owner.state == .master)
        // After the hold, timers run from now again.
        var late = try VRRPInstance(Self.config())
        late.startupHold = clock.at(.seconds(1))
        _ = late.handle(.start, now: clock.at(.seconds(2)))
        #expect(late.deadlines[.masterDown] == clock.at(.seconds(2) + .nanoseconds(3_609_375_000)))
    }

    @Test func aMasterReportsALowerPriorityOnlyWhenAsked() throws {
        var clock = ManualClock()
        let lower = VRRPInstance.PeerAdvert(priority: 50, source: Self.peer, advertIntervalCentiseconds: 100)
        var quiet = try Self.master(&clock)
        #expect(!quiet.handle(.advertReceived(lower), now: clock.now).contains(.masterReceivedLowerPriority))
        clock = ManualClock()
        var asked = try Self.master(&clock) { $0.reportsLowerPriority = true }
        #expect(asked.handle(.advertReceived(lower), now: clock.now).contains(.masterReceivedLowerPriority))
        let higher = VRRPInstance.PeerAdvert(priority: 200, source: Self.peer, advertIntervalCentiseconds: 100)
        #expect(!asked.handle(.advertReceived(higher), now: clock.now).contains(.masterReceivedLowerPriority))
    }

    @Test func aDeletedInstanceIsNotifiedFaultOrDeleted() throws {
        var clock = ManualClock()
        var plain = try Self.master(&clock)
        let actions = plain.handle(.delete, now: clock.now)
        #expect(actions.contains(.sendAdvert(priority: 0)))
        #expect(actions.last == Self.notify(.fault))
        #expect(plain.state == .initialize)
        clock = ManualClock()
        var deleted = try Self.master(&clock) { $0.notifyDeleted = true }
        #expect(deleted.handle(.delete, now: clock.now).last == Self.notify(.deleted))
        // Already in FAULT: keepalived sends nothing more.
        var faulted = try VRRPInstance(Self.config())
        _ = faulted.handle(.trackingChanged(TrackingSummary(faulted: true)), now: clock.now)
        _ = faulted.handle(.start, now: clock.now)
        #expect(faulted.state == .fault)
        #expect(!faulted.handle(.delete, now: clock.now).contains { if case .notify = $0 { true } else { false } })
    }

    @Test func lowerPriorityNoAdvertSuppressesTheAnswer() throws {
        var clock = ManualClock()
        var instance = try Self.master(&clock) {
            $0.lowerPriorityNoAdvert = true
            $0.gratuitous.lowerPriorityRepeat = 0
        }
        let lower = instance.handle(
            .advertReceived(.init(priority: 50, source: Self.peer, advertIntervalCentiseconds: 100)), now: clock.now)
        #expect(lower.isEmpty)
    }

    @Test func masterYieldsToHigherPriority() throws {
        var clock = ManualClock()
        var instance = try Self.master(&clock) { $0.higherPrioritySendAdvert = true }
        clock.offset += .milliseconds(100)
        let actions = instance.handle(
            .advertReceived(.init(priority: 200, source: Self.peer, advertIntervalCentiseconds: 100)), now: clock.now)
        #expect(
            actions == [
                .sendAdvert(priority: 100),  // higher_prio_send_advert
                .cancelTimer(.advert), .cancelTimer(.garpDelay), .removeVirtualAddresses,
                .stateChanged(from: .master, to: .backup),
                .armTimer(.masterDown, deadline: clock.now + .nanoseconds(3_609_375_000)),
                Self.notify(.backup),
            ])
        #expect(instance.deadlines.keys.sorted { $0.rawValue < $1.rawValue } == [.masterDown])
    }

    @Test func garpRefreshRepeatsWhileMaster() throws {
        var clock = ManualClock()
        var instance = try Self.master(&clock) {
            $0.gratuitous = .init(masterDelay: .zero, masterRepeat: 1, refreshInterval: .seconds(60), refreshRepeat: 2)
        }
        let became = clock.offset
        #expect(instance.deadlines[.garpDelay] == nil)
        #expect(instance.deadlines[.garpRefresh] == clock.at(became + .seconds(60)))
        clock.offset = became + .seconds(60)
        let refresh = instance.handle(.timerFired(.garpRefresh), now: clock.now)
        #expect(refresh == [.sendGratuitous(count: 2), .armTimer(.garpRefresh, deadline: clock.now + .seconds(60))])
    }

    @Test func trackingWeightChangesAdvertisedPriority() throws {
        var clock = ManualClock()
        var instance = try Self.master(&clock)
        // The nginx seed: check script with weight -20 fails.
        let changed = instance.handle(.trackingChanged(TrackingSummary(weight: -20)), now: clock.now)
        #expect(changed.isEmpty)
        #expect(instance.effectivePriority == 80)
        clock.offset += .seconds(1)
        #expect(instance.handle(.timerFired(.advert), now: clock.now).first == .sendAdvert(priority: 80))
        // Clamped: weights never make an owner or a resigning router.
        _ = instance.handle(.trackingChanged(TrackingSummary(weight: -500)), now: clock.now)
        #expect(instance.effectivePriority == 1)
        _ = instance.handle(.trackingChanged(TrackingSummary(weight: 500)), now: clock.now)
        #expect(instance.effectivePriority == 254)
    }

    @Test func faultFromMasterResignsAndRecoveryReturnsToBackup() throws {
        var clock = ManualClock()
        var instance = try Self.master(&clock) { $0.controlsSyncDaemon = true }
        let fault = instance.handle(.trackingChanged(TrackingSummary(faulted: true)), now: clock.now)
        #expect(
            fault == [
                .cancelTimer(.advert), .cancelTimer(.garpDelay), .sendAdvert(priority: 0), .removeVirtualAddresses,
                .stateChanged(from: .master, to: .fault), .switchSyncDaemon(.backup), Self.notify(.fault),
            ])
        // Adverts and timers mean nothing in FAULT.
        #expect(
            instance.handle(
                .advertReceived(.init(priority: 0, source: Self.peer, advertIntervalCentiseconds: 100)),
                now: clock.now
            ).isEmpty)
        clock.offset += .seconds(4)
        let recovered = instance.handle(.trackingChanged(TrackingSummary()), now: clock.now)
        #expect(
            recovered == [
                .stateChanged(from: .fault, to: .backup),
                .armTimer(.masterDown, deadline: clock.now + .nanoseconds(3_609_375_000)),
                Self.notify(.backup),
            ])
    }

    @Test func faultBeforeStartStartsInFault() throws {
        let clock = ManualClock()
        var instance = try VRRPInstance(Self.config())
        #expect(instance.handle(.trackingChanged(TrackingSummary(faulted: true)), now: clock.now).isEmpty)
        let actions = instance.handle(.start, now: clock.now)
        #expect(
            actions == [.removeVirtualAddresses, .stateChanged(from: .initialize, to: .fault), Self.notify(.fault)])
    }

    @Test func shutdownFromBackupIsQuiet() throws {
        let clock = ManualClock()
        var instance = try VRRPInstance(Self.config())
        _ = instance.handle(.start, now: clock.now)
        let actions = instance.handle(.shutdown, now: clock.now)
        #expect(
            actions == [.cancelTimer(.masterDown), .stateChanged(from: .backup, to: .initialize), Self.notify(.stop)])
        #expect(instance.handle(.shutdown, now: clock.now).isEmpty)
        #expect(instance.deadlines.isEmpty)
    }

    @Test func shutdownFromMasterResigns() throws {
        var clock = ManualClock()
        var instance = try Self.master(&clock) { $0.controlsSyncDaemon = true }
        let actions = instance.handle(.shutdown, now: clock.now)
        #expect(
            actions == [
                .cancelTimer(.advert), .cancelTimer(.garpDelay), .sendAdvert(priority: 0), .removeVirtualAddresses,
                .stateChanged(from: .master, to: .initialize), .switchSyncDaemon(.stopped), Self.notify(.stop),
            ])
    }

    @Test func syncGroupMemberWaitsForTheGroup() throws {
        var clock = ManualClock()
        var instance = try VRRPInstance(Self.config { $0.inSyncGroup = true })
        _ = instance.handle(.start, now: clock.now)
        clock.offset = .nanoseconds(3_609_375_000)
        #expect(instance.handle(.timerFired(.masterDown), now: clock.now).isEmpty)
        #expect(instance.memberStatus == .init(state: .backup, wantsMaster: true))
        // A master appearing cancels the wish.
        _ = instance.handle(
            .advertReceived(.init(priority: 200, source: Self.peer, advertIntervalCentiseconds: 100)), now: clock.now)
        #expect(instance.memberStatus == .init(state: .backup, wantsMaster: false))
        let promoted = instance.handle(.syncGroup(.becomeMaster), now: clock.now)
        #expect(promoted.first == .stateChanged(from: .backup, to: .master))
        // Forced fault by the group is not an own fault, and lasts until cleared.
        _ = instance.handle(.syncGroup(.becomeFault), now: clock.now)
        #expect(instance.memberStatus == .init(state: .fault, wantsMaster: false, ownFault: false))
        _ = instance.handle(.trackingChanged(TrackingSummary()), now: clock.now)
        #expect(instance.state == .fault)
        _ = instance.handle(.syncGroup(.clearFault), now: clock.now)
        #expect(instance.state == .backup)
    }

    @Test func ownerInASyncGroupWantsMasterAtOnce() throws {
        let clock = ManualClock()
        var instance = try VRRPInstance(
            Self.config(priority: 255) {
                $0.inSyncGroup = true
                $0.initialState = .master
            })
        _ = instance.handle(.start, now: clock.now)
        #expect(instance.memberStatus == .init(state: .backup, wantsMaster: true))
        #expect(instance.deadlines.isEmpty)
    }

    @Test func v3TimersScaleWithTheLearnedInterval() throws {
        let clock = ManualClock()
        var instance = try VRRPInstance(Self.config(version: .v3, interval: 100))
        _ = instance.handle(.start, now: clock.now)
        // 3 * 1 s + 156 * 100 / 256 cs = 3.609375 s
        #expect(instance.masterDownInterval == .nanoseconds(3_609_375_000))
        _ = instance.handle(
            .advertReceived(.init(priority: 200, source: Self.peer, advertIntervalCentiseconds: 10)), now: clock.now)
        // 3 * 0.1 s + 156 * 10 / 256 cs = 0.3 + 0.0609375 s
        #expect(instance.masterDownInterval == .nanoseconds(360_937_500))
        #expect(instance.skewTime == .nanoseconds(60_937_500))
        // After a FAULT the next master's interval is learned afresh; until then our own applies.
        _ = instance.handle(.trackingChanged(TrackingSummary(faulted: true)), now: clock.now)
        _ = instance.handle(.trackingChanged(TrackingSummary()), now: clock.now)
        #expect(instance.deadlines[.masterDown] == clock.now + .nanoseconds(3_609_375_000))
    }
}
