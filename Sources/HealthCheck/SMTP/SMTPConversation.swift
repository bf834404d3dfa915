// SMTP_CHECK's conversation as a pure state machine: bytes in, lines to send and a verdict out. keepalived's steps
// (check_smtp.c): a 220 greeting, HELO answered by 250, QUIT. Replies are read whole as RFC 5321 4.2.1 defines
// them: "250-..." lines continue a reply, "250 ..." (or a bare "250") ends it, every line with the same code.

/// One complete reply: its code and its lines' text.
public struct SMTPReply: Sendable, Hashable {
    public var code: Int
    public var lines: [String]
}

/// Splits a byte stream into replies, with bounds on a line and on a reply.
public struct SMTPReplyReader: Sendable {
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case malformed(String)
        case tooLong(limit: Int)

        public var description: String {
            switch self {
            case .malformed(let line): "not an SMTP reply line: \(line)"
            case .tooLong(let limit): "reply longer than \(limit) bytes"
            }
        }
    }

    private let maxBytes: Int
    private var pending: [UInt8] = []
    private var lines: [String] = []
    private var code: Int?
    private var replyBytes = 0

    public init(maxBytes: Int = SMTPCheck.defaultMaxReplyBytes) {
        self.maxBytes = maxBytes
    }

    /// The replies completed by `bytes` (usually none or one).
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(Failure) -> [SMTPReply] {
        var replies: [SMTPReply] = []
        for byte in bytes {
            replyBytes += 1
            guard replyBytes <= maxBytes else { throw .tooLong(limit: maxBytes) }
            guard byte == 0x0A else {
                pending.append(byte)
                continue
            }
            if pending.last == 0x0D { pending.removeLast() }
            let line = pending
            pending.removeAll(keepingCapacity: true)
            if let reply = try take(line) {
                replies.append(reply)
                replyBytes = 0
            }
        }
        return replies
    }

    private mutating func take(_ line: [UInt8]) throws(Failure) -> SMTPReply? {
        let text = String(decoding: line.prefix(200), as: UTF8.self)
        guard line.count >= 3, line[0...2].allSatisfy({ (0x30...0x39).contains($0) }), (0x32...0x35).contains(line[0]),
              line.count == 3 || line[3] == 0x20 || line[3] == 0x2D
        else { throw .malformed(Self.printable(text)) }
        let lineCode = Int(line[0] - 0x30) * 100 + Int(line[1] - 0x30) * 10 + Int(line[2] - 0x30)
        if let code, code != lineCode { throw .malformed("code \(lineCode) inside a \(code) reply") }
        code = lineCode
        lines.append(line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
        guard line.count == 3 || line[3] == 0x20 else { return nil }
        defer {
            lines = []
            code = nil
        }
        return SMTPReply(code: lineCode, lines: lines)
    }

    /// A line as a log may show it: controls escaped, bounded.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(80).map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
    }
}

/// The check's steps and what each expects.
public struct SMTPConversation: Sendable {
    public enum Step: Sendable, Hashable {
        case banner
        case helo
        case quit
        case done
    }

    public enum Action: Sendable, Hashable {
        case send(String)
        case finish(CheckResult)
    }

    public private(set) var step = Step.banner
    private var reader: SMTPReplyReader
    private let heloName: String

    public init(heloName: String, maxReplyBytes: Int = SMTPCheck.defaultMaxReplyBytes) {
        self.heloName = heloName
        reader = SMTPReplyReader(maxBytes: maxReplyBytes)
    }

    public var phase: CheckPhase {
        switch step {
        case .banner: .smtpBanner
        case .helo: .smtpHelo
        case .quit, .done: .smtpQuit
        }
    }

    /// Bytes from the server; the actions to take, in order.
    public mutating func received(_ bytes: some Sequence<UInt8>) -> [Action] {
        guard step != .done else { return [] }
        let replies: [SMTPReply]
        do {
            replies = try reader.feed(bytes)
        } catch {
            return fail("\(error)")
        }
        var actions: [Action] = []
        for reply in replies {
            switch step {
            case .banner:
                guard reply.code == 220 else { return actions + fail("greeting \(describe(reply)), expected 220") }
                step = .helo
                actions.append(.send("HELO \(heloName)\r\n"))
            case .helo:
                guard reply.code == 250 else { return actions + fail("HELO answered \(describe(reply)), expected 250") }
                step = .quit
                actions.append(.send("QUIT\r\n"))
            case .quit:
                // keepalived waits for an answer to QUIT and does not judge it.
                step = .done
                return actions + [.finish(.up)]
            case .done:
                return actions
            }
        }
        return actions
    }

    private mutating func fail(_ reason: String) -> [Action] {
        let failure = CheckFailure.badReply(phase, reason)
        step = .done
        return [.finish(.down(failure))]
    }

    private func describe(_ reply: SMTPReply) -> String {
        let text = reply.lines.first.map { SMTPReplyReader.printable($0) } ?? ""
        return text.isEmpty ? "\(reply.code)" : "\(reply.code) \(text)"
    }
}
