// The core of `directorctl genhash`: fetch one url exactly as the HTTP checker does and explain the result.
// Unlike keepalived's genhash (its issue #766) every failure is a non-zero exit status.
import Addresses
import Reactor

public struct GenhashURL: Sendable, Hashable {
    public let tls: Bool
    public let endpoint: Endpoint
    /// Path and query, as sent in the request line.
    public let path: String

    /// `http://ADDR[:PORT][/PATH]` or `https://...`; ADDR is an IPv4 literal or a bracketed IPv6 literal.
    public init(_ text: String) throws(GenhashError) {
        let lower = text.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") {
            tls = false
            rest = text.dropFirst(7)
        } else if lower.hasPrefix("https://") {
            tls = true
            rest = text.dropFirst(8)
        } else {
            throw .badURL(text, "it must start with http:// or https://")
        }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var pathPart = String(rest[authorityEnd...])
        if pathPart.isEmpty { pathPart = "/" } else if pathPart.hasPrefix("?") { pathPart = "/" + pathPart }
        if let hash = pathPart.firstIndex(of: "#") { pathPart = String(pathPart[..<hash]) }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .badURL(text, "unterminated [IPv6] address") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .badURL(text, "unexpected text after ]") }
                portText = after.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw .badURL(text, "put an IPv6 address in brackets: http://[2001:db8::1]/") }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        if authority.contains("@") { throw .badURL(text, "credentials in the url are not supported") }
        var port = tls ? 443 : 80
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw .badURL(text, "bad port '\(portText)'") }
            port = p
        }
        do {
            endpoint = try Endpoint(host: String(host), port: port)
        } catch {
            throw .badURL(text, "'\(host)' is not an IP address; genhash resolves no names (use --virtualhost NAME for the Host header)")
        }
        guard !pathPart.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw .badURL(text, "the path contains spaces or control characters")
        }
        path = pathPart
    }
}

public enum GenhashError: Error, Sendable, Hashable, CustomStringConvertible {
    case badURL(String, String)
    case badOption(String)

    public var description: String {
        switch self {
        case .badURL(let url, let why): "\(url): \(why)"
        case .badOption(let why): why
        }
    }
}

public struct GenhashOptions: Sendable {
    public var url: GenhashURL
    public var bindAddress: IPAddress?
    public var virtualhost: String?
    /// The checker's connect_timeout: bounds the connect and every read.
    public var timeout: Duration
    public var protocolVersion: HTTPRequestVersion
    /// SNI name for https (default: the virtualhost, as a checker with enable_sni would send).
    public var sniName: String?
    public var verbose: Bool
    public var anyStatus: Bool
    public var expectedDigest: String?
    /// A local copy of the page (e.g. test.html) to compare byte by byte.
    public var compareWith: [UInt8]?
    public var maxBodyBytes: Int

    public init(url: GenhashURL, bindAddress: String? = nil, virtualhost: String? = nil, timeout: Duration = .seconds(5),
                protocolVersion: HTTPRequestVersion = .http10, sniName: String? = nil, verbose: Bool = false,
                anyStatus: Bool = false, expectedDigest: String? = nil, compareWith: [UInt8]? = nil,
                maxBodyBytes: Int = HTTPCheck.defaultMaxBodyBytes) throws(GenhashError) {
        if let expectedDigest, expectedDigest.utf8.count != 32 || !expectedDigest.utf8.allSatisfy({ $0.isHexDigit }) {
            throw .badOption("--expect needs an MD5 digest of 32 hexadecimal digits, not '\(expectedDigest)'")
        }
        var bind: IPAddress?
        if let bindAddress {
            guard let address = IPAddress(bindAddress) else { throw .badOption("--bind needs an IP address, not '\(bindAddress)'") }
            bind = address
        }
        self.url = url
        self.bindAddress = bind
        self.virtualhost = virtualhost
        self.timeout = timeout
        self.protocolVersion = protocolVersion
        self.sniName = sniName
        self.verbose = verbose
        self.anyStatus = anyStatus
        self.expectedDigest = expectedDigest?.lowercased()
        self.compareWith = compareWith
        self.maxBodyBytes = maxBodyBytes
    }

    /// The checker definition this fetch reproduces.
    func check() throws(CheckDefinitionError) -> HTTPCheck {
        try HTTPCheck(
            urls: [HTTPURLCheck(path: url.path)],
            connect: url.endpoint,
            bindAddress: bindAddress,
            connectTimeout: timeout,
            protocolVersion: protocolVersion,
            tls: url.tls ? TLSOptions(enableSNI: sniName != nil || virtualhost != nil, sniName: sniName) : nil,
            virtualhost: virtualhost,
            maxBodyBytes: maxBodyBytes
        )
    }
}

/// What genhash prints and how it exits.
public struct GenhashReport: Sendable, Hashable {
    /// For standard output.
    public var output: [String] = []
    /// For standard error: why the exit status is not zero.
    public var problems: [String] = []
    public var response: HTTPFetchResponse?
    public var exitStatus: Int32 { problems.isEmpty ? 0 : 1 }
}

extension GenhashReport {
    /// Fetches on `reactor` and explains, calling `done` once on its thread; never fails (a failed fetch is a
    /// report with a problem). The fetch is the checker's own (HTTPFetch on the reactor), so its digest is the
    /// checker's by construction.
    public static func fetch(_ options: GenhashOptions, on reactor: Reactor, done: @escaping (GenhashReport) -> Void) {
        let check: HTTPCheck
        do {
            check = try options.check()
        } catch {
            done(GenhashReport(problems: ["\(error)"]))
            return
        }
        let request = HTTPFetchRequest(check: check, url: check.urls[0], failFastStatus: false,
                                       keepBody: options.compareWith != nil)
        HTTPFetch.run(request, on: reactor) { result in
            switch result {
            case .success(let response): done(report(options, response: response))
            case .failure(let failure): done(GenhashReport(problems: ["\(request.connect)\(request.path): \(failure)"]))
            }
        }
    }

    public static func fetch(_ options: GenhashOptions, on thread: ReactorThread) async -> GenhashReport {
        await thread.result { reactor, done in fetch(options, on: reactor, done: done) }
            ?? GenhashReport(problems: ["the fetch's reactor has stopped"])
    }

    /// For the command line: a reactor on this thread, turned until the fetch is done.
    public static func fetchBlocking(_ options: GenhashOptions) -> GenhashReport {
        let reactor: Reactor
        do {
            reactor = try Reactor()
        } catch {
            return GenhashReport(problems: ["\(error)"])
        }
        var report: GenhashReport?
        fetch(options, on: reactor) { report = $0 }
        while report == nil { reactor.turn(maxWait: nil) }
        return report ?? GenhashReport(problems: ["no answer"])
    }

    static func report(_ options: GenhashOptions, response: HTTPFetchResponse) -> GenhashReport {
        var report = GenhashReport(response: response)
        report.output.append(response.statusLine)
        if options.verbose {
            report.output += response.headers.map { "\($0.name): \($0.value)" }
            report.output.append("")
            report.output.append("body: \(bodyDescription(response))")
        }
        report.output.append("MD5SUM = \(response.digest)")
        if !options.anyStatus, !StatusCodeSet.success.contains(response.status) {
            report.problems.append("status \(response.status) is not 2xx (a checker with the default status_code fails; --any-status to accept)")
        }
        if let expected = options.expectedDigest?.lowercased(), expected != response.digest {
            report.problems.append("digest mismatch: expected \(expected), got \(response.digest)")
            report.problems.append("body: \(bodyDescription(response))")
        }
        if let local = options.compareWith, let body = response.body {
            report.output.append(comparison(local: local, served: body))
        }
        return report
    }

    static func bodyDescription(_ response: HTTPFetchResponse) -> String {
        let framing: String
        if response.chunked {
            framing = "chunked transfer-encoding, hashed after decoding (keepalived's genhash hashes the chunk framing too)"
        } else if let length = response.headers.first(where: { $0.name.lowercased() == "content-length" }) {
            framing = "Content-Length \(length.value)"
        } else {
            framing = "no Content-Length, read until the connection closed"
        }
        return "\(response.bodyBytes) bytes, \(framing)"
    }

    /// Where a local copy of the page and the served body part ways.
    static func comparison(local: [UInt8], served: [UInt8]) -> String {
        if local == served { return "compare: the body is identical to the file (\(local.count) bytes)" }
        let common = zip(local, served).prefix { $0 == $1 }.count
        if common == min(local.count, served.count) {
            return local.count < served.count
                ? "compare: the body has \(served.count - local.count) more bytes than the file after its \(local.count) (starting \(show(served[common])))"
                : "compare: the body ends after \(served.count) bytes; the file goes on for \(local.count - served.count) more (starting \(show(local[common])))"
        }
        return "compare: first difference at byte \(common): file has \(show(local[common])), server sent \(show(served[common]))"
    }

    private static func show(_ byte: UInt8) -> String {
        let hex = "0x" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
        if (0x21...0x7E).contains(byte) { return "\(hex) '\(Character(Unicode.Scalar(byte)))'" }
        switch byte {
        case 0x0A: return "\(hex) (LF)"
        case 0x0D: return "\(hex) (CR)"
        case 0x20: return "\(hex) (space)"
        default: return hex
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
