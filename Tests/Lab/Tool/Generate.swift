// Random IPVS tables in ipvsadm-restore syntax, reproducible from a seed, for the byte-for-byte lab scenarios.
import IPVS

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct TableGenerator {
    var g: SplitMix64
    var services = 40
    var maxDestinations = 20
    var persistenceEngine = false
    var tunnels = false
    var fwmarks = true

    static let schedulers = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"]

    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &g) }
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    /// A unicast IPv4 address the kernel accepts for a real server (no 0/8, 127/8, multicast or class E).
    mutating func ipv4() -> String {
        var first = int(1...223)
        while first == 127 { first = int(1...223) }
        return "\(first).\(int(0...255)).\(int(0...255)).\(int(1...254))"
    }

    /// Global unicast IPv6 with varied zero runs so inet_ntop's "::" placement is exercised.
    mutating func ipv6() -> String {
        var groups = (0..<8).map { _ in int(0...3) == 0 ? 0 : int(1...0xFFFF) }
        groups[0] = 0x2000 + int(0...0xFFF)
        if chance(50) {
            let start = int(1...6)
            let length = int(1...(7 - start))
            for i in start..<(start + length) { groups[i] = 0 }
        }
        if groups[7] == 0 { groups[7] = int(1...0xFFFF) }
        let address = groups.map { String($0, radix: 16) }.joined(separator: ":")
        // Let the kernel's own formatting decide: print via IPAddress, which is inet_ntop.
        return IPAddress(address)?.description ?? address
    }

    mutating func table() -> [String] {
        var lines: [String] = []
        var usedServices = Set<String>()
        for _ in 0..<services {
            let v6 = chance(35)
            let kind = int(0...9)
            var service: String
            var isUDP = false
            var isMark = false
            var port = 0
            var persistent = chance(40)
            if kind <= 1 && fwmarks {
                isMark = true
                let mark = chance(80) ? int(1...1000) : int(1...Int(Int32.max))
                service = "-f \(mark)" + (v6 ? " -6" : "")
            } else {
                let proto = kind <= 5 ? "-t" : (kind <= 8 ? "-u" : "--sctp-service")
                isUDP = proto == "-u"
                port = chance(10) ? 0 : int(1...65535)
                if port == 0 { persistent = true }
                let host = v6 ? "[\(ipv6())]" : ipv4()
                service = "\(proto) \(host):\(port)"
            }
            guard usedServices.insert(service).inserted else { continue }
            let scheduler = Self.schedulers[int(0...(Self.schedulers.count - 1))]
            var line = "-A \(service) -s \(scheduler)"
            if persistent {
                line += chance(30) ? " -p" : " -p \(int(1...86400))"
                if chance(40) {
                    if v6 {
                        line += " -M \(int(1...128))"
                    } else {
                        let prefix = int(8...32)
                        let mask: UInt32 = prefix == 32 ? 0xFFFF_FFFF : ~(0xFFFF_FFFF >> UInt32(prefix))
                        line += " -M \(mask >> 24).\((mask >> 16) & 0xFF).\((mask >> 8) & 0xFF).\(mask & 0xFF)"
                    }
                }
                if persistenceEngine && isUDP && chance(20) { line += " --pe sip" }
            }
            if (isUDP || isMark) && chance(25) { line += " -o" }
            if chance(30) {
                var flags: [String] = []
                switch scheduler {
                case "sh":
                    if chance(60) { flags.append("sh-fallback") }
                    if chance(60) { flags.append("sh-port") }
                case "mh":
                    if chance(60) { flags.append("mh-fallback") }
                    if chance(60) { flags.append("mh-port") }
                default:
                    if chance(40) { flags.append("flag-1") }
                    if chance(40) { flags.append("flag-2") }
                }
                if chance(20) { flags.append("flag-3") }
                if !flags.isEmpty { line += " -b " + flags.joined(separator: ",") }
            }
            lines.append(line)
            var usedReals = Set<String>()
            for _ in 0..<int(0...maxDestinations) {
                let forward: String
                switch int(0...9) {
                case 0...4: forward = "-m"
                case 5...8: forward = "-g"
                default: forward = tunnels ? "-i" : "-g"
                }
                let host = v6 ? "[\(ipv6())]" : ipv4()
                let realPort = forward == "-m" || isMark ? int(0...65535) : port
                let real = "\(host):\(realPort)"
                guard usedReals.insert(host + ":\(realPort)").inserted else { continue }
                var d = "-a \(service) -r \(real) \(forward) -w \(chance(10) ? 0 : int(1...65535))"
                // The kernel refuses a lower threshold above the upper one (ERANGE).
                if chance(40) {
                    let upper = int(0...65535)
                    d += " -x \(upper)"
                    if chance(60) { d += " -y \(int(0...upper))" }
                }
                lines.append(d)
            }
        }
        return lines
    }
}
