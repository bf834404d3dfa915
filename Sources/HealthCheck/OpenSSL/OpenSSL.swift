// The one place that calls libssl and libcrypto. Pointers live in small final classes freed in deinit; every failure
// becomes an error string drained from OpenSSL's per-thread error queue.
import COpenSSL
import Synchronization

enum OpenSSL {
    /// Drains the thread's error queue into one line (OpenSSL keeps errors per thread; leftovers would leak into
    /// the next connection's message).
    static func drainErrors() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "no OpenSSL error detail" : messages.joined(separator: "; ")
    }
}

/// SSL_CTX for checker connections: client mode, no certificate verification (as keepalived; documented), and the
/// `SSL` block's client certificate when there is one. Configured once, then only used to create connections,
/// which OpenSSL allows from any thread.
final class TLSClientContext: @unchecked Sendable {
    fileprivate let pointer: OpaquePointer

    /// Loads in keepalived's order (build_ssl_ctx): the certificate chain, the key (with its passphrase), the CAs.
    init(identity: TLSClientIdentity? = nil) throws(CheckFailure) {
        guard let method = TLS_client_method(), let ctx = SSL_CTX_new(method) else {
            throw .tlsFailed("SSL_CTX_new: \(OpenSSL.drainErrors())")
        }
        pointer = ctx
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        guard let identity else { return }
        if let file = identity.certificateFile, SSL_CTX_use_certificate_chain_file(ctx, file) != 1 {
            throw .tlsFailed("SSL certificate \(file): \(OpenSSL.drainErrors())")
        }
        if let file = identity.keyFile, directord_SSL_CTX_use_PrivateKey_file(ctx, file, identity.password) != 1 {
            throw .tlsFailed("SSL key \(file): \(OpenSSL.drainErrors())")
        }
        if let file = identity.caFile, SSL_CTX_load_verify_locations(ctx, file, nil) != 1 {
            throw .tlsFailed("SSL ca \(file): \(OpenSSL.drainErrors())")
        }
    }

    deinit { SSL_CTX_free(pointer) }

    /// The context without a client certificate: creating one loads configuration and ciphers, so it is made once.
    static let shared: Result<TLSClientContext, CheckFailure> = Result { () throws(CheckFailure) in try TLSClientContext() }

    /// Contexts with a client certificate, by identity: made when the checks start (`TLSClientContexts.prepare`)
    /// or by the first check that needs one, and kept (a reload to another identity adds one).
    private static let withIdentity = Mutex<[TLSClientIdentity: TLSClientContext]>([:])

    static func context(for identity: TLSClientIdentity?) throws(CheckFailure) -> TLSClientContext {
        guard let identity else { return try shared.get() }
        if let context = withIdentity.withLock({ $0[identity] }) { return context }
        return try load(identity)
    }

    /// Reads the files again (a renewed certificate at the same path is picked up) and replaces the kept context.
    @discardableResult
    static func load(_ identity: TLSClientIdentity) throws(CheckFailure) -> TLSClientContext {
        let context = try TLSClientContext(identity: identity)
        withIdentity.withLock { $0[identity] = context }
        return context
    }
}

/// The daemon's way to load a client identity before any check runs, so that an unreadable certificate, key or
/// CA file stops the start or the reload (keepalived's checker exits when init_ssl_ctx fails), and a reload reads
/// the files again.
public enum TLSClientContexts {
    public static func prepare(_ identity: TLSClientIdentity) throws(CheckFailure) {
        try TLSClientContext.load(identity)
    }
}

/// One TLS client connection driven through two memory BIOs: the channel feeds ciphertext in and sends what
/// OpenSSL leaves in the outgoing BIO.
final class TLSConnection {
    private let ssl: OpaquePointer
    private let incoming: OpaquePointer  // owned by ssl after SSL_set_bio
    private let outgoing: OpaquePointer

    enum Step: Equatable {
        case done
        case wantMore
        case closed
        case failed(String)
    }

    init(context: TLSClientContext, serverName: String?) throws(CheckFailure) {
        guard let ssl = SSL_new(context.pointer) else { throw .tlsFailed("SSL_new: \(OpenSSL.drainErrors())") }
        guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw .tlsFailed("BIO_new: \(OpenSSL.drainErrors())")
        }
        SSL_set_bio(ssl, rbio, wbio)
        SSL_set_connect_state(ssl)
        self.ssl = ssl
        self.incoming = rbio
        self.outgoing = wbio
        if let serverName, directord_SSL_set_tlsext_host_name(ssl, serverName) != 1 {
            throw .tlsFailed("cannot set SNI name '\(serverName)': \(OpenSSL.drainErrors())")
        }
    }

    deinit { SSL_free(ssl) }

    /// Ciphertext from the peer.
    func feed(_ bytes: UnsafeRawBufferPointer) throws(CheckFailure) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // A memory BIO grows as needed; a short write would be an allocation failure.
        let written = BIO_write(incoming, base, Int32(bytes.count))
        if written != Int32(bytes.count) { throw .tlsFailed("BIO_write: \(OpenSSL.drainErrors())") }
    }

    func handshake() -> Step {
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return .done }
        return classify(rc)
    }

    /// Encrypts all of `bytes` (a memory BIO never pushes back once the handshake is done).
    func write(_ bytes: UnsafeRawBufferPointer) throws(CheckFailure) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var written = 0
        let rc = SSL_write_ex(ssl, base, bytes.count, &written)
        if rc != 1 || written != bytes.count {
            throw .tlsFailed("SSL_write: \(OpenSSL.drainErrors())")
        }
    }

    /// Decrypts what is available into `sink`; `.wantMore` when the incoming BIO is empty.
    func read(into sink: (UnsafeRawBufferPointer) -> Void) -> Step {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            var got = 0
            let rc = scratch.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &got) }
            if rc == 1 {
                scratch.withUnsafeBytes { sink(UnsafeRawBufferPointer(rebasing: $0.prefix(got))) }
                continue
            }
            return classify(0)
        }
    }

    /// Whatever OpenSSL wants sent to the peer.
    func takeOutgoing() -> [UInt8] {
        let pending = Int(BIO_ctrl_pending(outgoing))
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let got = bytes.withUnsafeMutableBytes { BIO_read(outgoing, $0.baseAddress, Int32(pending)) }
        return got > 0 ? Array(bytes.prefix(Int(got))) : []
    }

    private func classify(_ rc: Int32) -> Step {
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantMore
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: return .failed(OpenSSL.drainErrors())
        }
    }
}

/// Incremental MD5 through libcrypto's EVP interface.
final class MD5Digest {
    private let context: OpaquePointer

    /// MD5 fetched from the provider once: with the legacy `EVP_md5()` OpenSSL 3 fetches the implementation again
    /// on every init, under a lock (a few microseconds a check).
    private struct Algorithm: @unchecked Sendable {
        let md: OpaquePointer?
    }
    private static let md5 = Algorithm(md: EVP_MD_fetch(nil, "MD5", nil))

    init() throws(CheckFailure) {
        guard let context = EVP_MD_CTX_new() else { throw .digestUnavailable("EVP_MD_CTX_new: \(OpenSSL.drainErrors())") }
        guard EVP_DigestInit_ex(context, Self.md5.md ?? EVP_md5(), nil) == 1 else {
            EVP_MD_CTX_free(context)
            throw .digestUnavailable("EVP_DigestInit_ex(md5): \(OpenSSL.drainErrors())")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) throws(CheckFailure) {
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else {
            throw .digestUnavailable("EVP_DigestUpdate: \(OpenSSL.drainErrors())")
        }
    }

    /// Lower-case hex, as keepalived's genhash prints it.
    func finish() throws(CheckFailure) -> String {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(EVP_MAX_MD_SIZE)) { out throws(CheckFailure) in
            var length: UInt32 = 0
            guard EVP_DigestFinal_ex(context, out.baseAddress, &length) == 1 else {
                throw .digestUnavailable("EVP_DigestFinal_ex: \(OpenSSL.drainErrors())")
            }
            let digest = UnsafeBufferPointer(rebasing: out[..<min(Int(length), out.count)])
            return String(unsafeUninitializedCapacity: 2 * digest.count) { text in
                for (i, byte) in digest.enumerated() {
                    text[2 * i] = Self.hexDigit(byte >> 4)
                    text[2 * i + 1] = Self.hexDigit(byte & 0xF)
                }
                return 2 * digest.count
            }
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
