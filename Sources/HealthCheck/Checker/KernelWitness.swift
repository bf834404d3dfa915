// What the kernel knows of a connection that the event loop may not have handled yet. Both checkers ask it when a
// deadline is reached: a saturated loop handles a connection's events late, and a timeout is the real's fault only
// when the kernel heard nothing from the real in time either.
import Glibc
import NIOCore

/// One reading of TCP_INFO, taken on the channel's event loop.
struct KernelWitness {
    /// `TCP_ESTABLISHED`, `TCP_SYN_SENT`, ...
    let state: UInt8
    /// When the last ACK arrived (the handshake's SYN-ACK while connecting).
    let lastAck: NIODeadline
    /// When the last data segment arrived (the handshake's completion when none has).
    let lastData: NIODeadline

    /// TCP_INFO counts in milliseconds derived from jiffies (4 ms apart at HZ 250, 10 ms at HZ 100).
    static let clockSlack = TimeAmount.milliseconds(20)

    var isConnected: Bool { state == Self.established || state == Self.closeWait }

    /// Connected, by an answer that came between `issued` (when the connect left) and `deadline`.
    func connected(issuedAt issued: NIODeadline, by deadline: NIODeadline) -> Bool {
        isConnected && lastAck >= issued - Self.clockSlack && lastAck <= deadline + Self.clockSlack
    }

    /// Data arrived after `seen` (what the loop last handled) and by `deadline`.
    func receivedData(after seen: NIODeadline, by deadline: NIODeadline) -> Bool {
        lastData > seen + Self.clockSlack && lastData <= deadline + Self.clockSlack
    }

    private static let established = UInt8(TCP_ESTABLISHED)
    private static let closeWait = UInt8(TCP_CLOSE_WAIT)

    /// Nil when the kernel cannot say (no channel yet, or its socket is gone). Call on the channel's event loop.
    init?(of channel: (any Channel)?, now: NIODeadline = .now()) {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        var info: tcp_info?
        // On the channel's event loop the option is read at once, so the future is already complete.
        provider.getTCPInfo().assumeIsolated().whenSuccess { info = $0 }
        guard let info else { return nil }
        state = info.tcpi_state
        lastAck = now - .milliseconds(Int64(info.tcpi_last_ack_recv))
        lastData = now - .milliseconds(Int64(info.tcpi_last_data_recv))
    }
}
