import Addresses
import DirectorConfig
import Logging
import Platform
import Prometheus

/// The figures `metrics_listen` serves as Prometheus text: VRRP state per instance, each real server's health,
/// kernel operations applied, drift repairs, reloads.
public final class Metrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let operations: Counter
    let driftRepairs: Counter
    let reloads: Counter
    let failedReloads: Counter

    public init() {
        operations = registry.makeCounter(name: "directord_ipvs_operations_total", help: "IPVS operations applied to the kernel")
        driftRepairs = registry.makeCounter(name: "directord_drift_repairs_total", help: "Times the kernel table was found changed and repaired")
        reloads = registry.makeCounter(name: "directord_reloads_total", help: "Configuration reloads applied")
        failedReloads = registry.makeCounter(name: "directord_reloads_failed_total", help: "Configuration reloads rejected or failed")
    }

    /// 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP (as the `state` label of `directorctl status`).
    public func instanceState(_ instance: String, _ state: String) {
        let value: Double = switch state.uppercased() {
        case "BACKUP": 1
        case "MASTER": 2
        case "FAULT": 3
        case "STOP": 4
        default: 0
        }
        registry.makeGauge(name: "directord_vrrp_instance_state", labels: [("instance", instance)],
                           help: "VRRP state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP").set(to: value)
    }

    public func realServer(_ virtualServer: String, _ real: String, up: Bool) {
        registry.makeGauge(name: "directord_real_server_up", labels: [("virtual_server", virtualServer), ("real_server", real)],
                           help: "1 while the real server passes its checks").set(to: up ? 1.0 : 0.0)
    }

    /// 1 while the virtual server's VIP has its route in the kernel for the routing daemon to announce.
    public func announced(_ virtualServer: String, _ on: Bool) {
        registry.makeGauge(name: "directord_virtual_server_announced", labels: [("virtual_server", virtualServer)],
                           help: "1 while the virtual server's VIP has its host route in the kernel for the routing daemon").set(to: on ? 1.0 : 0.0)
    }

    /// The operator's override of one real: drained (0/1), the weight override (-1: none), and while drained the
    /// active connections left in the kernel (-1: not drained).
    public func realOverride(_ virtualServer: String, _ real: String, drained: Bool, weight: Int?, activeConnections: UInt32?) {
        let labels = [("virtual_server", virtualServer), ("real_server", real)]
        registry.makeGauge(name: "directord_real_server_drained", labels: labels,
                           help: "1 while the real server is drained by directorctl drain").set(to: drained ? 1.0 : 0.0)
        registry.makeGauge(name: "directord_real_server_weight_override", labels: labels,
                           help: "The weight set by directorctl weight, -1 when none").set(to: Double(weight ?? -1))
        registry.makeGauge(name: "directord_real_server_drain_active_connections", labels: labels,
                           help: "Active connections left on a drained real server, -1 when it is not drained")
            .set(to: drained ? Double(activeConnections ?? 0) : -1)
    }

    public func render() -> [UInt8] {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return bytes
    }
}

/// GET /metrics over HTTP/1.1, one request per connection, on the serving loop: the Prometheus text, 404 for any
/// other path, 405 for another method.
enum MetricsServer {
    /// A request head longer than this is refused (431); a scraper's is a few hundred bytes.
    static let maximumHeadBytes = 8192

    static func start(at endpoint: Endpoint, on loop: ServingLoop, metrics: Metrics, logger: Logger) throws(SystemError) -> RequestListener {
        let kind = RequestKind(
            name: "metrics", maximumBytes: maximumHeadBytes,
            end: { received, newFrom in headEnd(received, from: newFrom) },
            tooLarge: response(status: "431 Request Header Fields Too Large", body: Array("request head too large\n".utf8)),
            answer: { head, _, send in send(answer(head, metrics: metrics)) })
        return try RequestListener.tcp(endpoint, kind: kind, on: loop, logger: logger)
    }

    /// The length through the blank line that ends the head (CRLF CRLF, or bare LF LF as RFC 9112 section 2.2 lets a
    /// server accept).
    static func headEnd(_ received: [UInt8], from newFrom: Int) -> Int? {
        var index = max(0, newFrom - 3)
        while index < received.count {
            if received[index] == UInt8(ascii: "\n") {
                if index + 1 < received.count, received[index + 1] == UInt8(ascii: "\n") { return index + 2 }
                if index + 2 < received.count, received[index + 1] == UInt8(ascii: "\r"), received[index + 2] == UInt8(ascii: "\n") {
                    return index + 3
                }
            }
            index += 1
        }
        return nil
    }

    /// The answer to one request head.
    static func answer(_ head: ArraySlice<UInt8>, metrics: Metrics) -> [UInt8] {
        let lineEnd = head.firstIndex(of: UInt8(ascii: "\n")) ?? head.endIndex
        var line = head[head.startIndex..<lineEnd]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].starts(with: Array("HTTP/1.".utf8)) else {
            return response(status: "400 Bad Request", body: Array("not an HTTP/1 request\n".utf8))
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        let path = parts[1].split(separator: UInt8(ascii: "?"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
        guard path.elementsEqual("/metrics".utf8) else {
            return response(status: "404 Not Found", body: Array("not found: try /metrics\n".utf8))
        }
        switch method {
        case "GET": return response(status: "200 OK", contentType: "text/plain; version=0.0.4", body: metrics.render())
        case "HEAD": return response(status: "200 OK", contentType: "text/plain; version=0.0.4", body: metrics.render(), headOnly: true)
        default: return response(status: "405 Method Not Allowed", extra: "Allow: GET, HEAD\r\n", body: Array("GET /metrics\n".utf8))
        }
    }

    static func response(status: String, contentType: String = "text/plain", extra: String = "", body: [UInt8], headOnly: Bool = false) -> [UInt8] {
        var bytes = Array("HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\(extra)Connection: close\r\n\r\n".utf8)
        if !headOnly { bytes += body }
        return bytes
    }
}
