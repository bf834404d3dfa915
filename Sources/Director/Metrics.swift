import DirectorConfig
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
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

/// A minimal HTTP/1.1 server: GET /metrics answers the Prometheus text, anything else 404.
enum MetricsServer {
    static func start(at endpoint: Endpoint, group: any EventLoopGroup, metrics: Metrics) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHandler(metrics: metrics))
                }
            }
            .bind(host: endpoint.address.description, port: Int(endpoint.port))
            .get()
    }
}

final class MetricsHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let metrics: Metrics

    init(metrics: Metrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = Self.unwrapInboundIn(data) else { return }
        let found = request.method == .GET && request.uri.split(separator: "?").first == "/metrics"
        let body = found ? metrics.render() : Array("not found: try /metrics\n".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: "close")
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            channel.close(promise: nil)
        }
    }
}
