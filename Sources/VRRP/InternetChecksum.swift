/// RFC 1071 one's-complement checksum, accumulated over several byte runs (pseudo-header, then message).
struct InternetChecksum {
    private var sum: UInt32 = 0
    // A run of odd length leaves its last byte waiting to pair with the next run's first one.
    private var pendingHighByte: UInt8?

    mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            if let high = pendingHighByte {
                sum &+= UInt32(high) << 8 | UInt32(byte)
                pendingHighByte = nil
                // Fold early so the 32-bit accumulator never overflows on long inputs.
                if sum > 0xFFFF_0000 { sum = (sum & 0xFFFF) + (sum >> 16) }
            } else {
                pendingHighByte = byte
            }
        }
    }

    /// The complemented folded sum; over data that contains a correct checksum this is 0.
    var value: UInt16 {
        var total = sum
        if let high = pendingHighByte { total &+= UInt32(high) << 8 }
        while total > 0xFFFF { total = (total & 0xFFFF) + (total >> 16) }
        return ~UInt16(total)
    }
}
