// The system OpenSSL: libssl for SSL_GET, libcrypto's MD5 for digests. One TLS stack only.
#ifndef DIRECTORD_COPENSSL_SHIM_H
#define DIRECTORD_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#endif
