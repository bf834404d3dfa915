import Addresses
import Testing

import VRRP

/// Two (or three) simulated directors exchanging real advert bytes on a manual clock. Expected instants are
/// worked out by hand in each test from the RFC formulas, not taken from the code under test.
///
/// v2, advert_int 1: Master_Down_Interval = 3 s + (256 - priority)/256 s
///   priority 150 -> 3 + 106/256 = 3.4140625 s; priority 100 -> 3 + 156/256 = 3.609375 s
@Suite("Failover scenarios")
struct FailoverScenarioTests {
    static let vip = IPAddress.ipv4(0xC0A8_0164)  // 192.168.1.100
    static let addressA = IPAddress.ipv4(0x0A00_0001)  // 10.0.0.1
    static let addressB = IPAddress.ipv4(0x0A00_0002)  // 10.0.0.2
    static let addressC = IPAddress.ipv4(0x0A00_0003)  // 10.0.0.3

    static func ms(_ value: Int64) -> Duration { .microseconds(value * 1000) }
    /// Exact instants in nanoseconds: every expectation below is a sum of 1/256-second steps.
    static func ns(_ value: Int64) -> Duration { .nanoseconds(value) }

    static func spec(
        _ name: String = "VI_1", version: VRRPVersion = .v2, priority: UInt8, address: IPAddress,
        interval: UInt16 = 100, vrid: UInt8 = 51, vip: IPAddress = vip,
        configure: (inout VRRPInstance.Configuration) -> Void = { _ in }
    ) -> InstanceSpec {
        var configuration = VRRPInstance.Configuration(
            name: name, version: version, priority: priority, advertIntervalCentiseconds: interval,
            primaryAddress: address)
        configure(&configuration)
        return InstanceSpec(
            configuration: configuration, virtualRouterID: vrid, virtualAddresses: [vip],
            authentication: version == .v2 ? .password(AuthPassword("1111")) : .none)
    }

    /// A (priority 150) and B (priority 100), one v2 instance each, started together at t = 0.
    static func pair(
        a: (inout VRRPInstance.Configuration) -> Void = { _ in },
        b: (inout VRRPInstance.Configuration) -> Void = { _ in }
    ) throws -> (SimulatedLAN, SimulatedRouter, SimulatedRouter) {
        let lan = SimulatedLAN()
        let routerA = SimulatedRouter(
            name: "A", address: addressA, instances: [spec(priority: 150, address: addressA, configure: a)])
        let routerB = SimulatedRouter(
            name: "B", address: addressB, instances: [spec(priority: 100, address: addressB, configure: b)])
        lan.add(routerA)
        lan.add(routerB)
        try lan.start(routerA)
        try lan.start(routerB)
        return (lan, routerA, routerB)
    }

    @Test func higherPriorityWinsThenBackupTakesOverAfterMasterDownInterval() throws {
        let (lan, a, b) = try Self.pair()
        lan.advance(by: .seconds(10))
        #expect(a.lastEntered(.master, "VI_1") == Self.ns(3_414_062_500))
        #expect(b.state("VI_1") == .backup)
        #expect(b.lastEntered(.master, "VI_1") == nil)
        #expect(a.holding == ["VI_1"] && b.holding.isEmpty)
        #expect(a.instance("VI_1")?.masterAddress == Self.addressA)
        #expect(b.instance("VI_1")?.masterAddress == Self.addressA)

        // SIGKILL at t = 10. A's adverts went out at 3.4140625 + k; the last at 9.4140625.
        // B takes over one Master_Down_Interval later: 9.4140625 + 3.609375 = 13.0234375.
        lan.kill(a)
        lan.advance(by: .seconds(10))
        #expect(b.lastEntered(.master, "VI_1") == Self.ns(13_023_437_500))
        #expect(b.holding == ["VI_1"])
        // keepalived's default garp_master_repeat 5 at once and garp_master_delay 5 s later.
        let bursts = b.gratuitous.map { ($0.at, $0.count) }
        #expect(bursts.count == 2)
        #expect(bursts.first.map { $0 == (Self.ns(13_023_437_500), 5) } == true)
        #expect(bursts.last.map { $0 == (Self.ns(18_023_437_500), 5) } == true)
        #expect(b.notifications.map(\.state) == [.backup, .master])
        #expect(a.drops.isEmpty && b.drops.isEmpty)
    }

    @Test func gracefulStopHandsOverAfterSkewTime() throws {
        let (lan, a, b) = try Self.pair()
        lan.advance(by: .seconds(10))
        lan.stop(a)
        // Priority 0 at t = 10: B waits only its Skew_Time, 156/256 s = 0.609375 s.
        #expect(a.sentAdverts.last.map { $0.priority == 0 && $0.at == .seconds(10) } == true)
        #expect(a.notifications.last == NotifyEvent(scope: .instance, name: "VI_1", state: .stop, priority: 150))
        #expect(a.holding.isEmpty)
        lan.advance(by: .seconds(5))
        #expect(b.lastEntered(.master, "VI_1") == Self.ns(10_609_375_000))
    }

    @Test func restartedHigherPriorityPreemptsBack() throws {
        let (lan, a, b) = try Self.pair()
        lan.advance(by: .seconds(10))
        lan.kill(a)
        lan.advance(by: .seconds(10))  // t = 20, B is MASTER since 13.0234375
        try lan.start(a)
        lan.advance(by: .seconds(10))
        // A ignores B's lower-priority adverts and times out: 20 + 3.4140625; B yields on A's first advert.
        #expect(a.lastEntered(.master, "VI_1") == Self.ns(23_414_062_500))
        #expect(b.lastEntered(.backup, "VI_1") == Self.ns(23_414_062_500))
        #expect(a.holding == ["VI_1"] && b.holding.isEmpty)
        // A's restart removes leftovers before BACKUP, as keepalived does ("removing VIPs").
        #expect(a.transitions.filter { $0.at == .seconds(20) }.map(\.to) == [.backup])
    }

    @Test func nopreemptKeepsTheLowerPriorityMaster() throws {
        let (lan, a, b) = try Self.pair(a: { $0.preempt = false })
        lan.advance(by: .seconds(10))
        lan.kill(a)
        lan.advance(by: .seconds(10))
        try lan.start(a)
        lan.advance(by: .seconds(60))
        #expect(b.state("VI_1") == .master)
        #expect(a.state("VI_1") == .backup)
        #expect(a.instance("VI_1")?.masterAddress == Self.addressB)
        #expect(b.lastEntered(.master, "VI_1") == Self.ns(13_023_437_500))
    }

    @Test func nopreemptIsClearedByStateMaster() throws {
        // keepalived: "nopreempt will not work with initial state MASTER - clearing".
        let (lan, a, b) = try Self.pair(a: {
            $0.preempt = false
            $0.initialState = .master
        })
        lan.advance(by: .seconds(10))
        lan.kill(a)
        lan.advance(by: .seconds(10))
        try lan.start(a)
        lan.advance(by: .seconds(10))
        #expect(a.lastEntered(.master, "VI_1") == Self.ns(23_414_062_500))
        #expect(b.state("VI_1") == .backup)
    }

    @Test func preemptDelayHoldsOffTakeover() throws {
        let (lan, a, b) = try Self.pair(a: { $0.preemptDelay = .seconds(10) })
        lan.advance(by: .seconds(30))
        // A's start-up wait is 3.4140625 + 10 s, so B (3.609375) becomes MASTER first.
        #expect(b.lastEntered(.master, "VI_1") == Self.ns(3_609_375_000))
        // A obeys B's lower-priority adverts until preempt_delay ends at t = 10. The last one obeyed went out at
        // 3.609375 + 6 = 9.609375, so A takes over at 9.609375 + 3.4140625 = 13.0234375.
        #expect(a.lastEntered(.master, "VI_1") == Self.ns(13_023_437_500))
        #expect(b.lastEntered(.backup, "VI_1") == Self.ns(13_023_437_500))
        #expect(a.holding == ["VI_1"] && b.holding.isEmpty)
    }

    @Test func preemptDelayRestartsForALaterLowerPriorityMaster() throws {
        let (lan, a, b) = try Self.pair(a: { $0.preemptDelay = .seconds(4) })
        lan.advance(by: .seconds(20))  // A master since 3.4140625 + 4 = 7.4140625 ... or earlier via re-arm
        #expect(a.state("VI_1") == .master)
        lan.kill(a)
        lan.advance(by: .seconds(10))  // t = 30, B master
        #expect(b.state("VI_1") == .master)
        let bMaster = try #require(b.lastEntered(.master, "VI_1"))
        try lan.start(a)
        lan.advance(by: .seconds(20))
        // The delay counts from the restart (t = 30): A obeys B's adverts until 34, then times out.
        let aMaster = try #require(a.lastEntered(.master, "VI_1"))
        let lastObeyed = b.sentAdverts.filter { $0.at < .seconds(34) }.last?.at
        #expect(lastObeyed.map { aMaster == $0 + Self.ns(3_414_062_500) } == true)
        #expect(aMaster > .seconds(34) && bMaster < .seconds(30))
    }

    @Test func stateMasterWithLowerPriorityThanALivePeerStaysBackup() throws {
        let (lan, a, _) = try Self.pair()
        lan.advance(by: .seconds(10))
        let c = SimulatedRouter(
            name: "C", address: Self.addressC,
            instances: [Self.spec(priority: 120, address: Self.addressC, configure: { $0.initialState = .master })])
        lan.add(c)
        try lan.start(c)
        lan.advance(by: .seconds(30))
        // keepalived 2.2.7 logs "Entering BACKUP STATE (init)" for `state MASTER` below 255, then obeys A.
        #expect(c.transitions.map(\.to) == [.backup])
        #expect(c.sentAdverts.isEmpty)
        #expect(a.transitions.map(\.to) == [.backup, .master])
    }

    @Test func equalPrioritiesElectTheHigherPrimaryAddress() throws {
        let lan = SimulatedLAN()
        lan.latency = .milliseconds(1)  // both time out together and both claim MASTER for a moment
        let a = SimulatedRouter(
            name: "A", address: Self.addressA, instances: [Self.spec(priority: 100, address: Self.addressA)])
        let b = SimulatedRouter(
            name: "B", address: Self.addressB, instances: [Self.spec(priority: 100, address: Self.addressB)])
        lan.add(a)
        lan.add(b)
        try lan.start(a)
        try lan.start(b)
        lan.advance(by: .seconds(10))
        #expect(a.lastEntered(.master, "VI_1") == Self.ns(3_609_375_000))
        #expect(b.lastEntered(.master, "VI_1") == Self.ns(3_609_375_000))
        // 10.0.0.2 > 10.0.0.1: A yields when B's advert lands 1 ms later.
        #expect(a.lastEntered(.backup, "VI_1") == Self.ns(3_610_375_000))
        #expect(b.state("VI_1") == .master && a.state("VI_1") == .backup)
    }

    @Test func addressOwnerStartsAsMasterAtOnce() throws {
        let (lan, a, b) = try Self.pair(a: {
            $0.priority = 255
            $0.initialState = .master
        })
        lan.advance(by: .seconds(5))
        #expect(a.lastEntered(.master, "VI_1") == .zero)
        #expect(b.state("VI_1") == .backup)
        // B's filter would drop nothing from A; A never sees anything from B (a backup is silent).
        #expect(b.drops.isEmpty)
    }

    @Test func addressOwnerWithStateBackupWaitsLikeKeepalived() throws {
        // keepalived 2.2.7 with priority 255 and `state BACKUP`: "Receive advertisement timeout" after 3 s + 1/256.
        let (lan, a, _) = try Self.pair(a: { $0.priority = 255 })
        lan.advance(by: .seconds(5))
        #expect(a.lastEntered(.master, "VI_1") == Self.ns(3_003_906_250))
    }

    // v3: A advert_int 0.5 s, priority 150; B advert_int 2 s, priority 100.
    //   A: 3 * 0.5 + (106 * 50 / 256) cs = 1.5 + 0.20703125 = 1.70703125 s
    //   B own:     3 * 2 + (156 * 200 / 256) cs = 6 + 1.21875 = 7.21875 s
    //   B learned: 3 * 0.5 + (156 * 50 / 256) cs = 1.5 + 0.3046875 = 1.8046875 s
    @Test func v3BackupLearnsTheMastersInterval() throws {
        let lan = SimulatedLAN()
        let a = SimulatedRouter(
            name: "A", address: Self.addressA,
            instances: [Self.spec(version: .v3, priority: 150, address: Self.addressA, interval: 50)])
        let b = SimulatedRouter(
            name: "B", address: Self.addressB,
            instances: [Self.spec(version: .v3, priority: 100, address: Self.addressB, interval: 200)])
        lan.add(a)
        lan.add(b)
        try lan.start(a)
        try lan.start(b)
        lan.advance(by: .seconds(10))
        #expect(a.lastEntered(.master, "VI_1") == Self.ns(1_707_031_250))
        #expect(b.instance("VI_1")?.masterAdvertIntervalCentiseconds == 50)
        #expect(b.instance("VI_1")?.masterDownInterval == Self.ns(1_804_687_500))
        // A's adverts: 1.70703125 + 0.5 k; the last before the kill at t = 10 is 9.70703125.
        lan.kill(a)
        lan.advance(by: .seconds(10))
        #expect(b.lastEntered(.master, "VI_1") == Self.ns(11_511_718_750))
        // As MASTER, B advertises its own interval again.
        #expect(b.instance("VI_1")?.masterAdvertIntervalCentiseconds == 200)
        let bAdverts = b.sentAdverts.map(\.at)
        #expect(bAdverts.prefix(3) == [Self.ns(11_511_718_750), Self.ns(13_511_718_750), Self.ns(15_511_718_750)])
        #expect(b.drops.isEmpty)
    }

    @Test func v2IntervalMismatchIsDroppedAndCounted() throws {
        let (lan, a, b) = try Self.pair(b: { $0.advertIntervalCentiseconds = 200 })
        lan.advance(by: .seconds(10))
        // B never accepts A's 1 s adverts, so both end up MASTER — the misconfiguration keepalived also suffers.
        #expect(b.drops[.intervalMismatch, default: 0] > 0)
        #expect(a.drops[.intervalMismatch, default: 0] > 0)
        #expect(a.state("VI_1") == .master && b.state("VI_1") == .master)
    }

    @Test func wrongPasswordIsDroppedAndChangesNothing() throws {
        let lan = SimulatedLAN()
        let a = SimulatedRouter(
            name: "A", address: Self.addressA, instances: [Self.spec(priority: 150, address: Self.addressA)])
        var badSpec = Self.spec(priority: 100, address: Self.addressB)
        badSpec.authentication = .password(AuthPassword("2222"))
        let b = SimulatedRouter(name: "B", address: Self.addressB, instances: [badSpec])
        lan.add(a)
        lan.add(b)
        try lan.start(a)
        try lan.start(b)
        lan.advance(by: .seconds(10))
        #expect(b.drops[.authFailure, default: 0] > 0)
        #expect(b.transitions.map(\.to) == [.backup, .master])
    }

    @Test func partitionMakesTwoMastersAndHealingResolvesIt() throws {
        let (lan, a, b) = try Self.pair()
        lan.advance(by: .seconds(10))
        lan.blocked = [["A", "B"], ["B", "A"]]
        lan.advance(by: .seconds(10))
        #expect(a.state("VI_1") == .master && b.state("VI_1") == .master)
        lan.blocked = []
        lan.advance(by: .seconds(3))
        #expect(a.state("VI_1") == .master && b.state("VI_1") == .backup)
        #expect(b.holding.isEmpty)
    }
}
