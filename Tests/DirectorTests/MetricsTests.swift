import Testing

@testable import Director

@Suite struct MetricsTests {
    @Test func renderNamesEachFigureWithItsLabels() {
        let metrics = Metrics()
        metrics.instanceState("VI_1", "MASTER")
        metrics.instanceState("VI_1", "BACKUP")
        metrics.realServer("10.0.0.1 80 TCP", "10.0.1.1:80", up: false)
        metrics.operations.increment(by: Int64(3))
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(text.contains("directord_vrrp_instance_state{instance=\"VI_1\"} 1.0"))
        #expect(text.contains("directord_real_server_up{virtual_server=\"10.0.0.1 80 TCP\",real_server=\"10.0.1.1:80\"} 0.0"))
        #expect(text.contains("directord_ipvs_operations_total 3"))
        #expect(text.contains("# TYPE directord_drift_repairs_total counter"))
    }
}
