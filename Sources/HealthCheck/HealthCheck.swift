// HealthCheck: is a real server really serving? Checkers (HTTP_GET, SSL_GET, TCP_CHECK), the pure check policy
// (retry, alpha, quorum, sorry server) and the NIO scheduler that runs one check per distinct target and definition.
//
// Where directord deliberately differs from keepalived (the man page should say so too):
// - The digest is the MD5 of the decoded body: chunked transfer-encoding is removed before hashing, whereas
//   keepalived hashes the raw chunk framing. `directorctl genhash` prints the digest the checker compares.
// - Besides connect_timeout per connect and per read, one url's whole fetch is bounded (default 3 × connect_timeout),
//   so a server that dribbles bytes cannot hold a check forever; bodies over 1 MiB and headers over 64 KiB fail.
// - Several virtual servers naming the same real with the same checker share one running check (keepalived #2318).
// - SSL_GET does not verify certificates, exactly as keepalived; it uses the system OpenSSL, the only TLS stack.
