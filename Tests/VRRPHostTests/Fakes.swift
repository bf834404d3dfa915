import Timeline
import Addresses
import DirectorConfig
import Foundation
import Glibc
import IPVS
import Logging
@testable import Platform
import Testing
import VRRP

@testable import VRRPHost

/// A lock around a value, for fakes called from the VRRP thread and tasks.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func read<T>(_ body: (Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(value)
    }

    func update<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }

    var current: Value { read { $0 } }
}

/// One socket pair: records what is sent, hands out injected packets; its pipe makes poll() see them.
final class FakeTransport: VRRPTransport, @unchecked Sendable {
    struct Sent: Hashable {
        var payload: [UInt8]
        var destination: [UInt8]
    }

    let interface: String
    let source: [UInt8]
    let group: [UInt8]?
    var hopLimit: UInt8 = 255
    let sent = Locked<[Sent]>([])
    let incoming = Locked<[ReceivedPacket]>([])
    let pipe: WakeupPipe
    let failSends = Locked(false)

    init(interface: String, source: [UInt8], group: [UInt8]?) throws {
        self.interface = interface
        self.source = source
        self.group = group
        pipe = try WakeupPipe()
    }

    var pollDescriptor: Int32 { pipe.readFD }

    func send(_ payload: [UInt8], to destination: [UInt8]) throws(SystemError) {
        if failSends.current { throw SystemError(call: "sendto", errno: ENETDOWN, detail: "fake") }
        sent.update { $0.append(Sent(payload: payload, destination: destination)) }
    }

    func receive() throws(SystemError) -> ReceivedPacket? {
        let next = incoming.update { $0.isEmpty ? nil : $0.removeFirst() }
        if next == nil { pipe.drain() }
        return next
    }

    func inject(_ bytes: [UInt8], source: [UInt8]) {
        incoming.update { $0.append(ReceivedPacket(bytes: bytes, source: source, destination: nil, hopLimit: nil, interfaceIndex: 2)) }
        pipe.signal()
    }

    /// Priorities of the adverts sent so far.
    var priorities: [UInt8] { sent.read { $0.map { $0.payload[2] } } }
}

final class FakeOpener: VRRPTransportOpening, @unchecked Sendable {
    let opened = Locked<[FakeTransport]>([])
    let refuse = Locked<Set<String>>([])

    func open(family: Int32, interface: String, source: [UInt8], multicastGroup: [UInt8]?, hopLimit: UInt8)
        throws(SystemError) -> any VRRPTransport
    {
        if refuse.current.contains(interface) { throw SystemError(call: "socket", errno: EPERM, detail: interface) }
        do {
            let t = try FakeTransport(interface: interface, source: source, group: multicastGroup)
            t.hopLimit = hopLimit
            opened.update { $0.append(t) }
            return t
        } catch {
            throw SystemError(call: "pipe", errno: EMFILE)
        }
    }

    func transport(_ interface: String) -> FakeTransport? { opened.read { $0.last { $0.interface == interface } } }
}

/// The process table, set by the test.
final class FakeProcesses: ProcessListing, @unchecked Sendable {
    let running = Locked<[RunningProcess]>([])
    func processes() -> [RunningProcess] { running.current }
}

/// use_vmac macvlans in memory: what exists, and the base interfaces' ARP settings.
final class FakeVirtualMACs: VirtualMACManaging, @unchecked Sendable {
    let links = Locked<[String: (base: String, address: [UInt8])]>([:])
    let baseSettings = Locked<[String: String]>([:])
    let calls = Locked<[String]>([])

    func create(_ name: String, on base: String, address: [UInt8]) throws(SystemError) -> VirtualMACOutcome {
        calls.update { $0.append("create \(name) on \(base)") }
        return links.update { links in
            defer { links[name] = (base, address) }
            guard let old = links[name] else { return .created }
            return old.base == base && old.address == address ? .reused : .replaced
        }
    }

    func delete(_ name: String) throws(SystemError) {
        calls.update { $0.append("delete \(name)") }
        links.update { _ = $0.removeValue(forKey: name) }
    }

    func prepareBase(_ base: String) throws(SystemError) -> [String: String] {
        calls.update { $0.append("prepare \(base)") }
        return baseSettings.update { settings in
            let saved = ["arp_ignore": settings[base] ?? "0"]
            settings[base] = "1"
            return saved
        }
    }

    func restoreBase(_ base: String, _ saved: [String: String]) throws(SystemError) {
        calls.update { $0.append("restore \(base)") }
        baseSettings.update { $0[base] = saved["arp_ignore"] }
    }
}

/// Addresses and routes in memory, with the kernel's EEXIST behaviour, and settable link states.
final class FakeNetwork: HostNetworking, @unchecked Sendable {
    enum Call: Hashable {
        case add(String), remove(String), addRoute(String), removeRoute(String), addRule(String), removeRule(String)
    }

    let addresses = Locked<Set<InterfaceAddress>>([])
    let routes = Locked<Set<HostRoute>>([])
    let rules = Locked<Set<HostRule>>([])
    let links = Locked<[String: Bool]>([:])
    let calls = Locked<[Call]>([])

    func add(_ address: InterfaceAddress) throws(SystemError) -> AddOutcome {
        calls.update { $0.append(.add(address.description)) }
        return addresses.update { $0.insert(address).inserted } ? .added : .alreadyPresent
    }

    func remove(_ address: InterfaceAddress) throws(SystemError) {
        calls.update { $0.append(.remove(address.description)) }
        addresses.update { _ = $0.remove(address) }
    }

    func add(_ route: HostRoute) throws(SystemError) -> AddOutcome {
        calls.update { $0.append(.addRoute(route.description)) }
        return routes.update { $0.insert(route).inserted } ? .added : .alreadyPresent
    }

    func remove(_ route: HostRoute) throws(SystemError) {
        calls.update { $0.append(.removeRoute(route.description)) }
        routes.update { _ = $0.remove(route) }
    }

    func add(_ rule: HostRule) throws(SystemError) -> AddOutcome {
        calls.update { $0.append(.addRule(rule.description)) }
        return rules.update { $0.insert(rule).inserted } ? .added : .alreadyPresent
    }

    func remove(_ rule: HostRule) throws(SystemError) {
        calls.update { $0.append(.removeRule(rule.description)) }
        rules.update { _ = $0.remove(rule) }
    }

    func link(_ name: String) throws(SystemError) -> LinkState {
        guard let up = links.read({ $0[name] }) else { throw SystemError(call: "get link", errno: ENODEV, detail: name) }
        return LinkState(index: 2, isUp: up, hardwareAddress: [2, 0, 0, 0, 0, 1])
    }

    var addressTexts: Set<String> { addresses.read { Set($0.map(\.description)) } }
}

final class FakeAnnouncer: AddressAnnouncing, @unchecked Sendable {
    let announced = Locked<[String]>([])

    func announce(_ address: InterfaceAddress) throws(SystemError) {
        announced.update { $0.append(address.description) }
    }
}

/// Records every script run; `outcome` decides each result (success by default); `hang` scripts never finish
/// before their timeout.
final class FakeScripts: ScriptRunning, @unchecked Sendable {
    let runs = Locked<[Script]>([])
    let outcomes = Locked<[String: ScriptOutcome]>([:])
    let hang = Locked<Set<String>>([])

    func run(_ script: Script, timeout: Duration) async -> ScriptResult {
        runs.update { $0.append(script) }
        if hang.current.contains(script.command) {
            try? await Task.sleep(for: timeout)
            return ScriptResult(outcome: .timedOut, output: "")
        }
        return ScriptResult(outcome: outcomes.read { $0[script.command] } ?? .exited(0), output: "")
    }

    func runs(of command: String) -> [Script] { runs.read { $0.filter { $0.command == command } } }
}

struct FakeAddresses: InterfaceAddressLookup {
    var table: [String: [[UInt8]]]

    func addresses(of interface: String, family: Int32) throws(SystemError) -> [[UInt8]] {
        guard let list = table[interface] else { throw SystemError(call: "getifaddrs", errno: ENODEV, detail: interface) }
        return list.filter { $0.count == (family == AF_INET ? 4 : 16) }
    }
}

struct FakeFiles: ScriptPathInspecting {
    var files: [String: FileStatus] = [:]
    var users: Set<String> = []
    var groups: Set<String> = []
    var searchPath: [String] = ["/usr/bin"]

    func status(of path: String) -> FileStatus? { files[path] }
    func canonicalPath(_ path: String) -> String? { files[path] == nil ? nil : path }
    func userExists(_ name: String) -> Bool { users.contains(name) }
    func groupExists(_ name: String) -> Bool { groups.contains(name) }
}

/// RecordingIPVSTable is not Sendable; the host only touches it from one thread at a time.
final class TableBox: @unchecked Sendable {
    let table = RecordingIPVSTable()
}

/// Kernel parameters in memory (missing keys read "0"), with every write recorded.
final class FakeSysctl: SysctlAccess, @unchecked Sendable {
    let values = Locked<[String: String]>([:])
    let writes = Locked<[String]>([])

    func read(_ key: String) throws(SystemError) -> String { values.read { $0[key] } ?? "0" }

    func write(_ key: String, _ value: String) throws(SystemError) {
        writes.update { $0.append("\(key)=\(value)") }
        values.update { $0[key] = value }
    }
}

/// A host core wired to fakes, driven by hand with explicit instants.
final class Harness: @unchecked Sendable {
    let network = FakeNetwork()
    let opener = FakeOpener()
    let announcer = FakeAnnouncer()
    let scripts = FakeScripts()
    let ipvs = TableBox()
    let virtualMACs = FakeVirtualMACs()
    let processes = FakeProcesses()
    let events = Locked<[VRRPHostEvent]>([])
    let posted = Locked<[HostWork]>([])
    /// track_file contents by path, as numbers (a missing file reads 0).
    let trackFiles = Locked<[String: Int64]>([:])
    let sysctl = FakeSysctl()
    let core: HostCore
    let t0 = Moment.now

    static let interfaces: [String: [[UInt8]]] = [
        "eth0": [[192, 0, 2, 1]], "eth1": [[10, 0, 0, 1]],
    ]

    init(_ text: String, files: FakeFiles = FakeFiles(), sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let loaded = ConfigurationLoader.parse(text)
        let configuration = try #require(loaded.configuration, "config: \(loaded.errors)", sourceLocation: sourceLocation)
        network.links.update { $0 = ["eth0": true, "eth1": true] }
        let box = ipvs
        let trackFiles = self.trackFiles
        let deps = VRRPHostDependencies(
            network: network, announcer: announcer, scripts: scripts, transports: opener,
            interfaceAddresses: FakeAddresses(table: Self.interfaces), files: files, ipvs: { box.table },
            notifyTimeout: .seconds(5), sysctl: sysctl, trackFileValue: { path in trackFiles.read { $0[path] } ?? 0 },
            virtualMACs: virtualMACs, processes: processes)
        let spec = HostSpec.build(configuration, addresses: deps.interfaceAddresses)
        let posted = self.posted, events = self.events
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        core = HostCore(
            spec: spec, dependencies: deps, logger: logger, post: { work in posted.update { $0.append(work) } },
            emit: { event in events.update { $0.append(event) } }, wallClock: { 1_000_000 })
    }

    func at(_ seconds: Double) -> Moment { t0 + .milliseconds(Int64(seconds * 1000)) }

    func start() throws { try core.start(now: t0) }

    /// Fires the timers due at `seconds` after start.
    func advance(to seconds: Double) { core.fireDueTimers(now: at(seconds)) }

    func state(_ name: String) -> String { core.router.members[name]?.machine.state.rawValue ?? "absent" }

    func transport(_ interface: String) throws -> FakeTransport {
        try #require(opener.transport(interface), "no socket on \(interface)")
    }

    /// Runs the work that script tasks posted, waiting up to 2 s for `count` items.
    func runPosted(count: Int = 1, at seconds: Double) async throws {
        let deadline = ContinuousClock.now + .seconds(2)
        while posted.read({ $0.count }) < count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        let work = posted.update { w in defer { w.removeAll() }; return w }
        #expect(work.count >= count, "expected \(count) posted result(s)")
        for item in work { item(core, at(seconds)) }
    }

    /// Waits for notify tasks (they run outside the core) to have run `command` `count` times.
    func waitForRuns(of command: String, count: Int) async throws -> [Script] {
        let deadline = ContinuousClock.now + .seconds(2)
        while scripts.runs(of: command).count < count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        return scripts.runs(of: command)
    }

    /// Delivers an advert from a peer as the kernel would (IPv4 header included).
    func receive(
        on interface: String, vrid: UInt8, priority: UInt8, addresses: [String], from source: String = "192.0.2.2",
        password: String? = nil, version: VRRP.VRRPVersion = .v2, interval: UInt16 = 100, ttl: UInt8 = 255, at seconds: Double,
        mangle: (inout [UInt8]) -> Void = { _ in }
    ) throws {
        let src = try #require(IPAddress(source))
        let advert = try Advertisement(
            version: version, family: .ipv4, virtualRouterID: vrid, priority: priority,
            addresses: addresses.compactMap(IPAddress.init), advertIntervalCentiseconds: interval,
            authentication: password.map { .password(AuthPassword($0)) } ?? .none)
        var payload = try advert.encoded(source: src, destination: .multicastIPv4)
        mangle(&payload)
        let t = try transport(interface)
        t.inject(ipv4(src, IPAddress.multicastIPv4, ttl: ttl, payload), source: src.bytes)
        core.readable(TransportKey(try #require(core.instances.values.first { $0.spec.wiring.interface == interface }).spec.wiring), now: at(seconds))
    }

    func ipv4(_ source: IPAddress, _ destination: IPAddress, ttl: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let total = 20 + payload.count
        return [0x45, 0xC0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0, 0, ttl, 112, 0, 0]
            + source.bytes + destination.bytes + payload
    }
}
