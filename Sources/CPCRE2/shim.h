// The system PCRE2 (8-bit code units), as keepalived links it for HTTP_GET's regex.
#ifndef DIRECTORD_CPCRE2_SHIM_H
#define DIRECTORD_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

// PCRE2_ZERO_TERMINATED and PCRE2_UNSET are casts of ~0, which Swift does not import.
static inline size_t directord_pcre2_unset(void) { return PCRE2_UNSET; }
#endif
