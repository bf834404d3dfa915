import Foundation
import Testing

@testable import ControlProtocol

@Suite struct ControlMessagesTests {
    @Test func requestsRoundTripAsOneLine() throws {
        for request in [ControlRequest.status, .reload, .diff(configFile: "/etc/directord/new.conf")] {
            let bytes = try ControlFraming.encode(request)
            #expect(bytes.last == UInt8(ascii: "\n"))
            #expect(bytes.dropLast().contains(UInt8(ascii: "\n")) == false)
            #expect(try ControlFraming.decode(ControlRequest.self, from: bytes.dropLast()) == request)
        }
    }

    @Test func aStatusWithNewlinesInMessagesStaysOneLine() throws {
        let response = ControlResponse(
            ok: false, message: "a.conf:3:1: error: x\nb.conf:4:2: error: y",
            status: DaemonStatus(pid: 42, configFile: "/etc/directord/directord.conf", configLoadedAt: 1))
        let bytes = try ControlFraming.encode(response)
        #expect(bytes.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        #expect(try ControlFraming.decode(ControlResponse.self, from: bytes.dropLast()) == response)
    }

    @Test func aMissingDaemonIsExplained() {
        let client = ControlClient(socketPath: "/tmp/directord-test-\(UUID().uuidString).sock", timeout: .seconds(1))
        #expect(throws: ControlClientError.self) { try client.send(.status) }
        do {
            _ = try client.send(.status)
        } catch {
            #expect(error.message.contains("directord is not running"))
        }
    }
}
