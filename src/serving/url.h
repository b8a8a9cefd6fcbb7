/* url.h -- request-target helpers: percent-decoding and query parameters. Pure functions over
 * untrusted bytes (a fuzzing target). */
#ifndef C360_URL_H
#define C360_URL_H

#include <stddef.h>
#include "util/strbuf.h"

/* Appends the percent-decoded s[0..n) to out ('+' stays '+', as in paths). -1 on a bad escape
 * or a decoded NUL. */
int c360_url_decode(const char *s, size_t n, int plus_is_space, strbuf *out);
/* Finds parameter `name` in query q[0..n) (without '?'); decodes its value into out.
 * 1 found, 0 absent, -1 malformed. */
int c360_query_param(const char *q, size_t n, const char *name, strbuf *out);

#endif
