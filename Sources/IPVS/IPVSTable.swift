/// The narrow interface to an IPVS table (the kernel's, or a fake): what the reconciler, the daemon and
/// `directorctl list` need, and nothing else.
public protocol IPVSTable: AnyObject {
    func info() throws -> IPVSInfo
    /// Every service with its destinations, in the order the kernel dumps them.
    func services() throws -> [IPVSServiceEntry]
    /// One service with its destinations; throws a `.kernel(.getService, ESRCH, ...)` error when absent.
    func service(_ key: IPVSServiceKey) throws -> IPVSServiceEntry
    /// Applies operations in order without waiting for each acknowledgement. Throws only when the transport
    /// fails; kernel rejections are returned, one per failed operation, in order.
    func apply(_ operations: [IPVSOperation]) throws -> [IPVSOperationFailure]
    func syncDaemons() throws -> [IPVSSyncDaemon]
    func startSyncDaemon(_ daemon: IPVSSyncDaemon) throws
    func stopSyncDaemon(_ state: IPVSSyncState) throws
    func timeouts() throws -> IPVSTimeouts
    /// A zero field keeps the current value (as `ipvsadm --set`).
    func setTimeouts(_ timeouts: IPVSTimeouts) throws
    /// Zeroes the counters of one service, or of all when `key` is nil.
    func zero(_ key: IPVSServiceKey?) throws
    func flush() throws
}

extension IPVSTable {
    /// Applies operations and turns any rejection into one error listing every failed operation.
    public func applyAll(_ operations: [IPVSOperation]) throws {
        let failures = try apply(operations)
        if !failures.isEmpty { throw IPVSError.batch(failures) }
    }
}
