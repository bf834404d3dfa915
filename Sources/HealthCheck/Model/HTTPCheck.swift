// HTTP_GET and SSL_GET as plain values: what to fetch, from where, and what counts as a pass.
import Addresses


/// One `url { path digest status_code virtualhost }` block. Every url of a check must pass.
public struct HTTPURLCheck: Sendable, Hashable {
    public let path: String
    /// Lower-case hex MD5 of the decoded body, or nil to check the status only.
    public let digest: String?
    public let statusCodes: StatusCodeSet
    /// Overrides the check's `virtualhost` for this url.
    public let virtualhost: String?
    /// `regex` and its modifiers: the (decoded) body is matched after the status and the digest pass.
    public var regex: URLRegexCheck? = nil

    public init(path: String, digest: String? = nil, statusCodes: StatusCodeSet = .success, virtualhost: String? = nil)
        throws(CheckDefinitionError)
    {
        guard path.hasPrefix("/"), !path.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw .invalidPath(path)
        }
        if let digest {
            guard digest.utf8.count == 32, digest.utf8.allSatisfy({ $0.isHexDigit }) else { throw .invalidDigest(digest) }
        }
        self.path = path
        self.digest = digest?.lowercased()
        self.statusCodes = statusCodes
        self.virtualhost = virtualhost
    }
}

/// `http_protocol`: keepalived's 1.0 (the default), 1.0C (1.0 plus `Connection: close`) and 1.1.
public enum HTTPRequestVersion: String, Sendable, Hashable, CaseIterable {
    case http10 = "1.0"
    case http10Close = "1.0C"
    case http11 = "1.1"
}

/// SSL_GET's TLS: the system OpenSSL, client mode. Certificates are NOT verified (as keepalived): the check asks
/// "does this server answer", and real servers commonly carry certificates for the public name, not their address.
public struct TLSOptions: Sendable, Hashable {
    /// `enable_sni`: send a server name (from `sniName`, else the url's or check's virtualhost; never an IP literal).
    public var enableSNI: Bool
    public var sniName: String?
    /// The client certificate presented when the server asks for one (the configuration's `SSL` block).
    public var identity: TLSClientIdentity?

    public init(enableSNI: Bool = false, sniName: String? = nil, identity: TLSClientIdentity? = nil) {
        self.enableSNI = enableSNI
        self.sniName = sniName
        self.identity = identity
    }
}

/// keepalived's `SSL` block as files: what the TLS context loads before the first SSL_GET. The server is still not
/// verified: `caFile` only completes the client's chain (keepalived 2.2.7 loads it the same way, without verifying).
public struct TLSClientIdentity: Sendable, Hashable {
    public var certificateFile: String?
    public var keyFile: String?
    /// The key's passphrase.
    public var password: String?
    public var caFile: String?

    public init(certificateFile: String? = nil, keyFile: String? = nil, password: String? = nil, caFile: String? = nil) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.password = password
        self.caFile = caFile
    }
}

public struct HTTPCheck: Sendable, Hashable {
    public var urls: [HTTPURLCheck]
    /// Where to connect: the real server, or `connect_ip`/`connect_port` when set.
    public var connect: Endpoint
    /// `bindto`/`bind_port`: the local address (nil: the kernel's choice) and port (0: any).
    public var bindAddress: IPAddress?
    public var bindPort: Int
    /// `fwmark` and `bind_if`.
    public var socket = CheckSocketOptions()
    /// Bounds the connect and every read: a server that makes no progress for this long fails the check.
    public var connectTimeout: Duration
    /// Bounds one url's whole fetch, so a server dribbling a byte at a time (slow-loris) fails too.
    /// nil: three times `connectTimeout`. keepalived has no such bound.
    public var fetchTimeout: Duration?
    public var protocolVersion: HTTPRequestVersion
    /// Non-nil for SSL_GET.
    public var tls: TLSOptions?
    /// The check's `virtualhost` (the caller resolves keepalived's fallback from real and virtual server).
    public var virtualhost: String?
    /// Bodies above this fail with `bodyTooLarge`: a check never buffers or hashes without bound.
    public var maxBodyBytes: Int
    /// Status line plus headers above this fail with `headersTooLarge`.
    public var maxHeaderBytes: Int

    public static let defaultMaxBodyBytes = 1 << 20
    public static let defaultMaxHeaderBytes = 64 << 10

    public init(
        urls: [HTTPURLCheck],
        connect: Endpoint,
        bindAddress: IPAddress? = nil,
        bindPort: Int = 0,
        connectTimeout: Duration = .seconds(5),
        fetchTimeout: Duration? = nil,
        protocolVersion: HTTPRequestVersion = .http10,
        tls: TLSOptions? = nil,
        virtualhost: String? = nil,
        maxBodyBytes: Int = HTTPCheck.defaultMaxBodyBytes,
        maxHeaderBytes: Int = HTTPCheck.defaultMaxHeaderBytes
    ) throws(CheckDefinitionError) {
        guard !urls.isEmpty else { throw .noURL }
        guard (0...65535).contains(bindPort) else { throw .invalidPort(bindPort) }
        self.urls = urls
        self.connect = connect
        self.bindAddress = bindAddress
        self.bindPort = bindPort
        self.connectTimeout = connectTimeout
        self.fetchTimeout = fetchTimeout
        self.protocolVersion = protocolVersion
        self.tls = tls
        self.virtualhost = virtualhost
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
    }

    // A sum, not `* 3`: Duration's multiplication goes through Int128(exactly:) and showed in every check's profile.
    var effectiveFetchTimeout: Duration { fetchTimeout ?? connectTimeout + connectTimeout + connectTimeout }
}

/// TCP_CHECK: the connect succeeds within `connectTimeout`.
public struct TCPCheck: Sendable, Hashable {
    public var connect: Endpoint
    public var bindAddress: IPAddress?
    public var bindPort: Int
    public var socket = CheckSocketOptions()
    public var connectTimeout: Duration

    public init(connect: Endpoint, bindAddress: IPAddress? = nil, bindPort: Int = 0, connectTimeout: Duration = .seconds(5))
        throws(CheckDefinitionError)
    {
        guard (0...65535).contains(bindPort) else { throw .invalidPort(bindPort) }
        self.connect = connect
        self.bindAddress = bindAddress
        self.bindPort = bindPort
        self.connectTimeout = connectTimeout
    }
}

/// One checker of a real server, as the scheduler runs it.
public indirect enum CheckProbe: Sendable, Hashable, CustomStringConvertible {
    case http(HTTPCheck)
    case tcp(TCPCheck)
    case misc(MiscCheck)
    case file(FileCheck)
    case smtp(SMTPCheck)
    case dns(DNSCheck)
    case udp(UDPCheck)
    case ping(PingCheck)

    public var description: String {
        switch self {
        case .http(let c): "\(c.tls == nil ? "HTTP_GET" : "SSL_GET") \(c.connect)"
        case .tcp(let c): "TCP_CHECK \(c.connect)"
        case .misc(let c): "MISC_CHECK \(c.command)"
        case .file(let c): "FILE_CHECK \(c.path)"
        case .smtp(let c): "SMTP_CHECK \(c.connect)"
        case .dns(let c): "DNS_CHECK \(c.type) \(c.name) \(c.connect)"
        case .udp(let c): "UDP_CHECK \(c.connect)"
        case .ping(let c): "PING_CHECK \(c.connect.address)"
        }
    }
}

extension UInt8 {
    var isHexDigit: Bool { (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self) }
}
