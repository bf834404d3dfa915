import DirectorConfig
import Testing

@testable import VRRPHost

@Suite("VRRP host reload")
struct ReloadTests {
    static let two = outside + """
        vrrp_instance VI_2 {
            interface eth1
            virtual_router_id 52
            priority 100
            virtual_ipaddress {
                10.0.0.254/24
            }
        }

        """

    func spec(_ text: String) throws -> HostSpec {
        let configuration = try #require(ConfigurationLoader.parse(text).configuration)
        return HostSpec.build(configuration, addresses: FakeAddresses(table: Harness.interfaces))
    }

    @Test("an unchanged instance keeps its state; a changed one restarts; a notify change applies in place")
    func reloadKeepsState() throws {
        let h = try Harness(Self.two)
        try h.start()
        h.advance(to: 3.8)
        #expect(h.state("VI_1") == "MASTER")
        #expect(h.state("VI_2") == "MASTER")
        let eventsBefore = h.events.current.count
        let changed = Self.two
            .replacingOccurrences(of: "priority 100", with: "priority 120")
            .replacingOccurrences(of: "/etc/directord/notify.sh", with: "/etc/directord/other.sh")
        let planned = h.core.plan(try spec(changed)).lines
        #expect(planned == [
            "vrrp_instance VI_1: update notify scripts in place (state kept)",
            "vrrp_instance VI_2: restart (priority 100 → 120; it resigns and is elected again)",
        ])
        #expect(h.state("VI_2") == "MASTER", "planning changes nothing")
        let lines = h.core.reload(try spec(changed), now: h.at(4))
        #expect(lines == planned)
        #expect(h.state("VI_1") == "MASTER")
        #expect(h.state("VI_2") == "BACKUP")
        let newEvents = h.events.current.dropFirst(eventsBefore)
        #expect(!newEvents.contains { if case .instanceState(instance: "VI_1", _, _, _, _) = $0 { true } else { false } })
        #expect(h.network.addressTexts.contains("192.0.2.10/24 dev eth0"))
        #expect(!h.network.addressTexts.contains("10.0.0.254/24 dev eth1"))
        #expect(h.core.reload(try spec(changed), now: h.at(4.1)).isEmpty, "the same configuration again changes nothing")
    }

    @Test("a removed instance is notified FAULT as keepalived does, or DELETED (and its script run) with notify_deleted")
    func removedInstanceNotifies() async throws {
        func removed(_ extra: String) -> String {
            outside + "vrrp_instance VI_2 {\n    interface eth1\n    virtual_router_id 52\n" + extra
                + "    notify_stop /etc/directord/stop.sh\n    notify_fault /etc/directord/fault.sh\n    notify /etc/directord/all.sh\n"
                + "    virtual_ipaddress {\n        10.0.0.254/24\n    }\n}\n"
        }
        let plain = try Harness(removed(""))
        try plain.start()
        _ = plain.core.reload(try spec(outside), now: plain.at(1))
        let faults = try await plain.waitForRuns(of: "/etc/directord/fault.sh", count: 1)
        #expect(faults.count == 1)
        let all = try await plain.waitForRuns(of: "/etc/directord/all.sh", count: 2)
        #expect(all.last?.arguments == ["INSTANCE", "VI_2", "FAULT", "100"])
        #expect(plain.scripts.runs(of: "/etc/directord/stop.sh").isEmpty, "a removed instance is not stopped")
        let deleted = try Harness(removed("    notify_deleted /etc/directord/deleted.sh\n"))
        try deleted.start()
        _ = deleted.core.reload(try spec(outside), now: deleted.at(1))
        #expect(try await deleted.waitForRuns(of: "/etc/directord/deleted.sh", count: 1).count == 1)
        let notified = try await deleted.waitForRuns(of: "/etc/directord/all.sh", count: 2)
        #expect(notified.last?.arguments == ["INSTANCE", "VI_2", "DELETED", "100"])
        #expect(deleted.scripts.runs(of: "/etc/directord/fault.sh").isEmpty)
        // At stop, STOP as before.
        _ = deleted.core.shutdown(now: deleted.at(2))
        #expect(try await deleted.waitForRuns(of: "/etc/directord/notify.sh", count: 2).last?.arguments == ["INSTANCE", "VI_1", "STOP", "150"])
    }

    @Test("a removed instance resigns and releases its addresses; an added one starts")
    func reloadAddRemove() throws {
        let h = try Harness(Self.two)
        try h.start()
        h.advance(to: 3.8)
        let lines = h.core.reload(try spec(outside), now: h.at(4))
        #expect(lines == ["vrrp_instance VI_2: remove (resigns from MASTER: priority 0, addresses released)"])
        #expect(h.core.instances["VI_2"] == nil)
        #expect(try h.transport("eth1").priorities.last == 0)
        #expect(!h.network.addressTexts.contains("10.0.0.254/24 dev eth1"))
        let back = h.core.reload(try spec(Self.two), now: h.at(5))
        #expect(back == ["vrrp_instance VI_2: add (starts in BACKUP, then elects)"])
        #expect(h.state("VI_2") == "BACKUP")
    }
}
