// Where a checker connects or binds: an address and a port (Addresses' Endpoint). Names are never resolved (a
// health check must not depend on DNS), so a bad literal is an error at definition time, not a failed check.
@_exported import Addresses

extension Endpoint {
    /// An endpoint from an operator's text (genhash's URL, `bindto`): an IP literal, bracketed or not, and a port,
    /// read by the one address parser.
    public init(host: String, port: Int) throws(CheckDefinitionError) {
        var literal = host
        if literal.hasPrefix("["), literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        guard (0...65535).contains(port) else { throw .invalidPort(port) }
        guard let address = IPAddress(literal) else { throw .notAnIPLiteral(host) }
        self.init(address: address, port: UInt16(port))
    }

    public var isIPv6: Bool { address.family == .ipv6 }

    /// The address as it appears in a URL or a `Host:` header: IPv6 in brackets.
    public var bracketedHost: String { isIPv6 ? "[\(address)]" : address.description }
}

/// A check definition that cannot be run, named so the caller can point at the config line.
public enum CheckDefinitionError: Error, Sendable, Hashable, CustomStringConvertible {
    case notAnIPLiteral(String)
    case invalidPort(Int)
    case invalidStatusCode(String)
    case invalidDigest(String)
    case invalidPath(String)
    case noURL
    /// A MISC_CHECK without its script or a FILE_CHECK without its file (the parser normally refuses these).
    case noScript
    case invalidOption(String)

    public var description: String {
        switch self {
        case .notAnIPLiteral(let s): "'\(s)' is not an IPv4 or IPv6 address (names are not resolved)"
        case .invalidPort(let p): "port \(p) is outside 0-65535"
        case .invalidStatusCode(let s): "'\(s)' is not a status code or range like 200-299"
        case .invalidDigest(let s): "'\(s)' is not an MD5 digest (32 hexadecimal digits)"
        case .invalidPath(let s): "'\(s)' is not a request path (it must start with '/' and contain no spaces or control characters)"
        case .noURL: "an HTTP check needs at least one url"
        case .noScript: "MISC_CHECK has no misc_path, or FILE_CHECK no track_file"
        case .invalidOption(let s): s
        }
    }
}
