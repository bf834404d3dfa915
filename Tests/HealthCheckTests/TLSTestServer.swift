// `openssl s_server -WWW` in a temp dir with a self-signed certificate made at test time: the TLS peer for SSL_GET.
import Foundation

final class TLSTestServer {
    let port: Int
    let directory: URL
    private let process: Process

    /// Serves the files in `files` (name → contents); with `serverName`, a different SNI name is a fatal alert; with
    /// `clientCA` (a PEM file), the handshake fails unless the client presents a certificate that CA signed.
    init(files: [String: String], serverName: String? = nil, clientCA: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hc-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, contents) in files {
            try Data(contents.utf8).write(to: directory.appendingPathComponent(name))
        }
        try Self.run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
                      "-days", "1", "-subj", "/CN=directord-test"], in: directory)
        let log = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        var arguments = ["s_server", "-WWW", "-accept", "0", "-cert", "cert.pem", "-key", "key.pem"]
        if let serverName {
            arguments += ["-servername", serverName, "-servername_fatal", "-cert2", "cert.pem", "-key2", "key.pem"]
        }
        if let clientCA { arguments += ["-Verify", "1", "-verify_return_error", "-CAfile", clientCA] }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        var found: Int?
        for _ in 0..<100 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT") }),
               let portText = line.split(separator: ":").last, let p = Int(portText) {
                found = p
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard let found else {
            kill(process.processIdentifier, SIGKILL)
            throw TestSetupError("openssl s_server did not report its port")
        }
        port = found
    }

    func stop() {
        // SIGKILL: a child of the test process may inherit SIGTERM blocked, and s_server has nothing to flush.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    static func run(_ arguments: [String], in directory: URL) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = arguments
        p.currentDirectoryURL = directory
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestSetupError("openssl \(arguments.first ?? "") failed") }
    }
}
