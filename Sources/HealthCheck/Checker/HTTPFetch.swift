// One GET of one url: connect, optional TLS, request, and a bounded read of the response with its body's MD5.
// The HTTP checker judges the result; `directorctl genhash` prints it. Both share this code so the digest an
// operator obtains is exactly the one the checker compares.
import Addresses

/// What came back from one url.
public struct HTTPFetchResponse: Sendable, Hashable {
    /// `HTTP/1.1`
    public let version: String
    public let status: Int
    public let reason: String
    public let headers: [HTTPHeaderField]
    /// Size of the decoded body (chunk framing removed).
    public let bodyBytes: Int
    /// MD5 of the decoded body, lower-case hex.
    public let digest: String
    public let chunked: Bool
    /// The body itself, only when asked for (genhash comparing with a local file).
    public let body: [UInt8]?

    public var statusLine: String { "\(version) \(status) \(reason)" }
}

/// The request one fetch sends and the limits it reads under; derived from an HTTPCheck and one of its urls.
public struct HTTPFetchRequest: Sendable, Hashable {
    public var connect: Endpoint
    public var bindAddress: IPAddress?
    public var bindPort: Int
    public var socket: CheckSocketOptions
    public var path: String
    /// Host header value; nil means the connect address (with the port unless it is the scheme's default).
    public var virtualhost: String?
    public var protocolVersion: HTTPRequestVersion
    public var tls: TLSOptions?
    public var connectTimeout: Duration
    public var fetchTimeout: Duration
    public var maxBodyBytes: Int
    public var maxHeaderBytes: Int
    /// When set, a status outside it fails at once without reading the body.
    public var failFastStatus: StatusCodeSet?
    public var keepBody: Bool

    public init(check: HTTPCheck, url: HTTPURLCheck, failFastStatus: Bool = true, keepBody: Bool = false) {
        connect = check.connect
        bindAddress = check.bindAddress
        bindPort = check.bindPort
        socket = check.socket
        path = url.path
        virtualhost = url.virtualhost ?? check.virtualhost
        protocolVersion = check.protocolVersion
        tls = check.tls
        connectTimeout = check.connectTimeout
        fetchTimeout = check.effectiveFetchTimeout
        maxBodyBytes = check.maxBodyBytes
        maxHeaderBytes = check.maxHeaderBytes
        self.failFastStatus = failFastStatus ? url.statusCodes : nil
        self.keepBody = keepBody
    }

    var hostHeader: String {
        var bytes: [UInt8] = []
        appendHostHeader(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The Host value: `virtualhost`, else the connect address, with the port unless it is the scheme's default.
    /// Appended as bytes because every request is built this way (interpolating it cost a check a twentieth of its
    /// user time).
    private func appendHostHeader(to bytes: inout [UInt8]) {
        if let virtualhost {
            bytes += virtualhost.utf8
            return
        }
        bytes += connect.bracketedHost.utf8
        if connect.port != (tls == nil ? 80 : 443) {
            bytes.append(UInt8(ascii: ":"))
            Self.appendDecimal(Int(connect.port), to: &bytes)
        }
    }

    /// RFC 6066 §3: SNI carries a host name, never an address literal.
    var serverName: String? {
        guard let tls, tls.enableSNI, let name = tls.sniName ?? virtualhost else { return nil }
        let bare = name.split(separator: ":").count > 2 ? name : String(name.split(separator: ":").first ?? "")
        if IPAddress(bare) != nil || bare.isEmpty { return nil }
        return bare
    }

    /// The request as sent: `GET path HTTP/1.x`, Host, User-Agent, and `Connection: close` except for plain 1.0.
    var requestBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(path.utf8.count + 96)
        bytes += "GET ".utf8
        bytes += path.utf8
        bytes += protocolVersion == .http11 ? " HTTP/1.1\r\nHost: ".utf8 : " HTTP/1.0\r\nHost: ".utf8
        appendHostHeader(to: &bytes)
        bytes += "\r\nUser-Agent: directord-healthcheck\r\n".utf8
        if protocolVersion != .http10 { bytes += "Connection: close\r\n".utf8 }
        bytes += "\r\n".utf8
        return bytes
    }

    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &bytes) }
        bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}

/// One GET of one url on the checker's reactor (ReactorCheckers.swift).
public enum HTTPFetch {}
