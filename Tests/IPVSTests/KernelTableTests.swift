import Glibc
import Testing
@testable import IPVS

/// A scripted kernel behind the transport: decodes each request of a datagram, applies it to a recording fake
/// and answers as ip_vs_ctl.c would (acks, errnos, multi-part dumps).
final class SimulatedKernel: NetlinkTransport {
    let family: UInt16 = 0x1c
    let state: RecordingIPVSTable
    var outbox: [[UInt8]] = []
    var datagramsSent: [[UInt32]] = []  // the sequence numbers in each datagram
    var reverseAcks = false
    var dropAcks = false
    var receiveError: Int32? = nil

    init(state: RecordingIPVSTable = RecordingIPVSTable()) { self.state = state }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        var seqs: [UInt32] = []
        var acks: [[UInt8]] = []
        while offset + 16 <= bytes.count {
            let slice = bytes[offset...]
            let length = Int(readHost(UInt32.self, slice, at: 0) ?? 0)
            let flags = readHost(UInt16.self, slice, at: 6) ?? 0
            let seq = readHost(UInt32.self, slice, at: 8) ?? 0
            let command = bytes[offset + 16]
            let attrs = bytes[(offset + 20)..<(offset + length)]
            seqs.append(seq)
            try handle(command: command, flags: flags, seq: seq, attrs: attrs, acks: &acks)
            offset += (length + 3) & ~3
        }
        datagramsSent.append(seqs)
        if !acks.isEmpty && !dropAcks {
            // Deliver the acks in two datagrams, optionally in reverse order.
            let ordered = reverseAcks ? acks.reversed() : acks
            let half = ordered.count / 2
            if half > 0 { outbox.append(ordered[..<half].flatMap { $0 }) }
            outbox.append(ordered[half...].flatMap { $0 })
        }
    }

    func receive() throws -> ArraySlice<UInt8> {
        if let receiveError { throw IPVSError.system(call: "recv(netlink)", errno: receiveError) }
        guard !outbox.isEmpty else { throw IPVSError.malformed("simulated kernel has nothing to say") }
        return outbox.removeFirst()[...]
    }

    private func handle(command: UInt8, flags: UInt16, seq: UInt32, attrs: ArraySlice<UInt8>, acks: inout [[UInt8]]) throws {
        let top = try NetlinkAttributes(parsing: attrs, context: "request")
        let serviceAttrs = try top.nested(IPVSAttr.cmdService, "svc")
        func service() throws -> IPVSService {
            guard let a = serviceAttrs else { throw IPVSError.malformed("no service") }
            return try IPVSCodec.decodeService(a).service
        }
        func destination(_ key: IPVSServiceKey) throws -> IPVSDestination {
            try IPVSCodec.decodeDestinationMessage(attrs, serviceFamily: key.family).destination
        }
        guard let cmd = IPVSCommand(rawValue: command) else { throw IPVSError.malformed("command \(command)") }
        var op: IPVSOperation? = nil
        switch cmd {
        case .newService: op = .addService(try service())
        case .setService: op = .updateService(try service())
        case .delService: op = .deleteService(try service().key)
        case .newDest:
            let key = try service().key
            op = .addDestination(key, try destination(key))
        case .setDest:
            let key = try service().key
            op = .updateDestination(key, try destination(key))
        case .delDest:
            let key = try service().key
            op = .deleteDestination(key, try destination(key).endpoint)
        case .getService where flags & NLM.dump == NLM.dump:
            let entries = try state.services()
            // Two entries per datagram, as a kernel dump fills skbs.
            var batch: [UInt8] = []
            for (i, e) in entries.enumerated() {
                batch += entry(seq: seq, command: 1) { w in
                    w.putNested(IPVSAttr.cmdService) { IPVSCodec.putService(e.service, into: &$0) }
                }
                if i % 2 == 1 { outbox.append(batch); batch = [] }
            }
            outbox.append(batch + Bytes.done(seq: seq))
            return
        case .getService:
            do {
                let e = try state.service(try service().key)
                outbox.append(entry(seq: seq, command: 1) { w in
                    w.putNested(IPVSAttr.cmdService) { IPVSCodec.putService(e.service, into: &$0) }
                })
            } catch let error as IPVSError {
                outbox.append(Bytes.ack(seq: seq, errno: error.kernelErrno ?? EINVAL))
            }
            return
        case .getDest:
            let key = try service().key
            var batch: [UInt8] = []
            for d in (try? state.service(key))?.destinations ?? [] {
                batch += entry(seq: seq, command: 5) { w in
                    w.putNested(IPVSAttr.cmdDest) { IPVSCodec.putDestination(d.destination, into: &$0) }
                }
            }
            outbox.append(batch + Bytes.done(seq: seq))
            return
        case .getInfo:
            outbox.append(entry(seq: seq, command: 14) { w in
                w.putU32(IPVSAttr.infoVersion, 0x010201)
                w.putU32(IPVSAttr.infoConnTabSize, 4096)
            })
            return
        case .flush:
            try state.flush()
        default:
            throw IPVSError.malformed("simulated kernel does not do \(cmd)")
        }
        var code: Int32 = 0
        if let op {
            code = (try state.apply([op]).first?.error.kernelErrno) ?? 0
        }
        if flags & NLM.ack != 0 || code != 0 { acks.append(Bytes.ack(seq: seq, errno: code)) }
    }

    private func entry(seq: UInt32, command: UInt8, _ build: (inout NetlinkAttributeWriter) -> Void) -> [UInt8] {
        var w = NetlinkAttributeWriter()
        build(&w)
        return NetlinkCodec.request(family: family, command: command, flags: NLM.multi, seq: seq, attributes: w.bytes)
    }
}

@Suite struct KernelTableTests {
    static let key = IPVSServiceKey.address(.tcp, .ipv4(10, 0, 0, 1), port: 80)

    static func operations(services: Int, destinations: Int) -> [IPVSOperation] {
        var ops: [IPVSOperation] = []
        for s in 0..<services {
            let key = IPVSServiceKey.address(.tcp, .ipv4(10, 0, UInt8(s / 250), UInt8(s % 250 + 1)), port: 80)
            ops.append(.addService(IPVSService(key: key, scheduler: "wrr")))
            for d in 0..<destinations {
                ops.append(.addDestination(key, IPVSDestination(address: .ipv4(192, 168, UInt8(s % 250), UInt8(d + 1)), port: 8080, forwarding: .masquerade)))
            }
        }
        return ops
    }

    @Test func batchesAreSentInWindowsWithoutWaitingPerMessage() throws {
        let kernel = SimulatedKernel()
        let table = KernelIPVSTable(transport: kernel, family: kernel.family, window: 16, sendLimit: 1 << 20, firstSequence: 100)
        let ops = Self.operations(services: 10, destinations: 9)
        #expect(try table.apply(ops).isEmpty)
        #expect(kernel.datagramsSent.map(\.count) == [16, 16, 16, 16, 16, 16, 4])
        #expect(kernel.datagramsSent.flatMap { $0 } == Array(101...200))
        #expect(kernel.state.entries.count == 10 && kernel.state.entries.allSatisfy { $0.destinations.count == 9 })
    }

    @Test func sendLimitSplitsDatagramsByBytes() throws {
        let kernel = SimulatedKernel()
        let one = IPVSCodec.request(Self.operations(services: 1, destinations: 1)[1], family: 0x1c, seq: 1).count
        let table = KernelIPVSTable(transport: kernel, family: kernel.family, window: 1000, sendLimit: one * 3, firstSequence: 0)
        #expect(try table.apply(Self.operations(services: 1, destinations: 8)).isEmpty)
        #expect(kernel.datagramsSent.map(\.count) == [3, 3, 3])
        #expect(kernel.datagramsSent.flatMap { $0 } == Array(1...9))
    }

    @Test func failuresAreReportedPerOperationEvenWithAcksOutOfOrder() throws {
        let kernel = SimulatedKernel()
        kernel.reverseAcks = true
        let table = KernelIPVSTable(transport: kernel, family: kernel.family, window: 4, sendLimit: 1 << 20, firstSequence: 7)
        let other = IPVSServiceKey.address(.udp, .ipv4(10, 0, 0, 9), port: 53)
        let ops: [IPVSOperation] = [
            .addService(IPVSService(key: Self.key, scheduler: "rr")),
            .addService(IPVSService(key: Self.key, scheduler: "rr")),  // EEXIST
            .addService(IPVSService(key: other, scheduler: "nosuch")),  // ENOENT: no module
            .addDestination(other, IPVSDestination(address: .ipv4(1, 1, 1, 1), port: 53)),  // ESRCH
            .addDestination(Self.key, IPVSDestination(address: .ipv4(1, 1, 1, 1), port: 80)),
            .deleteDestination(Self.key, Endpoint(address: .ipv4(1, 1, 1, 2), port: 80)),  // ENOENT
            .updateService(IPVSService(key: other, scheduler: "rr")),  // ESRCH
        ]
        let failures = try table.apply(ops)
        #expect(failures.map(\.index) == [1, 2, 3, 5, 6])
        #expect(failures.map { $0.error.kernelErrno } == [EEXIST, ENOENT, ESRCH, ENOENT, ESRCH])
        #expect(failures.map(\.error.description) == [
            "virtual service TCP 10.0.0.1:80 already exists",
            "scheduler module ip_vs_nosuch not available",
            "virtual service for UDP 10.0.0.9:53 not found",
            "real server 1.1.1.2:80 in TCP 10.0.0.1:80 not found",
            "virtual service UDP 10.0.0.9:53 not found",
        ])
        #expect(kernel.state.rules == [IPVSServiceRules(service: IPVSService(key: Self.key, scheduler: "rr"),
                                                        destinations: [IPVSDestination(address: .ipv4(1, 1, 1, 1), port: 80)])])
        #expect(throws: IPVSError.self) { try table.applyAll([.deleteService(other)]) }
    }

    @Test func lostAcknowledgementsAreAnErrorNotASilentSuccess() {
        let kernel = SimulatedKernel()
        kernel.dropAcks = true
        kernel.receiveError = ENOBUFS
        let table = KernelIPVSTable(transport: kernel, family: kernel.family, window: 4, sendLimit: 1 << 20, firstSequence: 0)
        #expect {
            _ = try table.apply(Self.operations(services: 1, destinations: 2))
        } throws: { error in
            (error as? IPVSError)?.description.contains("acknowledgements were lost") == true
        }
    }

    @Test func dumpsCollectMultipartRepliesUntilDone() throws {
        let state = RecordingIPVSTable()
        let kernel = SimulatedKernel(state: state)
        let table = KernelIPVSTable(transport: kernel, family: kernel.family, window: 64, sendLimit: 1 << 20, firstSequence: 0)
        #expect(try table.apply(Self.operations(services: 5, destinations: 3)).isEmpty)
        let services = try table.services()
        #expect(services.count == 5)
        #expect(services.map { $0.destinations.count } == [3, 3, 3, 3, 3])
        #expect(services.map(IPVSServiceRules.init(entry:)).map(\.service.normalized) == state.rules.map(\.service))
        #expect(try table.info().versionString == "1.2.1")
        let one = try table.service(services[2].service.key)
        #expect(one.service.key == services[2].service.key && one.destinations.count == 3)
        #expect {
            _ = try table.service(.firewallMark(4, family: .ipv4))
        } throws: { error in
            (error as? IPVSError)?.description == "virtual service FWM 4 not found"
        }
        try table.flush()
        #expect(try table.services().isEmpty)
    }
}

@Suite struct ErrorMessageTests {
    @Test func operatorMessages() {
        #expect(IPVSError.unavailable.description == "IPVS is not available in this kernel: load it with `modprobe ip_vs`")
        #expect(IPVSError.kernel(.listServices, errno: EPERM, subject: "the service list", detail: nil).description
                == "permission denied: changing or reading IPVS needs root (CAP_NET_ADMIN)")
        #expect(IPVSError.system(call: "send(netlink)", errno: EPERM).description.contains("needs root"))
        #expect(IPVSError.kernel(.startDaemon, errno: EEXIST, subject: "master", detail: nil).description == "master sync daemon is already running")
        #expect(IPVSError.kernel(.stopDaemon, errno: ESRCH, subject: "backup", detail: nil).description == "no backup sync daemon is running")
        #expect(IPVSError.kernel(.addService, errno: EINVAL, subject: "TCP 1.2.3.4:0", detail: "bad port").description
                == "the kernel rejected TCP 1.2.3.4:0 as invalid (EINVAL) (bad port)")
        let sip = IPVSService(key: .address(.udp, .ipv4(1, 1, 1, 1), port: 5060), scheduler: "rr", persistenceEngine: "sip")
        #expect(KernelIPVSTable.subject(of: .addService(sip), errno: ENOENT) == "scheduler module ip_vs_rr or persistence engine module ip_vs_pe_sip")
    }
}
