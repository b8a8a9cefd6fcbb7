/* codec.h -- varint/length-prefixed binary encoding for records (profiles) in the store.
 * Writers append to a strbuf; readers walk a cursor and set `err` on any overrun, so a
 * corrupt record is detected instead of read past its end. */
#ifndef C360_CODEC_H
#define C360_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include "util/strbuf.h"

void c360_put_uvarint(strbuf *sb, uint64_t v);
void c360_put_svarint(strbuf *sb, int64_t v);
void c360_put_bytes(strbuf *sb, const void *p, size_t n);   /* uvarint length + bytes */

typedef struct c360_cursor { const unsigned char *p, *end; int err; } c360_cursor;
static inline void c360_cursor_init(c360_cursor *c, const void *p, size_t n)
{
    c->p = p; c->end = (const unsigned char *)p + n; c->err = 0;
}
uint64_t c360_get_uvarint(c360_cursor *c);
int64_t c360_get_svarint(c360_cursor *c);
/* returns a pointer into the buffer (not NUL-terminated) and its length */
const char *c360_get_bytes(c360_cursor *c, size_t *n);
char *c360_get_str(c360_cursor *c);  /* malloc'd NUL-terminated copy */

#endif
