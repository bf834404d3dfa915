// `directorctl genhash`: the digest to put in a config's `digest`, computed exactly as the HTTP_GET/SSL_GET checker does.
import ArgumentParser
import HealthCheck
import Platform

struct Genhash: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch a url as a health checker would and print the MD5 digest of its body.",
        discussion: """
            The digest is the one an HTTP_GET or SSL_GET checker compares with `digest`: the MD5 of the body after the \
            headers, with chunked transfer-encoding decoded (keepalived's genhash hashes the chunk framing too, so the \
            two differ for chunked responses). Hosts are IPv4 or [IPv6] addresses; no name is resolved. For https the \
            server's certificate is not verified, as the checker does not verify it.

            Exits non-zero when the server cannot be reached or times out, when the status is not 2xx (unless \
            --any-status), or when --expect does not match. keepalived's genhash exits 0 in those cases.

            Examples:
              directorctl genhash http://192.168.10.11/test.html
              directorctl genhash --verbose https://[2001:db8::11]:8443/health
              directorctl genhash --virtualhost www.example.com http://10.0.0.11/
              directorctl genhash --expect DIGEST --compare test.html URL
            """
    )

    @Argument(help: "http://ADDRESS[:PORT]/PATH or https://...; ADDRESS is IPv4 or [IPv6].")
    var url: String

    @Option(help: ArgumentHelp("Local address to connect from (the checker's bindto).", valueName: "address"))
    var bind: String?

    @Option(help: ArgumentHelp("Host header value; for https also the SNI name.", valueName: "name"))
    var virtualhost: String?

    @Option(help: ArgumentHelp("SNI name for https when it differs from --virtualhost.", valueName: "name"))
    var sni: String?

    @Option(help: ArgumentHelp("Seconds allowed for the connect and for each read (the checker's connect_timeout).", valueName: "seconds"))
    var timeout: Double = 5

    @Option(name: .customLong("http-protocol"), help: ArgumentHelp("1.0, 1.0C or 1.1, as the checker's http_protocol.", valueName: "version"))
    var httpProtocol: String = "1.0"

    @Flag(help: "Print the headers and how the body was framed.")
    var verbose = false

    @Flag(help: "Do not fail on a status outside 200-299.")
    var anyStatus = false

    @Option(help: ArgumentHelp("Fail, and explain, when the digest differs from this one.", valueName: "digest"))
    var expect: String?

    @Option(help: ArgumentHelp("A local copy of the page: report where the served body differs from it.", valueName: "file"))
    var compare: String?

    mutating func run() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
        guard let version = HTTPRequestVersion(rawValue: httpProtocol) else {
            throw ValidationError("--http-protocol must be 1.0, 1.0C or 1.1")
        }
        var local: [UInt8]?
        if let compare {
            do {
                guard let bytes = try Files.read(compare) else {
                    throw ValidationError("--compare: cannot read \(compare): no such file")
                }
                local = bytes
            } catch let error as SystemError {
                throw ValidationError("--compare: cannot read \(compare): \(error)")
            }
        }
        let options: GenhashOptions
        do {
            options = try GenhashOptions(
                url: GenhashURL(url), bindAddress: bind, virtualhost: virtualhost,
                timeout: .milliseconds(Int64(timeout * 1000)), protocolVersion: version, sniName: sni,
                verbose: verbose, anyStatus: anyStatus, expectedDigest: expect, compareWith: local)
        } catch {
            throw ValidationError("\(error)")
        }
        let report = GenhashReport.fetchBlocking(options)
        for line in report.output { print(line) }
        for problem in report.problems { StandardError.write("genhash: \(problem)\n") }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }
}
