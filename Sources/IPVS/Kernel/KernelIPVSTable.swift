import Glibc

/// Moves datagrams to and from the kernel; the socket in production, a scripted kernel in tests.
protocol NetlinkTransport: AnyObject {
    func send(_ bytes: [UInt8]) throws
    func receive() throws -> ArraySlice<UInt8>
}

extension NetlinkSocket: NetlinkTransport {}

/// The kernel's IPVS table over generic netlink.
public final class KernelIPVSTable: IPVSTable {
    private let socket: NetlinkTransport
    private let family: UInt16
    private var sequence: UInt32 = 1
    /// Requests per window: as many acks as fit in the receive buffer, with room to spare.
    private let window: Int
    /// Bytes per sendmsg (the kernel refuses a datagram above its send buffer).
    private let sendLimit: Int

    /// Opens a socket and resolves the "IPVS" family; throws `.unavailable` when the kernel has no IPVS.
    public convenience init() throws {
        let socket = try NetlinkSocket()
        guard let id = try socket.resolveFamily("IPVS") else { throw IPVSError.unavailable }
        socket.growBuffers(to: 8 << 20)
        // An ack skb costs well under 1 KiB of receive buffer (truesize); keep half of it free.
        var window = max(8, socket.receiveBufferSize / 2048)
        // DIRECTORD_IPVS_WINDOW asks for fewer requests per datagram, never more than fit (directord(8)).
        if let text = getenv("DIRECTORD_IPVS_WINDOW"), let wanted = Int(String(cString: text)), wanted > 0 {
            window = min(window, wanted)
        }
        self.init(transport: socket, family: id, window: window,
                  sendLimit: max(4096, socket.sendBufferSize / 2 - 64),
                  firstSequence: UInt32(truncatingIfNeeded: time(nil)))
    }

    init(transport: NetlinkTransport, family: UInt16, window: Int, sendLimit: Int, firstSequence: UInt32) {
        self.socket = transport
        self.family = family
        self.window = window
        self.sendLimit = sendLimit
        self.sequence = firstSequence
    }

    private func nextSeq() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    // MARK: IPVSTable

    public func info() throws -> IPVSInfo {
        try IPVSCodec.decodeInfo(try single(.getInfo, subject: "GET_INFO") { IPVSCodec.getInfo(family: family, seq: $0) })
    }

    public func timeouts() throws -> IPVSTimeouts {
        try IPVSCodec.decodeTimeouts(try single(.getConfig, subject: "GET_CONFIG") { IPVSCodec.getConfig(family: family, seq: $0) })
    }

    public func setTimeouts(_ t: IPVSTimeouts) throws {
        try acknowledged(.setConfig, subject: "timeouts") { IPVSCodec.setConfig(t, family: family, seq: $0) }
    }

    public func services() throws -> [IPVSServiceEntry] {
        let messages = try dump(.listServices, subject: "the service list") { IPVSCodec.dumpServices(family: family, seq: $0) }
        var entries = try messages.map { try IPVSCodec.decodeServiceMessage($0) }
        for i in entries.indices {
            entries[i].destinations = try destinations(of: entries[i].service.key)
        }
        return entries
    }

    public func service(_ key: IPVSServiceKey) throws -> IPVSServiceEntry {
        var entry = try IPVSCodec.decodeServiceMessage(
            try single(.getService, subject: key.description) { IPVSCodec.getService(key, family: family, seq: $0) })
        entry.destinations = try destinations(of: entry.service.key)
        return entry
    }

    private func destinations(of key: IPVSServiceKey) throws -> [IPVSDestinationEntry] {
        try dump(.listDestinations, subject: key.description) { IPVSCodec.dumpDestinations(key, family: family, seq: $0) }
            .map { try IPVSCodec.decodeDestinationMessage($0, serviceFamily: key.family) }
    }

    public func syncDaemons() throws -> [IPVSSyncDaemon] {
        try dump(.listDaemons, subject: "the sync daemons") { IPVSCodec.dumpDaemons(family: family, seq: $0) }
            .map { try IPVSCodec.decodeDaemonMessage($0) }
    }

    public func startSyncDaemon(_ daemon: IPVSSyncDaemon) throws {
        try acknowledged(.startDaemon, subject: daemon.state.name) { IPVSCodec.startDaemon(daemon, family: family, seq: $0) }
    }

    public func stopSyncDaemon(_ state: IPVSSyncState) throws {
        try acknowledged(.stopDaemon, subject: state.name) { IPVSCodec.stopDaemon(state, family: family, seq: $0) }
    }

    public func zero(_ key: IPVSServiceKey?) throws {
        try acknowledged(.zero, subject: key?.description ?? "all counters") { IPVSCodec.zero(key, family: family, seq: $0) }
    }

    public func flush() throws {
        try acknowledged(.flush, subject: "flush") { IPVSCodec.flush(family: family, seq: $0) }
    }

    /// Sends windows of requests in single datagrams and then drains their acks, matching them by sequence.
    /// The kernel handles each message of a datagram in turn and acks each, failed or not.
    public func apply(_ operations: [IPVSOperation]) throws -> [IPVSOperationFailure] {
        var failures: [IPVSOperationFailure] = []
        var next = 0
        var datagram: [UInt8] = []
        while next < operations.count {
            datagram.removeAll(keepingCapacity: true)
            let first = next
            let firstSeq = sequence &+ 1
            while next < operations.count, next - first < window {
                let seq = nextSeq()
                let mark = datagram.count
                IPVSCodec.appendRequest(operations[next], family: family, seq: seq, to: &datagram)
                if mark > 0, datagram.count > sendLimit {
                    datagram.removeSubrange(mark...)
                    sequence &-= 1
                    break
                }
                next += 1
            }
            try socket.send(datagram)
            // A window's sequence numbers are consecutive: operation `first + i` went out as `firstSeq &+ i`.
            var unconfirmed = [Bool](repeating: true, count: next - first)
            var pending = next - first
            func take(_ seq: UInt32) -> Int? {
                let offset = Int(seq &- firstSeq)
                guard offset < unconfirmed.count, unconfirmed[offset] else { return nil }
                unconfirmed[offset] = false
                pending -= 1
                return first + offset
            }
            while pending > 0 {
                let replies: [NetlinkReply]
                do {
                    replies = try NetlinkCodec.parse(try socket.receive())
                } catch IPVSError.system(let call, let code) where code == ENOBUFS {
                    throw IPVSError.malformed("\(call): acknowledgements were lost (receive buffer overrun); \(pending) operations unconfirmed")
                }
                for reply in replies {
                    switch reply {
                    case .ack(let seq):
                        _ = take(seq)
                    case .failure(let seq, let code, let message):
                        guard let index = take(seq) else { continue }
                        let op = operations[index]
                        failures.append(IPVSOperationFailure(
                            index: index, operation: op,
                            error: .kernel(op.kind, errno: code, subject: Self.subject(of: op, errno: code), detail: message)))
                    case .data, .done:
                        continue
                    }
                }
            }
        }
        return failures.sorted { $0.index < $1.index }
    }

    /// What an errno is about: ENOENT on a service add means its scheduler (or persistence engine) module.
    static func subject(of op: IPVSOperation, errno code: Int32) -> String {
        switch op {
        case .addService(let s), .updateService(let s):
            if code == ENOENT {
                var text = "scheduler module ip_vs_\(s.scheduler)"
                if let pe = s.persistenceEngine { text += " or persistence engine module ip_vs_pe_\(pe)" }
                return text
            }
            return s.key.description
        case .deleteService(let k):
            return k.description
        case .addDestination(let k, let d), .updateDestination(let k, let d):
            return code == ESRCH ? k.description : "\(EndpointText(d.endpoint)) in \(k)"
        case .deleteDestination(let k, let e):
            return code == ESRCH ? k.description : "\(EndpointText(e)) in \(k)"
        }
    }

    // MARK: Request shapes

    /// A request answered by one data message.
    private func single(_ kind: IPVSOperationKind, subject: String, _ build: (UInt32) -> [UInt8]) throws -> ArraySlice<UInt8> {
        let seq = nextSeq()
        try socket.send(build(seq))
        while true {
            for reply in try NetlinkCodec.parse(try socket.receive()) where reply.seq == seq {
                switch reply {
                case .data(_, _, let attributes): return attributes
                case .failure(_, let code, let message): throw IPVSError.kernel(kind, errno: code, subject: subject, detail: message)
                case .ack, .done: throw IPVSError.malformed("\(kind.rawValue): acknowledged without an answer")
                }
            }
        }
    }

    /// A request answered by an acknowledgement.
    private func acknowledged(_ kind: IPVSOperationKind, subject: String, _ build: (UInt32) -> [UInt8]) throws {
        let seq = nextSeq()
        try socket.send(build(seq))
        while true {
            for reply in try NetlinkCodec.parse(try socket.receive()) where reply.seq == seq {
                switch reply {
                case .ack: return
                case .failure(_, let code, let message): throw IPVSError.kernel(kind, errno: code, subject: subject, detail: message)
                case .data, .done: continue
                }
            }
        }
    }

    /// A dump: data messages until NLMSG_DONE.
    private func dump(_ kind: IPVSOperationKind, subject: String, _ build: (UInt32) -> [UInt8]) throws -> [ArraySlice<UInt8>] {
        let seq = nextSeq()
        try socket.send(build(seq))
        var collected: [ArraySlice<UInt8>] = []
        while true {
            // Copy out of the shared receive buffer before the next receive overwrites it.
            let datagram = Array(try socket.receive())
            for reply in try NetlinkCodec.parse(datagram[...]) where reply.seq == seq {
                switch reply {
                case .data(_, _, let attributes): collected.append(attributes)
                case .done(_, let code):
                    if code != 0 { throw IPVSError.kernel(kind, errno: code, subject: subject, detail: nil) }
                    return collected
                case .failure(_, let code, let message): throw IPVSError.kernel(kind, errno: code, subject: subject, detail: message)
                case .ack: continue
                }
            }
        }
    }
}
