import DirectorConfig
import HealthCheck
import IPVS
import Logging
import NIOPosix
import Testing

@testable import Director

/// A reload that changes only some virtual servers plans and applies only theirs; the table it leaves must be the
/// table a fresh start programs from the same file, whatever the edit.
@Suite struct IncrementalReloadTests {
    struct Service {
        var index: Int
        var weights: [Int]
        var scheduler = "wrr"
        var alpha = false
    }

    static func text(_ services: [Service], routerID: String = "a") -> String {
        var out = "global_defs {\n    router_id \(routerID)\n}\n"
        for s in services {
            out += "virtual_server 10.2.0.\(s.index) 80 {\n    lb_algo \(s.scheduler)\n    lb_kind NAT\n    protocol TCP\n"
            for (j, w) in s.weights.enumerated() {
                out += "    real_server 10.2.\(s.index).\(j + 1) 8080 {\n        weight \(w)\n"
                out += "        TCP_CHECK {\n            connect_timeout 1\n\(s.alpha ? "            alpha\n" : "")        }\n    }\n"
            }
            out += "}\n"
        }
        return out
    }

    static func sorted(_ rules: [IPVSServiceRules]) -> [String] {
        rules.map { r in "\(r.service) " + r.destinations.map { "\($0)" }.sorted().joined(separator: ",") }.sorted()
    }

    /// Starts a supervisor (with health checks, every real up) on `files[path]`.
    static func started(_ files: FakeFiles, _ shared: SharedTable, down: Set<String> = []) async throws -> (Supervisor, Engine) {
        let engine = try makeEngine(files, shared)
        let supervisor = makeSupervisor(engine, files)
        let configuration = try Engine.load(path, dependencies: EngineDependencies(loadConfiguration: { files.load($0) }), logger: Logger(label: "t"))
        try await supervisor.start(configuration, healthChecks: true, prober: FakeProber(down: down))
        return (supervisor, engine)
    }

    @Test func oneWeightAndOneRealAreTwoOperationsAndTheTableMatchesAFreshStart() async throws {
        var services = (1...6).map { Service(index: $0, weights: [1, 2, 3]) }
        let files = FakeFiles()
        files[path] = Self.text(services)
        let shared = SharedTable()
        let (supervisor, _) = try await Self.started(files, shared)

        // Each edit, then what the running table must look like: as a fresh start of the same file programs it.
        let edits: [(String, ([Service]) -> [Service], Int?)] = [
            ("one weight and one real", { var s = $0; s[2].weights[0] = 5; s[2].weights.append(4); return s }, 2),
            ("a real removed", { var s = $0; s[4].weights.removeLast(); return s }, 1),
            ("a service removed", { var s = $0; s.remove(at: 1); return s }, 1),
            ("a service added", { $0 + [Service(index: 9, weights: [2, 2])] }, 3),
            ("a scheduler changed", { var s = $0; s[0].scheduler = "rr"; return s }, 1),
            ("nothing", { $0 }, 0),
        ]
        for (name, edit, operations) in edits {
            services = edit(services)
            files[path] = Self.text(services)
            shared.table.clearCalls()
            let response = await supervisor.reload(file: path)
            #expect(response.ok, "\(name): \(response.message)")
            if let operations { #expect(applied(shared.table.calls).count == operations, "\(name)") }
            #expect(!shared.table.calls.contains(.services), "\(name): a reload plans from memory, without a dump")
            let fresh = SharedTable()
            let (other, _) = try await Self.started(files, fresh)
            #expect(Self.sorted(shared.table.rules) == Self.sorted(fresh.table.rules), "\(name)")
            await other.stop(mode: .keep)
        }
        // A change outside the virtual servers takes the whole-table path, to the same result.
        files[path] = Self.text(services, routerID: "b")
        #expect(await supervisor.reload(file: path).ok)
        let status = await supervisor.status()
        #expect(status.virtualServers.map(\.name).count == services.count)
        await supervisor.stop(mode: .keep)
    }

    @Test func theChangesAreFoundByIdentityAndValue() throws {
        let old = try #require(ConfigurationLoader.parse(Self.text((1...3).map { Service(index: $0, weights: [1]) })).configuration)
        let next = try #require(ConfigurationLoader.parse(Self.text([Service(index: 1, weights: [1]), Service(index: 2, weights: [7]),
                                                                     Service(index: 4, weights: [1])])).configuration)
        let changes = ReloadChanges(from: old, to: next)
        #expect(changes.isolated)
        #expect(changes.changed.map(\.identity) == ["10.2.0.2 80 TCP", "10.2.0.4 80 TCP"])
        #expect(changes.removed.map(\.identity) == ["10.2.0.3 80 TCP"])
        let renamed = try #require(ConfigurationLoader.parse(Self.text([Service(index: 1, weights: [1])], routerID: "b")).configuration)
        #expect(!ReloadChanges(from: old, to: renamed).isolated)
    }

    @Test func aDownRealStaysDownWhenAnotherServiceChanges() async throws {
        // alpha: the real starts down and its checks (all failing) never bring it up; no timer is needed.
        var services = [Service(index: 1, weights: [3, 3], alpha: true), Service(index: 2, weights: [1])]
        let files = FakeFiles()
        files[path] = Self.text(services)
        let shared = SharedTable()
        let (supervisor, _) = try await Self.started(files, shared, down: ["10.2.1.1:"])
        let down = { (rules: [IPVSServiceRules]) in
            rules.first { "\($0.service)".contains("10.2.0.1") }?.destinations.filter { $0.weight > 0 }.map { "\($0.address)" } ?? []
        }
        let before = down(shared.table.rules)
        #expect(before.isEmpty, "alpha reals start down until a check succeeds")
        services[1].weights[0] = 4
        files[path] = Self.text(services)
        #expect(await supervisor.reload(file: path).ok)
        #expect(down(shared.table.rules) == before)
        let status = await supervisor.status()
        let reals = status.virtualServers.first { $0.name.hasPrefix("10.2.0.1 ") }?.reals ?? []
        #expect(reals.map(\.up) == [false, false])
        let other = shared.table.rules.first { "\($0.service)".contains("10.2.0.2") }
        #expect(other?.destinations.map(\.weight) == [4])
        await supervisor.stop(mode: .keep)
    }
}

/// The kernel refuses part of a plan (a scheduler module is missing): the rest is applied, the error names the
/// service, status says what is not in force, and what directord remembers stays true for the next plan.
@Suite struct RefusedOperationTests {
    typealias Service = IncrementalReloadTests.Service

    @Test func aReloadAppliesWhatTheKernelTakesAndStatusSaysWhatItRefused() async throws {
        var services = (1...3).map { Service(index: $0, weights: [1, 2]) }
        let files = FakeFiles()
        files[path] = IncrementalReloadTests.text(services)
        let shared = SharedTable()
        shared.table.schedulers.remove("sh")
        let (supervisor, engine) = try await IncrementalReloadTests.started(files, shared)
        services[0].scheduler = "sh"
        services[1].weights[0] = 5
        files[path] = IncrementalReloadTests.text(services)
        let response = await supervisor.reload(file: path)
        #expect(!response.ok)
        #expect(response.message.contains("10.2.0.1:80"), "\(response.message)")
        let second = shared.table.rules.first { "\($0.service)".contains("10.2.0.2:80") }
        #expect(second?.destinations.first?.weight == 5, "the rest of the plan is applied")
        var status = await supervisor.status()
        #expect(status.virtualServers.first { $0.name.hasPrefix("10.2.0.1 ") }?.notInForce?.contains("10.2.0.1:80") == true)
        #expect(status.virtualServers.first { $0.name.hasPrefix("10.2.0.2 ") }?.notInForce == nil)
        // The next reload plans from the truth: another change elsewhere is one operation and succeeds.
        services[2].weights[1] = 4
        files[path] = IncrementalReloadTests.text(services)
        shared.table.clearCalls()
        let next = await supervisor.reload(file: path)
        #expect(applied(shared.table.calls).filter { "\($0)".contains("10.2.0.3:80") }.count == 1)
        #expect(applied(shared.table.calls).allSatisfy { !"\($0)".contains("10.2.0.2:80") })
        _ = next
        // The module appears: the drift check puts the refused part in force and status says nothing more.
        shared.table.schedulers.insert("sh")
        await engine.repairDrift()
        status = await supervisor.status()
        #expect(status.virtualServers.allSatisfy { $0.notInForce == nil })
        #expect(shared.table.rules.first { "\($0.service)".contains("10.2.0.1:80") }?.service.scheduler == "sh")
        await supervisor.stop(mode: .keep)
    }

    @Test func aStartWithARefusedServiceProgramsTheOthers() async throws {
        var services = (1...2).map { Service(index: $0, weights: [1]) }
        services[1].scheduler = "sh"
        let files = FakeFiles()
        files[path] = IncrementalReloadTests.text(services)
        let shared = SharedTable()
        shared.table.schedulers.remove("sh")
        let (supervisor, _) = try await IncrementalReloadTests.started(files, shared)
        #expect(shared.table.rules.map { "\($0.service)" }.contains { $0.contains("10.2.0.1:80") })
        let status = await supervisor.status()
        #expect(status.virtualServers.first { $0.name.hasPrefix("10.2.0.2 ") }?.notInForce != nil)
        await supervisor.stop(mode: .keep)
    }
}
