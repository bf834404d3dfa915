// HealthCheck: is a real server really serving? Checkers (HTTP_GET, SSL_GET, TCP_CHECK), the pure check policy
// (retry, alpha, quorum, sorry server) and the NIO scheduler that runs one check per distinct target and definition.
