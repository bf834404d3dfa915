import CPlatform
import ControlProtocol
import Glibc
import Logging
import Platform

/// Who is on the other end of a control connection (SO_PEERCRED), for the log of every runtime change.
public struct ControlPeer: Sendable, Hashable, CustomStringConvertible {
    public var uid: UInt32
    public var pid: Int32

    public init(uid: UInt32, pid: Int32) {
        self.uid = uid
        self.pid = pid
    }

    public var description: String { "uid \(uid) pid \(pid)" }
}

/// The control socket: a Unix stream socket, mode 0600 in a 0700 directory, one JSON request line per connection and
/// one JSON answer, served on the serving loop's thread (the answer is computed wherever `handler` runs).
public final class ControlServer: Sendable {
    public typealias Handler = @Sendable (ControlRequest, ControlPeer?) async -> ControlResponse

    let path: String
    let listener: RequestListener

    /// Binds `path` (replacing a stale socket from a crashed run) and serves `handler` on `loop`.
    public static func start(path: String, on loop: ServingLoop, logger: Logger, handler: @escaping Handler) throws -> ControlServer {
        try Files.makeDirectories(Files.directory(of: path), mode: 0o700)
        let kind = RequestKind(
            name: "control socket", maximumBytes: ControlFraming.maximumMessageBytes,
            end: { received, newFrom in received[newFrom...].firstIndex(of: UInt8(ascii: "\n")) },
            tooLarge: reply(ControlResponse(ok: false, message: "request longer than \(ControlFraming.maximumMessageBytes) bytes")),
            answer: { line, peer, send in
                let request: ControlRequest
                do {
                    request = try ControlFraming.decode(ControlRequest.self, from: line)
                } catch {
                    send(reply(ControlResponse(ok: false, message: "request not understood: \(error)")))
                    return
                }
                Task {
                    logger.debug("control request from \(peer?.description ?? "an unknown peer"): \(request)")
                    send(reply(await handler(request, peer)))
                }
            })
        let listener = try RequestListener.unix(path: path, kind: kind, on: loop, logger: logger)
        return ControlServer(path: path, listener: listener)
    }

    init(path: String, listener: RequestListener) {
        self.path = path
        self.listener = listener
    }

    /// Removes the socket's name; the serving loop's `stop` closes it and its connections.
    public func stop() {
        unlink(path)
    }

    static func reply(_ response: ControlResponse) -> [UInt8] {
        do { return try ControlFraming.encode(response) } catch {
            return Array("{\"ok\":false,\"message\":\"cannot encode the answer\"}\n".utf8)
        }
    }
}
