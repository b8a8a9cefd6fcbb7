/* gzstream.c -- gzip objects as plain streams (see gzstream.h): zlib's inflate over the object's
 * stdio stream, wrapped in a stdio stream with fopencookie so that getline() and the CSV reader
 * work on it unchanged. Reading from the object's own stream (not its descriptor) keeps the bytes
 * it has buffered already, so a caller can look at the first byte before choosing. */
#include "sources/gzstream.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <zlib.h>

#define IN_BYTES (256 * 1024)

struct c360_gz {
    FILE *raw;
    z_stream z;
    int in_member;     /* inside a gzip member (its end not seen yet) */
    int members;       /* members read to their end */
    int done;          /* the end: input exhausted between members, or what follows is not gzip */
    uint64_t read;     /* bytes taken from raw */
    char err[200];
    unsigned char in[IN_BYTES];
};

static ssize_t fail(c360_gz *g, const char *what, const char *detail)
{
    snprintf(g->err, sizeof g->err, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    errno = EIO;
    return -1;
}

/* at least `want` bytes of input in g->in (fewer only at the end of the object); -1 on a read error */
static int fill(c360_gz *g, unsigned want)
{
    if (g->z.avail_in >= want) return 0;
    if (g->z.avail_in) memmove(g->in, g->z.next_in, g->z.avail_in);
    g->z.next_in = g->in;
    while (g->z.avail_in < want) {
        size_t n = fread(g->in + g->z.avail_in, 1, sizeof g->in - g->z.avail_in, g->raw);
        if (n == 0) return ferror(g->raw) ? -1 : 0;
        g->z.avail_in += (unsigned)n;
        g->read += n;
    }
    return 0;
}

static ssize_t gz_cookie_read(void *cookie, char *buf, size_t size)
{
    c360_gz *g = cookie;
    if (size > (1u << 30)) size = 1u << 30;
    g->z.next_out = (unsigned char *)buf;
    g->z.avail_out = (unsigned)size;
    while (!g->done && g->z.avail_out == size) {
        if (fill(g, g->in_member ? 1 : 2)) return fail(g, "read error", strerror(errno));
        if (!g->in_member) {
            /* a member starts with the magic bytes 1f 8b. After the first, anything else (or
             * nothing) ends the data, as in zlib's own gzread (padding, trailing garbage) */
            if (g->z.avail_in < 2 || g->z.next_in[0] != 0x1f || g->z.next_in[1] != 0x8b) {
                if (!g->members) return fail(g, "not valid gzip data", "no gzip header");
                g->done = 1;
                break;
            }
            if (inflateReset(&g->z) != Z_OK) return fail(g, "not valid gzip data", g->z.msg);
            g->in_member = 1;
        }
        if (g->z.avail_in == 0) return fail(g, "the gzip data is truncated (unexpected end of file)", NULL);
        int r = inflate(&g->z, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            g->in_member = 0;
            g->members++;
        } else if (r != Z_OK && !(r == Z_BUF_ERROR && g->z.avail_in == 0)) {
            return fail(g, "not valid gzip data", g->z.msg ? g->z.msg : zError(r));
        }
    }
    return (ssize_t)(size - g->z.avail_out);
}

static int gz_cookie_close(void *cookie)
{
    c360_gz *g = cookie;
    inflateEnd(&g->z);
    int rc = fclose(g->raw);
    free(g);
    return rc;
}

FILE *c360_gz_open(FILE *raw, c360_gz **out)
{
    *out = NULL;
    c360_gz *g = xcalloc(1, sizeof *g);
    g->raw = raw;
    if (inflateInit2(&g->z, 15 + 16) != Z_OK) {   /* 15 + 16: a gzip header and trailer */
        fclose(raw);
        free(g);
        errno = ENOMEM;
        return NULL;
    }
    cookie_io_functions_t io = {.read = gz_cookie_read, .close = gz_cookie_close};
    FILE *fp = fopencookie(g, "rb", io);
    if (!fp) {
        inflateEnd(&g->z);
        fclose(raw);
        free(g);
        return NULL;
    }
    *out = g;
    return fp;
}

int c360_gz_sniff(FILE *raw)
{
    int c = getc(raw);
    if (c == EOF) return 0;
    ungetc(c, raw);
    return c == 0x1f;
}

uint64_t c360_gz_offset(const c360_gz *g)
{
    return g->read - g->z.avail_in;
}

const char *c360_gz_error(const c360_gz *g)
{
    return g->err;
}
