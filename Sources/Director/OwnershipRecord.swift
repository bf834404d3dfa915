import FoundationEssentials
import Glibc
import IPVS
import Platform
import Synchronization

/// Where the services directord may have created are recorded, so that a directord killed in the middle of a
/// reload knows them at its next start. Without it, a service the old configuration had and the new one dropped
/// would be left in the kernel as if it were someone else's. The engine writes the record ahead of any operation
/// that creates a service, so the record always holds at least what directord owns in the kernel.
public protocol OwnershipStore: Sendable {
    /// The services a previous run recorded: none when there is no record, or when it was written in another boot
    /// or another network namespace (their tables are not this one). A record that cannot be read is an error to
    /// report; the start goes on with what the configuration owns.
    func load() -> Result<Set<IPVSServiceKey>, OwnershipRecordFailure>
    func save(_ services: Set<IPVSServiceKey>) -> Result<Void, OwnershipRecordFailure>
}

public struct OwnershipRecordFailure: Error, CustomStringConvertible {
    public var description: String
}

/// The record on disk: a JSON file beside the state file, one per network namespace, stamped with the boot.
public struct OwnershipFile: OwnershipStore {
    public let path: String
    let bootID: String
    let namespace: UInt64

    /// The record of the current boot and network namespace, in the directory of `stateFile`.
    public init(besideStateFile stateFile: String) {
        let namespace = Self.currentNamespace()
        let directory = Files.directory(of: stateFile)
        self.init(path: (directory.isEmpty ? "." : directory) + "/ipvs-owned-\(namespace).json",
                  bootID: Self.currentBootID(), namespace: namespace)
    }

    init(path: String, bootID: String, namespace: UInt64) {
        self.path = path
        self.bootID = bootID
        self.namespace = namespace
    }

    struct Contents: Codable {
        var version: Int
        var bootID: String
        var namespace: UInt64
        var services: [Entry]
    }

    /// One service, as an operator reads it: a protocol, an address and a port, or a firewall mark and a family.
    struct Entry: Codable, Hashable {
        var `protocol`: String?
        var address: String?
        var port: UInt16?
        var fwmark: UInt32?
        var ipv6: Bool?

        init(_ key: IPVSServiceKey) {
            switch key {
            case .address(let proto, let address, let port):
                self.protocol = proto.listName
                self.address = address.description
                self.port = port
            case .firewallMark(let mark, let family):
                fwmark = mark
                ipv6 = family == .ipv6 ? true : nil
            }
        }

        var key: IPVSServiceKey? {
            if let fwmark { return .firewallMark(fwmark, family: ipv6 == true ? .ipv6 : .ipv4) }
            guard let name = self.protocol, let proto = IPVSProtocol.allCases.first(where: { $0.listName == name }),
                  let text = address, let address = IPAddress(text), let port else { return nil }
            return .address(proto, address, port: port)
        }
    }

    public func load() -> Result<Set<IPVSServiceKey>, OwnershipRecordFailure> {
        let data: Data
        switch AtomicFile.read(path) {
        case .success(nil): return .success([])
        case .success(let bytes?): data = bytes
        case .failure(let failure): return .failure(OwnershipRecordFailure(description: failure.description))
        }
        let contents: Contents
        do { contents = try JSONDecoder().decode(Contents.self, from: data) } catch {
            return .failure(OwnershipRecordFailure(description: "\(path) is not a valid record of IPVS services: \(error)"))
        }
        guard contents.version == 1 else {
            return .failure(OwnershipRecordFailure(description: "\(path): unknown version \(contents.version) (this directord writes 1)"))
        }
        guard contents.bootID == bootID, contents.namespace == namespace else { return .success([]) }
        var keys = Set<IPVSServiceKey>()
        for entry in contents.services {
            guard let key = entry.key else {
                return .failure(OwnershipRecordFailure(description: "\(path): a service entry directord cannot read: \(entry)"))
            }
            keys.insert(key)
        }
        return .success(keys)
    }

    public func save(_ services: Set<IPVSServiceKey>) -> Result<Void, OwnershipRecordFailure> {
        // In a stable order, compared as values: a comparison of the entries' printed forms (reflection) cost
        // seconds per start at 1000 services under the lab's emulation.
        let entries = services.sorted(by: Self.precedes).map(Entry.init)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(Contents(version: 1, bootID: bootID, namespace: namespace, services: entries)))
                + [UInt8(ascii: "\n")]
        } catch {
            return .failure(OwnershipRecordFailure(description: "cannot encode the record of IPVS services: \(error)"))
        }
        return AtomicFile.replace(path, with: bytes).mapError { OwnershipRecordFailure(description: $0.description) }
    }

    static func precedes(_ a: IPVSServiceKey, _ b: IPVSServiceKey) -> Bool {
        switch (a, b) {
        case (.address(let pa, let aa, let qa), .address(let pb, let ab, let qb)): (pa.rawValue, aa, qa) < (pb.rawValue, ab, qb)
        case (.address, .firewallMark): true
        case (.firewallMark, .address): false
        case (.firewallMark(let ma, let fa), .firewallMark(let mb, let fb)): (ma, fa.kernelValue) < (mb, fb.kernelValue)
        }
    }

    /// The kernel's id of this boot (a table never outlives it).
    static func currentBootID() -> String {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingWhitespace() ?? ""
    }

    /// The network namespace's inode number, as `ls -iL /proc/self/ns/net` shows it (IPVS tables are per namespace).
    static func currentNamespace() -> UInt64 {
        var info = stat()
        guard stat("/proc/self/ns/net", &info) == 0 else { return 0 }
        return UInt64(info.st_ino)
    }
}

/// A record kept in memory, for tests (and for an engine whose caller asked for none).
public final class MemoryOwnershipStore: OwnershipStore, @unchecked Sendable {
    private let lock = Mutex(())
    private var services: Set<IPVSServiceKey>
    private(set) public var saves = 0

    public init(_ services: Set<IPVSServiceKey> = []) { self.services = services }

    public var recorded: Set<IPVSServiceKey> { lock.withLock { _ in services } }

    public func load() -> Result<Set<IPVSServiceKey>, OwnershipRecordFailure> { .success(recorded) }

    public func save(_ services: Set<IPVSServiceKey>) -> Result<Void, OwnershipRecordFailure> {
        lock.withLock { _ in
            self.services = services
            saves += 1
        }
        return .success(())
    }
}
