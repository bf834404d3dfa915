// A checker's answer: up, or down and why. The reason is what the log line and notify scripts report.

public struct CheckResult: Sendable, Hashable, CustomStringConvertible {
    public let failure: CheckFailure?
    /// For HTTP checks, the url path that failed.
    public let path: String?
    /// MISC_CHECK (misc_dynamic) and FILE_CHECK: the real's weight this verdict asks for; nil: the configured one.
    public var weight: DynamicWeight? = nil

    public static let up = CheckResult(failure: nil, path: nil)

    public static func up(weight: DynamicWeight?) -> CheckResult { CheckResult(failure: nil, path: nil, weight: weight) }

    public static func down(_ failure: CheckFailure, path: String? = nil) -> CheckResult {
        CheckResult(failure: failure, path: path)
    }

    public var isUp: Bool { failure == nil }

    public var description: String {
        guard let failure else { return weight.map { "up (\($0))" } ?? "up" }
        if let path { return "\(path): \(failure)" }
        return "\(failure)"
    }
}

/// Which step of a check ran out of time.
public enum CheckPhase: String, Sendable, Hashable {
    case connect
    case tlsHandshake = "TLS handshake"
    case responseHead = "status line and headers"
    case responseBody = "body"
    case smtpBanner = "SMTP greeting"
    case smtpHelo = "SMTP HELO reply"
    case smtpQuit = "SMTP QUIT reply"
    case dnsAnswer = "DNS answer"
    case udpReply = "UDP reply"
    case echoReply = "ICMP echo reply"
}

public enum CheckFailure: Error, Sendable, Hashable, CustomStringConvertible {
    case connectionRefused
    case connectFailed(String)
    case bindFailed(String)
    /// No progress for connect_timeout during this phase.
    case timeout(CheckPhase)
    /// The whole fetch exceeded its bound while still making progress (a slow-loris server).
    case fetchTimeout(CheckPhase)
    case connectionReset(CheckPhase)
    /// The peer closed the connection before the response was complete.
    case closedEarly(CheckPhase)
    case statusCode(got: Int, expected: StatusCodeSet)
    case digestMismatch(got: String, expected: String)
    /// HTTP_GET's regex (or regex_no_match) did not hold.
    case regexMismatch(String)
    case bodyTooLarge(limit: Int)
    case headersTooLarge(limit: Int)
    case malformedResponse(String)
    case tlsHandshakeFailed(String)
    case tlsFailed(String)
    /// libcrypto refused MD5 (a FIPS-only build, for instance).
    case digestUnavailable(String)
    case ioError(String)
    /// MISC_CHECK: the script failed, was killed, timed out or did not start.
    case scriptFailed(String)
    /// FILE_CHECK: the value read from the file means FAULT.
    case fileFault(value: Int64)
    /// SMTP_CHECK, DNS_CHECK, UDP_CHECK: the real answered, but not as the check requires.
    case badReply(CheckPhase, String)
    /// An ICMP destination unreachable (port, host or network) for the check's datagrams.
    case unreachable(String)

    public var description: String {
        switch self {
        case .connectionRefused: "connection refused"
        case .connectFailed(let s): "connect failed: \(s)"
        case .bindFailed(let s): "bind failed: \(s)"
        case .timeout(let p): "timeout waiting for \(p.rawValue)"
        case .fetchTimeout(let p): "fetch took too long (still reading \(p.rawValue))"
        case .connectionReset(let p): "connection reset during \(p.rawValue)"
        case .closedEarly(let p): "connection closed during \(p.rawValue)"
        case .statusCode(let got, let expected): "status \(got), expected \(expected)"
        case .digestMismatch(let got, let expected): "digest \(got), expected \(expected)"
        case .regexMismatch(let why): why
        case .bodyTooLarge(let limit): "body larger than \(limit) bytes"
        case .headersTooLarge(let limit): "headers larger than \(limit) bytes"
        case .malformedResponse(let s): "malformed response: \(s)"
        case .tlsHandshakeFailed(let s): "TLS handshake failed: \(s)"
        case .tlsFailed(let s): "TLS error: \(s)"
        case .digestUnavailable(let s): "MD5 unavailable: \(s)"
        case .ioError(let s): "I/O error: \(s)"
        case .scriptFailed(let s): "script \(s)"
        case .fileFault(let v): "file value \(v) means fault"
        case .badReply(let p, let s): "bad \(p.rawValue): \(s)"
        case .unreachable(let s): "unreachable: \(s)"
        }
    }
}
