import Addresses
import Testing

import VRRP

/// The seed's LVS-NAT pair: VI_OUT carries the VIP, VI_IN the real servers' gateway, one sync group per director.
@Suite("Sync group scenarios")
struct SyncGroupScenarioTests {
    static func spec(_ name: String, vrid: UInt8, vip: IPAddress, priority: UInt8, address: IPAddress)
        -> InstanceSpec
    {
        // The gateway side tracks its interface (weight 0: down means FAULT).
        let tracked = name == "VI_IN" ? [TrackedObject(name: "interface:eth1")] : []
        var configuration = VRRPInstance.Configuration(
            name: name, version: .v2, priority: priority, primaryAddress: address, inSyncGroup: true)
        configuration.controlsSyncDaemon = name == "VI_OUT"
        return InstanceSpec(
            configuration: configuration, virtualRouterID: vrid, virtualAddresses: [vip],
            authentication: .password(AuthPassword("1111")), tracked: tracked)
    }

    static func director(_ name: String, address: IPAddress, priority: UInt8) -> SimulatedRouter {
        SimulatedRouter(
            name: name, address: address,
            instances: [
                spec("VI_OUT", vrid: 51, vip: .ipv4(0xC0A8_0164), priority: priority, address: address),
                spec("VI_IN", vrid: 52, vip: .ipv4(0x0A01_0001), priority: priority, address: address),
            ],
            syncGroup: ["VI_OUT", "VI_IN"])
    }

    static func groupStates(_ router: SimulatedRouter) -> [NotifyEvent.State] {
        router.notifications.filter { $0.scope == .group }.map(\.state)
    }

    @Test func oneMemberFaultTakesTheWholeGroupAndThePeerTakesBoth() throws {
        let lan = SimulatedLAN()
        let a = Self.director("A", address: .ipv4(0x0A00_0001), priority: 150)
        let b = Self.director("B", address: .ipv4(0x0A00_0002), priority: 100)
        lan.add(a)
        lan.add(b)
        try lan.start(a)
        try lan.start(b)
        lan.advance(by: .seconds(10))
        // Both members reach their down timeout at 3.4140625 and the group promotes them together.
        #expect(a.lastEntered(.master, "VI_OUT") == .nanoseconds(3_414_062_500))
        #expect(a.lastEntered(.master, "VI_IN") == .nanoseconds(3_414_062_500))
        #expect(a.holding == ["VI_OUT", "VI_IN"] && b.holding.isEmpty)
        #expect(Self.groupStates(a) == [.backup, .master])
        #expect(Self.groupStates(b) == [.backup])

        // The gateway side's tracked interface goes down on A at t = 10.
        lan.setTracked("interface:eth1", up: false, on: a)
        // keepalived 2.2.7: "Syncing instances to FAULT state" — the healthy sibling follows into FAULT.
        #expect(a.state("VI_IN") == .fault && a.state("VI_OUT") == .fault)
        #expect(a.holding.isEmpty)
        #expect(Self.groupStates(a) == [.backup, .master, .fault])
        // Both resign with priority 0, so B's members both wait only their skew time (156/256 s).
        #expect(a.sentAdverts.filter { $0.at == .seconds(10) }.map(\.priority) == [0, 0])
        lan.advance(by: .seconds(5))
        #expect(b.lastEntered(.master, "VI_OUT") == .nanoseconds(10_609_375_000))
        #expect(b.lastEntered(.master, "VI_IN") == .nanoseconds(10_609_375_000))
        #expect(b.holding == ["VI_OUT", "VI_IN"])
        #expect(Self.groupStates(b) == [.backup, .master])
        #expect(b.syncDaemon == [.backup, .master])

        // The fault clears at t = 15: A's group returns to BACKUP, then preempts both back after 3.4140625 s.
        lan.setTracked("interface:eth1", up: true, on: a)
        #expect(a.state("VI_IN") == .backup && a.state("VI_OUT") == .backup)
        lan.advance(by: .seconds(10))
        #expect(a.lastEntered(.master, "VI_OUT") == .nanoseconds(18_414_062_500))
        #expect(a.lastEntered(.master, "VI_IN") == .nanoseconds(18_414_062_500))
        #expect(b.state("VI_OUT") == .backup && b.state("VI_IN") == .backup)
        #expect(a.holding == ["VI_OUT", "VI_IN"] && b.holding.isEmpty)
        #expect(Self.groupStates(a) == [.backup, .master, .fault, .backup, .master])
        #expect(Self.groupStates(b) == [.backup, .master, .backup])
        #expect(a.syncDaemon == [.backup, .master, .backup, .master])
        #expect(b.syncDaemon == [.backup, .master, .backup])
    }

    @Test func oneMemberLosingElectionPullsItsSiblingToBackup() throws {
        // Only VI_IN has a higher-priority rival (C, not in a group): A's VI_OUT must not stay MASTER alone.
        let lan = SimulatedLAN()
        let a = Self.director("A", address: .ipv4(0x0A00_0001), priority: 150)
        lan.add(a)
        try lan.start(a)
        lan.advance(by: .seconds(10))
        #expect(a.holding == ["VI_OUT", "VI_IN"])
        var rival = Self.spec("VI_IN", vrid: 52, vip: .ipv4(0x0A01_0001), priority: 200, address: .ipv4(0x0A00_0003))
        rival.configuration.inSyncGroup = false
        let c = SimulatedRouter(name: "C", address: .ipv4(0x0A00_0003), instances: [rival])
        lan.add(c)
        try lan.start(c)
        lan.advance(by: .seconds(10))
        // C waits 3 + 56/256 s from t = 10, then its first advert sends A's VI_IN to BACKUP, and VI_OUT follows.
        #expect(c.lastEntered(.master, "VI_IN") == .nanoseconds(13_218_750_000))
        #expect(a.lastEntered(.backup, "VI_IN") == .nanoseconds(13_218_750_000))
        #expect(a.lastEntered(.backup, "VI_OUT") == .nanoseconds(13_218_750_000))
        #expect(a.holding.isEmpty)
        // VI_OUT keeps wanting MASTER after its down timer, but the group holds it while VI_IN obeys C.
        lan.advance(by: .seconds(30))
        #expect(a.state("VI_OUT") == .backup && a.state("VI_IN") == .backup)
        #expect(a.instance("VI_OUT")?.wantsMaster == true)
        #expect(Self.groupStates(a) == [.backup, .master, .backup])
    }

    @Test func shutdownStopsEveryMemberAndNotifiesTheGroup() throws {
        let lan = SimulatedLAN()
        let a = Self.director("A", address: .ipv4(0x0A00_0001), priority: 150)
        lan.add(a)
        try lan.start(a)
        lan.advance(by: .seconds(5))
        lan.stop(a)
        // keepalived 2.2.7's notify log for this: INSTANCE VI_x STOP 150 for each, then GROUP G STOP 0.
        let tail = a.notifications.suffix(3).map(\.arguments)
        #expect(
            tail == [
                ["INSTANCE", "VI_OUT", "STOP", "150"], ["INSTANCE", "VI_IN", "STOP", "150"],
                ["GROUP", "G", "STOP", "0"],
            ])
        #expect(a.syncDaemon.last == .stopped)
        #expect(a.sentAdverts.suffix(2).map(\.priority) == [0, 0])
    }
}
