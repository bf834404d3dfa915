// The HTTP/1 response parser alone: framing, the head's cap, strictness, every split of the bytes, and the fuzz
// corpus replayed under the fuzz property.
import Glibc
import Testing
@testable import HealthCheck

/// Parses `text` fed in pieces of `piece` bytes, then the connection's end.
func parseResponse(_ text: String, piece: Int = .max, maxHeaderBytes: Int = 8192) -> (HTTPParserFuzzProperty.Outcome, String?) {
    HTTPParserFuzzProperty.parse(Array(text.utf8), pieces: piece == .max ? [] : [piece], maxHeaderBytes: maxHeaderBytes)
}

@Suite("HTTP response parser")
struct HTTPResponseParserTests {
    @Test func contentLengthBodyAndHeadFields() {
        let (outcome, violation) = parseResponse("HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length:  5 \r\n\r\nhelloEXTRA")
        #expect(violation == nil)
        #expect(outcome.error == nil && outcome.ended)
        #expect(outcome.head?.status == 200 && outcome.head?.reason == "OK" && outcome.head?.version == "HTTP/1.1")
        #expect(outcome.head?.headers == [HTTPHeaderField(name: "Server", value: "t"), HTTPHeaderField(name: "Content-Length", value: "5")])
        #expect(outcome.body == Array("hello".utf8))
        #expect(outcome.head?.chunked == false)
    }

    @Test func chunkedWithExtensionsAndTrailers() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n5;a=b\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n"
        for piece in [1, 2, 3, 7, .max] {
            let (outcome, _) = parseResponse(text, piece: piece)
            #expect(outcome.error == nil && outcome.ended, "piece \(piece)")
            #expect(outcome.body == Array("hello0123456789".utf8), "piece \(piece)")
            #expect(outcome.head?.chunked == true)
        }
    }

    @Test func closeDelimitedAndBodilessStatuses() {
        let close = parseResponse("HTTP/1.0 200 OK\r\n\r\nuntil the end").0
        #expect(close.ended && close.body == Array("until the end".utf8))
        for status in ["204 No Content", "304 Not Modified", "101 Switching Protocols"] {
            let outcome = parseResponse("HTTP/1.1 \(status)\r\nContent-Length: 10\r\n\r\n").0
            #expect(outcome.ended && outcome.body.isEmpty && outcome.error == nil, "\(status)")
        }
        let interim = parseResponse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").0
        #expect(interim.head?.status == 200 && interim.body == Array("ok".utf8))
    }

    @Test func truncationIsReportedWhereItHappened() {
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Le").0.error == .closedInHead)
        #expect(parseResponse("").0.error == .closedInHead)
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").0.error == .closedInBody)
        #expect(parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel").0.error == .closedInBody)
        #expect(parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n").0.error == .closedInBody)
    }

    @Test func theHeadCapCountsInterimHeadsAndHoldsAtEverySplit() {
        let head = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 100) + "\r\n\r\n"
        for piece in [1, 5, .max] {
            #expect(parseResponse(head, piece: piece, maxHeaderBytes: 64).0.error == .headersTooLarge(limit: 64))
            #expect(parseResponse(head, piece: piece, maxHeaderBytes: head.utf8.count).0.error == nil)
        }
        let interim = "HTTP/1.1 100 Continue\r\n\r\n" + head
        #expect(parseResponse(interim, maxHeaderBytes: head.utf8.count).0.error == .headersTooLarge(limit: head.utf8.count))
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",  // bare LF
        "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",  // bare CR
        "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",  // obs-fold
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nName : x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\u{01}b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "SSH-2.0-OpenSSH_9.2\r\n\r\n",
    ])
    func malformedResponsesAreRefused(_ text: String) {
        for piece in [1, .max] {
            let outcome = parseResponse(text, piece: piece).0
            guard case .malformed = outcome.error else {
                Issue.record("accepted (piece \(piece)): \(outcome)")
                return
            }
        }
    }

    static let corpus = String("\(#filePath)".dropLast("HTTPResponseParserTests.swift".count)) + "Fixtures/http-corpus"

    @Test func theFuzzCorpusKeepsTheProperty() throws {
        guard let dir = opendir(Self.corpus) else {
            Issue.record("no corpus at \(Self.corpus)")
            return
        }
        defer { closedir(dir) }
        var replayed = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard !name.hasPrefix(".") else { continue }
            guard let file = fopen(Self.corpus + "/" + name, "rb") else { continue }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = fread(&buffer, 1, buffer.count, file)
                if n <= 0 { break }
                bytes += buffer.prefix(n)
            }
            fclose(file)
            #expect(HTTPParserFuzzProperty.check(bytes) == nil, "\(name)")
            replayed += 1
        }
        #expect(replayed >= 6)
    }
}
