// The system OpenSSL: libssl for SSL_GET, libcrypto's MD5 for digests. One TLS stack only.
#ifndef DIRECTORD_COPENSSL_SHIM_H
#define DIRECTORD_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/hmac.h>
#include <string.h>

// SSL_set_tlsext_host_name is a macro over SSL_ctrl, which Swift cannot import.
static inline long directord_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

// keepalived's password_cb: the key's passphrase from the userdata, refused when it does not fit. Without one it
// answers "no passphrase" at once: OpenSSL's default callback would prompt on the terminal and block the daemon.
static int directord_password_cb(char *buf, int size, int rwflag, void *userdata) {
    (void)rwflag;
    if (!userdata) return 0;
    const char *password = (const char *)userdata;
    size_t length = strlen(password);
    if (size < 0 || length + 1 > (size_t)size) return 0;
    memcpy(buf, password, length + 1);
    return (int)length;
}

// Loads a PEM private key with `password` (NULL: none) for this call only, so the passphrase is not kept in the
// context afterwards.
static inline int directord_SSL_CTX_use_PrivateKey_file(SSL_CTX *ctx, const char *file, const char *password) {
    SSL_CTX_set_default_passwd_cb(ctx, directord_password_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)password);
    int rc = SSL_CTX_use_PrivateKey_file(ctx, file, SSL_FILETYPE_PEM);
    SSL_CTX_set_default_passwd_cb(ctx, NULL);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    return rc;
}
#endif
