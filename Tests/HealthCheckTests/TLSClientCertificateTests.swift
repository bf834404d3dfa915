// The SSL block's client certificate, against `openssl s_server -Verify` that refuses a client without one signed by
// its CA. Every key and certificate is made at test time in a temporary directory and removed after.
import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import HealthCheck

/// A CA, a client certificate it signed (key encrypted with "s3cret"), and an unrelated CA.
final class ClientPKI {
    let directory: URL
    var ca: String { directory.appendingPathComponent("ca.pem").path }
    var otherCA: String { directory.appendingPathComponent("other-ca.pem").path }
    var certificate: String { directory.appendingPathComponent("client.pem").path }
    var key: String { directory.appendingPathComponent("client.key").path }
    static let password = "s3cret"

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hc-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        for name in ["ca", "other-ca"] {
            try TLSTestServer.run(["req", "-x509"] + ec + ["-nodes", "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "1",
                                   "-subj", "/CN=directord-test-\(name)"], in: directory)
        }
        try TLSTestServer.run(["req", "-new"] + ec + ["-passout", "pass:\(Self.password)", "-keyout", "client.key",
                               "-out", "client.csr", "-subj", "/CN=directord-test-client"], in: directory)
        try TLSTestServer.run(["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                               "-out", "client.pem", "-days", "1"], in: directory)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

@Suite("SSL block: client certificates", .serialized)
struct TLSClientCertificateTests {
    func check(_ port: Int, _ identity: TLSClientIdentity?) throws -> HTTPCheck {
        try makeCheck(port: port, digest: web1Digest, tls: TLSOptions(identity: identity))
    }

    @Test func theCertificateIsPresentedWhenTheServerAsks() async throws {
        let pki = try ClientPKI()
        defer { pki.remove() }
        let server = try TLSTestServer(files: ["test.html": web1Page], clientCA: pki.ca)
        defer { server.stop() }
        let identity = TLSClientIdentity(certificateFile: pki.certificate, keyFile: pki.key, password: ClientPKI.password)
        try TLSClientContexts.prepare(identity)
        #expect(try await run(try check(server.port, identity)) == .up)
        // Without one, the server refuses the handshake.
        let without = try await run(try check(server.port, nil))
        #expect(without != .up, "a server requiring a client certificate let a check without one through")
    }

    @Test func caVerifiesNothing() async throws {
        // keepalived 2.2.7 loads 'ca' without ever verifying the server: a self-signed server certificate from no
        // known CA still passes, with and without 'ca'.
        let pki = try ClientPKI()
        defer { pki.remove() }
        let server = try TLSTestServer(files: ["test.html": web1Page], clientCA: pki.ca)
        defer { server.stop() }
        let identity = TLSClientIdentity(certificateFile: pki.certificate, keyFile: pki.key, password: ClientPKI.password,
                                         caFile: pki.otherCA)
        #expect(try await run(try check(server.port, identity)) == .up)
    }

    @Test func unreadableFilesAndAWrongPasswordAreReportedWhenLoaded() throws {
        let pki = try ClientPKI()
        defer { pki.remove() }
        #expect(throws: CheckFailure.self) {
            try TLSClientContexts.prepare(TLSClientIdentity(certificateFile: pki.certificate, keyFile: pki.key, password: "wrong"))
        }
        #expect(throws: CheckFailure.self, "an encrypted key without its password fails at once (no terminal prompt)") {
            try TLSClientContexts.prepare(TLSClientIdentity(certificateFile: pki.certificate, keyFile: pki.key))
        }
        #expect(throws: CheckFailure.self) {
            try TLSClientContexts.prepare(TLSClientIdentity(certificateFile: pki.directory.appendingPathComponent("none.pem").path))
        }
        #expect(throws: CheckFailure.self) {
            try TLSClientContexts.prepare(TLSClientIdentity(caFile: pki.directory.appendingPathComponent("none.pem").path))
        }
        // A key that is not the certificate's: OpenSSL refuses the pair.
        #expect(throws: CheckFailure.self) {
            try TLSClientContexts.prepare(TLSClientIdentity(certificateFile: pki.ca, keyFile: pki.key, password: ClientPKI.password))
        }
        try TLSClientContexts.prepare(TLSClientIdentity(certificateFile: pki.certificate, keyFile: pki.key, password: ClientPKI.password,
                                                        caFile: pki.ca))
    }
}
