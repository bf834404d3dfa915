import Glibc
import Testing
@testable import IPVS

/// SplitMix64: a tiny seeded generator so a failing property run can be replayed from its printed seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ReconcilerTests {
    static let web = IPVSServiceKey.address(.tcp, .ipv4(10, 0, 0, 1), port: 80)
    static let dns = IPVSServiceKey.address(.udp, .ipv4(10, 0, 0, 1), port: 53)
    static let mark = IPVSServiceKey.firewallMark(5, family: .ipv6)
    static func real(_ last: UInt8, weight: Int32 = 1, _ fwd: IPVSForwarding = .route) -> IPVSDestination {
        IPVSDestination(address: .ipv4(192, 168, 0, last), port: 80, forwarding: fwd, weight: weight)
    }
    static func entries(_ rules: [IPVSServiceRules]) -> [IPVSServiceEntry] {
        rules.map { r in
            var s = r.service
            s.flags.insert(.hashed)  // as dumped
            return IPVSServiceEntry(service: s, destinations: r.destinations.map { IPVSDestinationEntry(destination: $0) })
        }
    }

    struct Case {
        var name: String
        var desired: [IPVSServiceRules]
        var actual: [IPVSServiceRules]
        var ownership: IPVSOwnership = .services([])
        var expected: [IPVSOperation]
        var foreign: [IPVSServiceKey] = []
    }

    static let cases: [Case] = {
        let rr = IPVSService(key: web, scheduler: "rr")
        let wrr = IPVSService(key: web, scheduler: "wrr")
        let dnsService = IPVSService(key: dns, scheduler: "rr")
        return [
            Case(name: "empty to one service with two reals", desired: [.init(service: rr, destinations: [real(1), real(2)])], actual: [],
                 expected: [.addService(rr), .addDestination(web, real(1)), .addDestination(web, real(2))]),
            Case(name: "in sync: nothing", desired: [.init(service: rr, destinations: [real(1)])],
                 actual: [.init(service: rr, destinations: [real(1)])], expected: []),
            Case(name: "weight change is a SET, never DEL+NEW", desired: [.init(service: rr, destinations: [real(1, weight: 5)])],
                 actual: [.init(service: rr, destinations: [real(1)])], expected: [.updateDestination(web, real(1, weight: 5))]),
            Case(name: "scheduler change is a service SET keeping reals", desired: [.init(service: wrr, destinations: [real(1)])],
                 actual: [.init(service: rr, destinations: [real(1)])], expected: [.updateService(wrr)]),
            Case(name: "sorry server in: added before the reals leave",
                 desired: [.init(service: rr, destinations: [real(99, .masquerade)])],
                 actual: [.init(service: rr, destinations: [real(1), real(2)])],
                 expected: [.addDestination(web, real(99, .masquerade)), .deleteDestination(web, real(1).endpoint),
                            .deleteDestination(web, real(2).endpoint)]),
            Case(name: "unowned services are left alone and reported",
                 desired: [.init(service: rr)], actual: [.init(service: rr), .init(service: dnsService)],
                 expected: [], foreign: [dns]),
            Case(name: "owned services no longer declared are deleted last",
                 desired: [.init(service: IPVSService(key: mark, scheduler: "sh"), destinations: [])],
                 actual: [.init(service: rr, destinations: [real(1)]), .init(service: dnsService)],
                 ownership: .services([web]),
                 expected: [.addService(IPVSService(key: mark, scheduler: "sh")), .deleteService(web)], foreign: [dns]),
            Case(name: "lvs_flush owns the whole table", desired: [], actual: [.init(service: rr), .init(service: dnsService)],
                 ownership: .wholeTable, expected: [.deleteService(web), .deleteService(dns)]),
            Case(name: "forwarding, thresholds and persistence are compared",
                 desired: [.init(service: IPVSService(key: web, scheduler: "rr", flags: .persistent, timeout: 60),
                                 destinations: [IPVSDestination(address: .ipv4(192, 168, 0, 1), port: 80, forwarding: .masquerade, upperThreshold: 10)])],
                 actual: [.init(service: rr, destinations: [real(1)])],
                 expected: [.updateService(IPVSService(key: web, scheduler: "rr", flags: .persistent, timeout: 60)),
                            .updateDestination(web, IPVSDestination(address: .ipv4(192, 168, 0, 1), port: 80, forwarding: .masquerade, upperThreshold: 10))]),
            Case(name: "a kernel-chosen Local forwarding is not a difference",
                 desired: [.init(service: rr, destinations: [real(1)])], actual: [.init(service: rr, destinations: [real(1, .local)])],
                 expected: []),
            Case(name: "duplicate desired entries are planned once",
                 desired: [.init(service: rr, destinations: [real(1), real(1)]), .init(service: rr, destinations: [real(2)])], actual: [],
                 expected: [.addService(rr), .addDestination(web, real(1))]),
        ]
    }()

    @Test(arguments: cases.indices)
    func tableDriven(_ i: Int) {
        let c = Self.cases[i]
        let plan = IPVSReconciler.plan(desired: c.desired, actual: Self.entries(c.actual), ownership: c.ownership)
        #expect(plan.operations == c.expected, "\(c.name)")
        #expect(plan.foreignServices == c.foreign, "\(c.name)")
    }

    // MARK: Properties

    static func randomAddress(_ family: AddressFamily, _ g: inout SeededGenerator) -> IPAddress {
        if family == .ipv4 { return .ipv4(10, UInt8.random(in: 0...1, using: &g), 0, UInt8.random(in: 1...6, using: &g)) }
        return IPAddress(bytes: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [UInt8.random(in: 1...6, using: &g)])
            ?? .zero(.ipv6)
    }

    static func randomKey(_ g: inout SeededGenerator) -> IPVSServiceKey {
        let family: AddressFamily = Bool.random(using: &g) ? .ipv4 : .ipv6
        if Int.random(in: 0..<5, using: &g) == 0 { return .firewallMark(UInt32.random(in: 1...3, using: &g), family: family) }
        let proto = [IPVSProtocol.tcp, .udp, .sctp].randomElement(using: &g) ?? .tcp
        return .address(proto, randomAddress(family, &g), port: [80, 443].randomElement(using: &g) ?? 80)
    }

    static func randomRules(_ g: inout SeededGenerator, keys: [IPVSServiceKey]) -> [IPVSServiceRules] {
        var out: [IPVSServiceRules] = []
        for key in keys where Bool.random(using: &g) {
            var flags: IPVSServiceFlags = []
            if Bool.random(using: &g) { flags.insert(.persistent) }
            if Bool.random(using: &g) { flags.insert(.scheduler1) }
            let service = IPVSService(key: key, scheduler: ["rr", "wrr", "sh", "mh"].randomElement(using: &g) ?? "rr", flags: flags,
                                      timeout: flags.contains(.persistent) ? UInt32.random(in: 1...3, using: &g) * 60 : 0)
            var dests: [IPVSDestination] = []
            var seen = Set<Endpoint>()
            for _ in 0..<Int.random(in: 0...6, using: &g) {
                let d = IPVSDestination(address: randomAddress(key.family, &g), port: UInt16.random(in: 80...81, using: &g),
                                        forwarding: Bool.random(using: &g) ? .masquerade : .route,
                                        weight: Int32.random(in: 0...3, using: &g), upperThreshold: UInt32.random(in: 0...1, using: &g) * 100)
                if seen.insert(d.endpoint).inserted { dests.append(d) }
            }
            out.append(IPVSServiceRules(service: service, destinations: dests))
        }
        return out
    }

    static func sortedRules(_ rules: [IPVSServiceRules]) -> [String] {
        rules.map { r in
            "\(r.service.normalized) " + r.destinations.map { "\($0)" }.sorted().joined(separator: ",")
        }.sorted()
    }

    /// apply(plan(desired, actual), actual) == desired on the owned part, and foreign services are untouched.
    @Test func planConvergesOnTheFake() throws {
        let seed: UInt64 = 0x1D1EC7012D
        print("reconciler property seed: \(seed)")
        var g = SeededGenerator(seed: seed)
        for round in 0..<400 {
            let keys = (0..<8).map { _ in Self.randomKey(&g) }
            let unique = Array(Set(keys))
            let desired = Self.randomRules(&g, keys: unique)
            let actual = Self.randomRules(&g, keys: unique)
            let wholeTable = round % 3 == 0
            let previouslyOwned = Set(actual.map(\.key).filter { _ in Bool.random(using: &g) })
            let ownership: IPVSOwnership = wholeTable ? .wholeTable : .services(previouslyOwned)
            let fake = RecordingIPVSTable(services: actual)
            let plan = IPVSReconciler.plan(desired: desired, actual: try fake.services(), ownership: ownership)
            let failures = try fake.apply(plan.operations)
            #expect(failures.isEmpty, "seed \(seed) round \(round): \(failures)")

            let owned = Set(desired.map(\.key)).union(wholeTable ? Set(actual.map(\.key)) : previouslyOwned)
            let after = fake.rules
            let expectedForeign = actual.filter { !owned.contains($0.key) }
            #expect(Self.sortedRules(after.filter { owned.contains($0.key) }) == Self.sortedRules(desired), "seed \(seed) round \(round)")
            #expect(Self.sortedRules(after.filter { !owned.contains($0.key) }) == Self.sortedRules(expectedForeign), "seed \(seed) round \(round)")
            #expect(Set(plan.foreignServices) == Set(expectedForeign.map(\.key)))

            // Minimal: a second plan is empty, and every operation was needed (no DEL+NEW pairs for one key).
            #expect(IPVSReconciler.plan(desired: desired, actual: try fake.services(), ownership: ownership).operations.isEmpty)
            for op in plan.operations {
                if case .addService(let s) = op {
                    #expect(!plan.operations.contains(.deleteService(s.key)), "seed \(seed) round \(round)")
                }
                if case .addDestination(let k, let d) = op {
                    #expect(!plan.operations.contains(.deleteDestination(k, d.endpoint)), "seed \(seed) round \(round)")
                }
            }
            // Service deletions come after every other operation.
            if let firstDelete = plan.operations.firstIndex(where: { if case .deleteService = $0 { return true } else { return false } }) {
                #expect(plan.operations[firstDelete...].allSatisfy { if case .deleteService = $0 { return true } else { return false } })
            }
        }
    }

    @Test func recordingFakeRecordsCallsAndInjectsFailures() throws {
        let fake = RecordingIPVSTable()
        let add = IPVSOperation.addService(IPVSService(key: Self.web, scheduler: "rr"))
        fake.injectedFailures[add] = EPERM
        let failures = try fake.apply([add])
        #expect(failures.map { $0.error.kernelErrno } == [EPERM])
        #expect(fake.calls == [.apply([add])])
        #expect(try fake.apply([add]).isEmpty)
        fake.unavailableError = .unavailable
        #expect(throws: IPVSError.unavailable) { try fake.services() }
    }
}

@Suite struct AdmCommandTests {
    @Test func parsesIpvsadmSyntaxWithItsDefaults() throws {
        let key = IPVSServiceKey.address(.tcp, .ipv4(10, 0, 0, 1), port: 80)
        #expect(try IPVSAdmCommand.parse(["-A", "-t", "10.0.0.1:80"]) == .operation(.addService(IPVSService(key: key, scheduler: "wlc"))))
        #expect(try IPVSAdmCommand.parse(["ipvsadm", "-A", "-t", "10.0.0.1:80", "-s", "sh", "-p", "-b", "sh-port,flag-3"])
                == .operation(.addService(IPVSService(key: key, scheduler: "sh", flags: [.persistent, .shPort, .scheduler3], timeout: 360))))
        #expect(try IPVSAdmCommand.parse(["-E", "-f", "7", "-6", "-s", "rr", "-p", "30", "-M", "64", "--pe", "sip", "-o"])
                == .operation(.updateService(IPVSService(key: .firewallMark(7, family: .ipv6), scheduler: "rr",
                                                         flags: [.persistent, .onePacket], timeout: 30, netmask: 64, persistenceEngine: "sip"))))
        #expect(try IPVSAdmCommand.parse(["-A", "-u", "10.0.0.1:53", "-p", "-M", "255.255.255.0"])
                == .operation(.addService(IPVSService(key: .address(.udp, .ipv4(10, 0, 0, 1), port: 53), flags: .persistent, timeout: 360, netmask: 0xFFFF_FF00))))
        // Real servers: default -g and weight 1; no port = service port; -g/-i forced to the service port; -m keeps it.
        #expect(try IPVSAdmCommand.parse(["-a", "-t", "10.0.0.1:80", "-r", "192.168.0.1"])
                == .operation(.addDestination(key, IPVSDestination(address: .ipv4(192, 168, 0, 1), port: 80))))
        #expect(try IPVSAdmCommand.parse(["-a", "-t", "10.0.0.1:80", "-r", "192.168.0.1:8080", "-i"])
                == .operation(.addDestination(key, IPVSDestination(address: .ipv4(192, 168, 0, 1), port: 80, forwarding: .tunnel))))
        #expect(try IPVSAdmCommand.parse(["-e", "-t", "10.0.0.1:80", "-r", "192.168.0.1:8080", "-m", "-w", "0", "-x", "10", "-y", "5"])
                == .operation(.updateDestination(key, IPVSDestination(address: .ipv4(192, 168, 0, 1), port: 8080, forwarding: .masquerade,
                                                                      weight: 0, upperThreshold: 10, lowerThreshold: 5))))
        #expect(try IPVSAdmCommand.parse(["-a", "-f", "9", "-r", "192.168.0.1:443", "-g"])
                == .operation(.addDestination(.firewallMark(9, family: .ipv4), IPVSDestination(address: .ipv4(192, 168, 0, 1), port: 443))))
        #expect(try IPVSAdmCommand.parse(["-d", "-t", "10.0.0.1:80", "-r", "192.168.0.1:8080"])
                == .operation(.deleteDestination(key, Endpoint(address: .ipv4(192, 168, 0, 1), port: 8080))))
        #expect(try IPVSAdmCommand.parse(["-d", "-u", "[2001:db8::1]:53", "-r", "[2001:db8::2]:53"])
                == .operation(.deleteDestination(.address(.udp, IPAddress("2001:db8::1")!, port: 53), Endpoint(address: IPAddress("2001:db8::2")!, port: 53))))
        #expect(try IPVSAdmCommand.parse(["--set", "900", "0", "300"]) == .setTimeouts(IPVSTimeouts(tcp: 900, tcpFin: 0, udp: 300)))
        #expect(try IPVSAdmCommand.parse(["--start-daemon", "backup", "--mcast-interface", "eth1", "--syncid", "3", "--mcast-group", "ff02::81"])
                == .startDaemon(IPVSSyncDaemon(state: .backup, interface: "eth1", syncID: 3, group: IPAddress("ff02::81"))))
        #expect(try IPVSAdmCommand.parse(["-C"]) == .flush)
        #expect(try IPVSAdmCommand.parse(["-Z", "-t", "10.0.0.1:80"]) == .zero(key))
    }

    @Test func rejectsWhatIpvsadmRejects() {
        for bad in [["-A"], ["-A", "-t", "10.0.0.1:80", "-a"], ["-A", "-t", "host:80"], ["-A", "-f", "0"], ["-a", "-t", "10.0.0.1:80"],
                    ["-A", "-t", "10.0.0.1:80", "-b", "nonsense"], ["-A", "-t", "[::1]:80", "-p", "-M", "200"], ["--start-daemon", "master"],
                    ["--start-daemon", "primary", "--mcast-interface", "eth0"], ["-w"], ["--bogus"]] {
            #expect(throws: IPVSAdmSyntaxError.self, "\(bad)") { try IPVSAdmCommand.parse(bad) }
        }
        #expect(IPVSAdmCommand.words(ofLine: "  # comment") == nil)
        #expect(IPVSAdmCommand.words(ofLine: "-A\t-t 1.2.3.4:80 ") == ["-A", "-t", "1.2.3.4:80"])
    }

    @Test func endpointsParseLikeIpvsadm() {
        #expect(Endpoint(parsing: "10.0.0.1:80") == Endpoint(address: .ipv4(10, 0, 0, 1), port: 80))
        #expect(Endpoint(parsing: "10.0.0.1") == Endpoint(address: .ipv4(10, 0, 0, 1), port: 0))
        #expect(Endpoint(parsing: "[2001:db8::1]:443")?.port == 443)
        #expect(Endpoint(parsing: "2001:db8::1")?.address.family == .ipv6)
        #expect(Endpoint(parsing: "[10.0.0.1]:80") == nil)
        #expect(Endpoint(parsing: "10.0.0.1:99999") == nil)
        #expect(Endpoint(parsing: "example.com:80") == nil)
    }
}
