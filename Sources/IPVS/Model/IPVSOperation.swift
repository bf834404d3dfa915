/// One change to the kernel table; the unit of batching and of per-operation error reports.
public enum IPVSOperation: Hashable, Sendable, CustomStringConvertible {
    case addService(IPVSService)
    case updateService(IPVSService)
    case deleteService(IPVSServiceKey)
    case addDestination(IPVSServiceKey, IPVSDestination)
    case updateDestination(IPVSServiceKey, IPVSDestination)
    case deleteDestination(IPVSServiceKey, Endpoint)

    public var kind: IPVSOperationKind {
        switch self {
        case .addService: .addService
        case .updateService: .updateService
        case .deleteService: .deleteService
        case .addDestination: .addDestination
        case .updateDestination: .updateDestination
        case .deleteDestination: .deleteDestination
        }
    }

    public var serviceKey: IPVSServiceKey {
        switch self {
        case .addService(let s), .updateService(let s): s.key
        case .deleteService(let k): k
        case .addDestination(let k, _), .updateDestination(let k, _), .deleteDestination(let k, _): k
        }
    }

    public var description: String {
        switch self {
        case .addService(let s): "add service \(s.key) scheduler \(s.scheduler)"
        case .updateService(let s): "update service \(s.key) scheduler \(s.scheduler)"
        case .deleteService(let k): "delete service \(k)"
        case .addDestination(let k, let d): "add real server \(EndpointText(d.endpoint)) to \(k)"
        case .updateDestination(let k, let d): "update real server \(EndpointText(d.endpoint)) in \(k)"
        case .deleteDestination(let k, let e): "delete real server \(EndpointText(e)) from \(k)"
        }
    }
}

func EndpointText(_ e: Endpoint) -> String {
    e.address.family == .ipv6 ? "[\(e.address)]:\(e.port)" : "\(e.address):\(e.port)"
}

/// What a kernel request was doing, so its errno can be explained (the same errno means different things).
public enum IPVSOperationKind: String, Sendable, Hashable {
    case addService, updateService, deleteService
    case addDestination, updateDestination, deleteDestination
    case getInfo, getService, listServices, listDestinations
    case startDaemon, stopDaemon, listDaemons
    case getConfig, setConfig, zero, flush
}

/// The kernel's answer to one operation of a batch.
public struct IPVSOperationFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public var index: Int
    public var operation: IPVSOperation
    public var error: IPVSError

    public var description: String { "\(operation): \(error)" }
}
