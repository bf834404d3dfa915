// The system OpenSSL: libssl for SSL_GET, libcrypto's MD5 for digests. One TLS stack only.
#ifndef DIRECTORD_COPENSSL_SHIM_H
#define DIRECTORD_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/hmac.h>

// SSL_set_tlsext_host_name is a macro over SSL_ctrl, which Swift cannot import.
static inline long directord_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
#endif
