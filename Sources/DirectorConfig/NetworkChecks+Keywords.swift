// Keyword tables for SMTP_CHECK (with its deprecated host blocks), DNS_CHECK, UDP_CHECK and PING_CHECK, as
// keepalived 2.2.7 reads them (check_smtp.c, check_dns.c, check_udp.c, check_ping.c).
import Addresses

extension HealthCheckDraft {
    /// The table of one of this file's checkers; nil for the others.
    static func networkKeywords(_ kind: HealthCheckKind) -> KeywordTable<HealthCheckDraft>? {
        switch kind {
        case .smtp: smtpKeywords
        case .dns: dnsKeywords
        case .udp: udpKeywords
        case .ping: pingKeywords
        default: nil
        }
    }

    static var networkKeywordTables: [(context: String, keywords: [String])] {
        [smtpKeywords, smtpHostKeywords, dnsKeywords, udpKeywords, pingKeywords].map { ($0.context, $0.names) }
    }

    static let smtpHostKeywords = KeywordTable<HealthCheckDraft>("SMTP_CHECK host", connectionKeywords)

    static let smtpKeywords = KeywordTable<HealthCheckDraft>("SMTP_CHECK", connectionKeywords + [
        .value("helo_name") { d, node, log in
            let word = node.arguments[0]
            // It goes into the command line: no line breaks or controls, and keepalived's 512-byte line bound.
            guard !word.text.isEmpty, !word.text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }),
                  word.text.utf8.count <= 500
            else {
                log.error(word.location, "'helo_name' must be 1 to 500 characters without control characters")
                return
            }
            d.network.heloName = word.text
        },
        .block("host") { d, node, log in
            log.warning(node.location, "SMTP_CHECK 'host' blocks are deprecated (keepalived 2.2.7 says so too): each host is read as an SMTP_CHECK of its own; write one SMTP_CHECK per host")
            var host = HealthCheckDraft(kind: .smtp, header: node)
            smtpHostKeywords.apply(node.block ?? [], to: &host, log: &log)
            d.hosts.append(host)
        },
    ])

    static let dnsKeywords = KeywordTable<HealthCheckDraft>("DNS_CHECK", connectionKeywords + [
        .value("type") { d, node, log in
            if let t = log.choice(node.arguments[0], "DNS_CHECK 'type'", DNSQueryType.allCases.map { ($0.rawValue, $0) }) { d.network.dnsType = t }
        },
        .value("name") { d, node, log in
            let word = node.arguments[0]
            if let problem = dnsNameProblem(word.text) {
                log.error(word.location, "DNS_CHECK 'name' '\(word.text)' \(problem)")
                return
            }
            d.network.dnsName = word.text == "." || !word.text.hasSuffix(".") ? word.text : String(word.text.dropLast())
        },
    ])

    static let udpKeywords = KeywordTable<HealthCheckDraft>("UDP_CHECK", connectionKeywords + [
        .value("payload", 1...Int.max) { d, node, log in
            guard let pattern = HexPattern.parse(node.arguments.map(\.text), allowWildcards: false) else {
                log.error(node.arguments[0].location, "UDP_CHECK 'payload' is not a hex string (pairs of hex digits, spaces allowed)")
                return
            }
            d.network.payload = pattern.bytes
        },
        .value("require_reply", 0...Int.max) { d, node, log in
            d.network.requireReply = true
            guard !node.arguments.isEmpty else { return }
            guard let pattern = HexPattern.parse(node.arguments.map(\.text), allowWildcards: true) else {
                log.error(node.arguments[0].location, "UDP_CHECK 'require_reply' is not a hex string (hex digits, X for a free half-byte, spaces allowed)")
                return
            }
            d.network.replyPattern = pattern
        },
        .value("min_reply_length") { d, node, log in
            if let v = log.integer(node.arguments[0], 0...65535, "'min_reply_length'") { d.network.minReplyLength = v }
        },
        .value("max_reply_length") { d, node, log in
            if let v = log.integer(node.arguments[0], 0...65535, "'max_reply_length'") { d.network.maxReplyLength = v }
        },
    ])

    /// keepalived's PING_CHECK has the connection options too; the port means nothing to ICMP.
    static let pingKeywords = KeywordTable<HealthCheckDraft>("PING_CHECK", connectionKeywords)

    /// Why a DNS name cannot be asked for, or nil. keepalived rejects empty labels; the wire format bounds a label
    /// to 63 bytes and a name to 255.
    static func dnsNameProblem(_ name: String) -> String? {
        if name == "." { return nil }
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        if trimmed.isEmpty || trimmed.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            return "has an empty label"
        }
        if trimmed.split(separator: ".").contains(where: { $0.utf8.count > 63 }) { return "has a label longer than 63 bytes" }
        if trimmed.utf8.count > 253 { return "is longer than 253 bytes" }
        if trimmed.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7f }) {
            return "may hold only printable ASCII"
        }
        return nil
    }

    /// keepalived 2.2.7: each `host` becomes an SMTP checker of its own (with the block's helo_name and timing); the
    /// block itself stays a checker when it has no host or sets a connection option of its own.
    func expandingHosts(log: inout DiagnosticLog) -> [HealthCheckDraft] {
        if kind == .udp && network.minReplyLength > network.maxReplyLength {
            log.warning(header.location, "UDP_CHECK min_reply_length \(network.minReplyLength) is above max_reply_length \(network.maxReplyLength): a reply always fails")
        }
        guard !hosts.isEmpty else { return [self] }
        let ownConnection = connectIP != nil || connectPort != nil || bindTo != nil || bindPort != nil || bindInterface != nil
            || fwmark != nil || inherited.connectTimeout != nil
        var base = self
        base.hosts = []
        let expanded = hosts.map { host in
            var check = host
            check.network = network
            check.inherited = host.inherited.over(inherited)
            return check
        }
        return (ownConnection ? [base] : []) + expanded
    }
}

extension NetworkCheckOptions {
    /// The option lines of `kind`'s block, as ConfigurationWriter writes them back.
    func configLines(_ kind: HealthCheckKind) -> [String] {
        switch kind {
        case .smtp:
            return ["helo_name " + ConfigurationWriter.quote(heloName)]
        case .dns:
            return ["type " + dnsType.rawValue, "name " + ConfigurationWriter.quote(dnsName)]
        case .udp:
            var lines: [String] = []
            if let payload { lines.append("payload " + HexPattern(bytes: payload).description) }
            if requireReply { lines.append("require_reply" + (replyPattern.map { " \($0)" } ?? "")) }
            lines.append("min_reply_length \(minReplyLength)")
            lines.append("max_reply_length \(maxReplyLength)")
            return lines
        default:
            return []
        }
    }
}
