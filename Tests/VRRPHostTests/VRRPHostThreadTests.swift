import Addresses
import DirectorConfig
import Logging
import Platform
import Testing
import VRRP

@testable import VRRPHost

@Suite("VRRP host on its own thread")
struct VRRPHostThreadTests {
    static let fast = """
        vrrp_instance VI_FAST {
            interface eth0
            virtual_router_id 9
            version 3
            priority 200
            advert_int 0.05
            virtual_ipaddress {
                192.0.2.50/24
            }
            notify_stop "/etc/directord/hangs.sh"
        }

        """

    /// VI_FAST on a started host thread with fakes, once it is MASTER.
    static func electedHost(scripts: FakeScripts) async throws -> (VRRPHost, FakeNetwork, FakeTransport) {
        let network = FakeNetwork()
        network.links.update { $0 = ["eth0": true] }
        let opener = FakeOpener()
        let deps = VRRPHostDependencies(
            network: network, announcer: FakeAnnouncer(), scripts: scripts, transports: opener,
            interfaceAddresses: FakeAddresses(table: Harness.interfaces), files: FakeFiles(), ipvs: nil,
            notifyTimeout: .seconds(60))
        let configuration = try #require(ConfigurationLoader.parse(Self.fast).configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = VRRPHost(configuration: configuration, logger: logger, dependencies: deps)
        #expect(host.status().instances.first?.state == "INIT")
        try host.start()
        let transport = try #require(opener.transport("eth0"))
        // Master_Down_Interval: 3 × 0.05 s + skew (56/256 × 0.05 s) ≈ 0.16 s; generous deadline for loaded CI.
        let deadline = ContinuousClock.now + .seconds(10)
        while host.status().instances.first?.state != "MASTER" && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(host.status().instances.first?.state == "MASTER")
        return (host, network, transport)
    }

    @Test("the loop thread elects, advertises at advert_int 0.05, answers status, and stops in bounded time")
    func realThread() async throws {
        let scripts = FakeScripts()
        scripts.hang.update { $0 = ["/etc/directord/hangs.sh"] }
        let (host, network, transport) = try await Self.electedHost(scripts: scripts)
        #expect(network.addressTexts == ["192.0.2.50/24 dev eth0"])
        let before = transport.sent.current.count
        try await Task.sleep(for: .seconds(1))
        let sent = transport.sent.current.count - before
        // 20 per second on time; a loaded machine may lose a few, never most.
        #expect(sent >= 10 && sent <= 22, "adverts in one second: \(sent)")

        // A peer with a higher priority: the thread reads it from the socket and steps down.
        let peer = try #require(IPAddress("192.0.2.2"))
        let advert = try Advertisement(
            version: .v3, family: .ipv4, virtualRouterID: 9, priority: 250,
            addresses: [try #require(IPAddress("192.0.2.50"))], advertIntervalCentiseconds: 5)
        let payload = try advert.encoded(source: peer, destination: .multicastIPv4)
        let total = 20 + payload.count
        transport.inject(
            [0x45, 0xC0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0, 0, 255, 112, 0, 0] + peer.bytes
                + IPAddress.multicastIPv4.bytes + payload, source: peer.bytes)
        let stepDown = ContinuousClock.now + .seconds(10)
        while host.status().instances.first?.state != "BACKUP" && ContinuousClock.now < stepDown {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(host.status().instances.first?.state == "BACKUP")
        #expect(network.addressTexts.isEmpty)

        let lines = host.plan(for: try #require(ConfigurationLoader.parse(Self.fast.replacingOccurrences(of: "priority 200", with: "priority 210")).configuration))
        #expect(lines == ["vrrp_instance VI_FAST: restart (priority 200 → 210; it resigns and is elected again)"])

        let started = ContinuousClock.now
        await host.shutdown(deadline: .milliseconds(300))
        #expect(ContinuousClock.now - started < .seconds(5), "a hung notify_stop does not hold the shutdown")
        #expect(scripts.runs(of: "/etc/directord/hangs.sh").count == 1)
        var collected: [VRRPHostEvent] = []
        for await event in host.events { collected.append(event) }
        let elected = collected.compactMap { event -> String? in
            if case .instanceState("VI_FAST", "BACKUP", "MASTER", 200, let reason) = event { return reason }
            return nil
        }
        #expect(elected.count == 1)
        #expect(elected.first?.hasPrefix("no advert for") == true, "reason: \(elected)")
        #expect(collected.contains(.instanceState(instance: "VI_FAST", from: "BACKUP", to: "INIT", priority: 200, reason: "stopping")))
        #expect(host.status().instances.first?.state == "INIT")
    }

    @Test("resign, as the stop signal's thread calls it: priority 0 leaves at once, and the later shutdown does not repeat it")
    func resignBeforeShutdown() async throws {
        let (host, network, transport) = try await Self.electedHost(scripts: FakeScripts())
        // The VRRP advert's third byte is its priority.
        func resignations() -> Int { transport.sent.current.filter { $0.payload.count > 2 && $0.payload[2] == 0 }.count }
        #expect(resignations() == 0)
        host.resign()
        let resigned = ContinuousClock.now + .seconds(10)
        while resignations() == 0 && ContinuousClock.now < resigned { try await Task.sleep(for: .milliseconds(5)) }
        #expect(resignations() == 1, "priority 0 sent without waiting for shutdown")
        #expect(network.addressTexts.isEmpty, "the VIP is released at once")
        #expect(host.status().instances.isEmpty || host.status().instances.first?.state == "INIT",
                "the thread still answers")
        await host.shutdown(deadline: .milliseconds(300))
        #expect(resignations() == 1, "shutdown found the resignation done")
    }
}
