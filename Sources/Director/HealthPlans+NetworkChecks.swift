import DirectorConfig
import HealthCheck

extension HealthPlans {
    /// SMTP_CHECK, DNS_CHECK, UDP_CHECK and PING_CHECK as probes; connect_timeout bounds each exchange.
    static func networkProbe(for check: DirectorConfig.HealthCheck, connect: Endpoint,
                             socket: CheckSocketOptions = CheckSocketOptions()) throws(CheckDefinitionError) -> CheckProbe {
        let bind = check.bindTo
        let bindPort = Int(check.bindPort ?? 0)
        let options = check.network
        switch check.kind {
        case .smtp:
            var smtp = try SMTPCheck(connect: connect, bindAddress: bind, bindPort: bindPort, connectTimeout: check.connectTimeout,
                                     heloName: options.heloName)
            smtp.socket = socket
            return .smtp(smtp)
        case .dns:
            var dns = try DNSCheck(connect: connect, bindAddress: bind, bindPort: bindPort, timeout: check.connectTimeout,
                                   type: DNSRecordType(rawValue: options.dnsType.code), name: options.dnsName)
            dns.socket = socket
            return .dns(dns)
        case .udp:
            var udp = try UDPCheck(
                connect: connect, bindAddress: bind, bindPort: bindPort, timeout: check.connectTimeout, payload: options.payload,
                requireReply: options.requireReply, replyBytes: options.replyPattern?.bytes ?? [],
                replyIgnoredBits: options.replyPattern?.ignoredBits, minReplyLength: options.minReplyLength,
                maxReplyLength: options.maxReplyLength)
            udp.socket = socket
            return .udp(udp)
        default:
            var ping = try PingCheck(connect: connect, bindAddress: bind, timeout: check.connectTimeout)
            ping.socket = socket
            return .ping(ping)
        }
    }
}
