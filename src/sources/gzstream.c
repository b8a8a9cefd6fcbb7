/* gzstream.c -- gzip objects as plain streams (see gzstream.h): zlib's gzFile over the object's
 * file descriptor, wrapped in a stdio stream with fopencookie so that getline() and the CSV
 * reader work on it unchanged. */
#include "sources/gzstream.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

struct c360_gz {
    gzFile gz;
    char err[200];
};

/* zlib's message without the "<fd:N>: " it puts in front for a descriptor */
static const char *gz_msg(gzFile gz, int *code)
{
    const char *msg = gzerror(gz, code);
    if (!msg || !*msg) return "read error";
    if (msg[0] == '<') {
        const char *e = strstr(msg, ">: ");
        if (e) msg = e + 3;
    }
    return msg;
}

static ssize_t gz_cookie_read(void *cookie, char *buf, size_t size)
{
    c360_gz *g = cookie;
    if (size > (1u << 30)) size = 1u << 30;
    int n = gzread(g->gz, buf, (unsigned)size);
    if (n < 0) {
        int code;
        snprintf(g->err, sizeof g->err, "not valid gzip data: %s", gz_msg(g->gz, &code));
        errno = EIO;
        return -1;
    }
    /* gzread stops at the end of the data without an error for a truncated member: zlib says so
     * through gzerror, Z_BUF_ERROR ("unexpected end of file") */
    if (n == 0) {
        int code;
        const char *msg = gz_msg(g->gz, &code);
        if (code == Z_BUF_ERROR) {
            snprintf(g->err, sizeof g->err, "the gzip data is truncated (%s)", msg);
            errno = EIO;
            return -1;
        }
    }
    return n;
}

static int gz_cookie_close(void *cookie)
{
    c360_gz *g = cookie;
    int rc = gzclose_r(g->gz) == Z_OK ? 0 : EOF;
    free(g);
    return rc;
}

FILE *c360_gz_open(FILE *raw, c360_gz **out)
{
    *out = NULL;
    int fd = dup(fileno(raw));
    fclose(raw);
    if (fd < 0) return NULL;
    c360_gz *g = xcalloc(1, sizeof *g);
    g->gz = gzdopen(fd, "rb");
    if (!g->gz) {
        close(fd);
        free(g);
        errno = ENOMEM;
        return NULL;
    }
    gzbuffer(g->gz, 256 * 1024);
    cookie_io_functions_t io = {.read = gz_cookie_read, .close = gz_cookie_close};
    FILE *fp = fopencookie(g, "rb", io);
    if (!fp) {
        gzclose_r(g->gz);
        free(g);
        return NULL;
    }
    *out = g;
    return fp;
}

uint64_t c360_gz_offset(const c360_gz *g)
{
    z_off_t o = gzoffset(g->gz);
    return o > 0 ? (uint64_t)o : 0;
}

const char *c360_gz_error(const c360_gz *g)
{
    return g->err;
}
