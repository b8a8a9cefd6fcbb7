/* csv.c -- CSV rows -> JSON records (see csv.h). A small state machine over getline(): a row
 * that ends inside quotes continues on the next physical line. */
#include "sources/csv.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

static void add_field(strbuf **f, char **q, int *n, int *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *f = xrealloc(*f, sizeof **f * (size_t)*cap);
        *q = xrealloc(*q, (size_t)*cap);
    }
    sb_init(&(*f)[*n]);
    (*q)[*n] = 0;
    (*n)++;
}

/* 1 row parsed into f/q/n, 0 eof, -1 error */
static int parse_row(c360_csv *c, strbuf **f, char **q, int *n, int *cap, uint64_t *start, char *err, size_t errlen)
{
    *n = 0;
    for (;;) {   /* skip blank lines */
        ssize_t len = getline(&c->buf, &c->cap, c->in);
        if (len < 0) return 0;
        c->line++;
        c->bytes += (uint64_t)len;
        size_t l = (size_t)len;
        while (l && (c->buf[l - 1] == '\n' || c->buf[l - 1] == '\r')) l--;
        if (l == 0) continue;
        *start = c->line;
        add_field(f, q, n, cap);
        int inq = 0;
        size_t i = 0;
        for (;;) {
            if (i >= l) {
                if (!inq) return 1;
                /* the quoted field continues on the next line */
                sb_addc(&(*f)[*n - 1], '\n');
                len = getline(&c->buf, &c->cap, c->in);
                if (len < 0) {
                    snprintf(err, errlen, "line %llu: a quoted field is not closed before the end of the input", (unsigned long long)*start);
                    return -1;
                }
                c->line++;
                c->bytes += (uint64_t)len;
                l = (size_t)len;
                while (l && (c->buf[l - 1] == '\n' || c->buf[l - 1] == '\r')) l--;
                i = 0;
                continue;
            }
            char ch = c->buf[i++];
            strbuf *cur = &(*f)[*n - 1];
            if (inq) {
                if (ch == '"') {
                    if (i < l && c->buf[i] == '"') { sb_addc(cur, '"'); i++; }
                    else inq = 0;
                } else sb_addc(cur, ch);
            } else if (ch == '"' && cur->len == 0 && !(*q)[*n - 1]) {
                inq = 1;
                (*q)[*n - 1] = 1;
            } else if (ch == c->delim) {
                add_field(f, q, n, cap);
            } else {
                sb_addc(cur, ch);
            }
        }
    }
}

static void free_fields(c360_csv *c, int n)
{
    for (int i = 0; i < n; i++) sb_release(&c->f[i]);
}

int c360_csv_open(c360_csv *c, FILE *in, char delim, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->in = in;
    c->delim = delim ? delim : ',';
    int n = 0;
    uint64_t start;
    int r = parse_row(c, &c->f, &c->q, &n, &c->fcap, &start, err, errlen);
    if (r <= 0) {
        free_fields(c, n);
        if (r == 0) snprintf(err, errlen, "the CSV input is empty (a header row is required)");
        c360_csv_close(c);
        return -1;
    }
    c->hdr = xcalloc((size_t)n, sizeof *c->hdr);
    c->nhdr = n;
    for (int i = 0; i < n; i++) {
        char *h = c->f[i].buf;
        if (i == 0 && c->f[i].len >= 3 && !memcmp(h, "\xEF\xBB\xBF", 3)) h += 3;   /* UTF-8 BOM */
        c->hdr[i] = xstrdup(h);
    }
    free_fields(c, n);
    for (int i = 0; i < n; i++) {
        if (!*c->hdr[i]) {
            snprintf(err, errlen, "CSV header: column %d has no name", i + 1);
            c360_csv_close(c);
            return -1;
        }
    }
    return 0;
}

int c360_csv_next(c360_csv *c, strbuf *out, uint64_t *row_line, char *err, size_t errlen)
{
    int n = 0;
    uint64_t start = c->line + 1;
    int r = parse_row(c, &c->f, &c->q, &n, &c->fcap, &start, err, errlen);
    *row_line = start;
    if (r <= 0) { free_fields(c, n); return r; }
    if (n != c->nhdr) {
        snprintf(err, errlen, "line %llu: the row has %d fields, the header %d", (unsigned long long)start, n, c->nhdr);
        free_fields(c, n);
        return -1;
    }
    sb_addc(out, '{');
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (c->f[i].len == 0 && !c->q[i]) continue;
        if (!first) sb_addc(out, ',');
        first = 0;
        c360_json_put_cstr(out, c->hdr[i]);
        sb_addc(out, ':');
        c360_json_put_str(out, c->f[i].buf, c->f[i].len);
    }
    sb_addc(out, '}');
    free_fields(c, n);
    return 1;
}

void c360_csv_close(c360_csv *c)
{
    for (int i = 0; i < c->nhdr; i++) free(c->hdr[i]);
    free(c->hdr);
    free(c->buf);
    free(c->f);
    free(c->q);
    c->f = NULL;
    c->q = NULL;
    c->fcap = 0;
    c->hdr = NULL;
    c->buf = NULL;
    c->nhdr = 0;
}
