/* body.h -- request bodies sent with a Content-Encoding: which codings c360 takes (gzip, x-gzip,
 * deflate, identity) and decoding them with zlib under a size limit, so that a small compressed
 * body cannot expand into unbounded memory. Pure functions over untrusted bytes (a fuzzing
 * target); the HTTP layer decides where (loop or worker) and which limit. */
#ifndef C360_BODY_H
#define C360_BODY_H

#include <stddef.h>
#include "util/strbuf.h"

enum { C360_CODING_IDENTITY = 0, C360_CODING_GZIP = 1, C360_CODING_DEFLATE = 2 };

/* The coding named by a Content-Encoding header value v[0..n) (case-insensitive; "identity"
 * entries of a list are skipped). -1 if it names a coding c360 does not decode, or more than one. */
int c360_body_coding(const char *v, size_t n);

/* Appends the decoded in[0..n) to out. 0 ok; 1 if it decodes to more than `limit` bytes (out then
 * holds limit + 1 of them); -1 if it is not valid data of that coding (err says why). gzip takes
 * concatenated members; deflate takes the zlib format of RFC 9110 and, as many clients send it,
 * raw deflate. */
int c360_body_decode(int coding, const char *in, size_t n, size_t limit, strbuf *out, char *err, size_t errlen);

#endif
