// The system PCRE2 (8-bit code units), as keepalived links it for HTTP_GET's regex.
#ifndef DIRECTORD_CPCRE2_SHIM_H
#define DIRECTORD_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
