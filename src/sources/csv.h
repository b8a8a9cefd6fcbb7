/* csv.h -- CSV (RFC 4180) rows as JSON records for ingest mappings: the first row is the header,
 * every later row becomes a JSON object of strings keyed by it, which c360_mapping_apply takes
 * like any other record. Quoted fields may hold the delimiter, doubled quotes and newlines.
 * An empty unquoted field is left out of the object (so `exists` filters and missing
 * identifiers behave as for JSON); a quoted empty field ("") is the empty string. */
#ifndef C360_CSV_H
#define C360_CSV_H

#include <stdint.h>
#include <stdio.h>
#include "util/strbuf.h"

typedef struct c360_csv {
    FILE *in;
    char delim;
    char **hdr;
    int nhdr;
    uint64_t line;        /* physical lines read so far */
    uint64_t bytes;       /* bytes read so far */
    char *buf;            /* getline buffer */
    size_t cap;
    strbuf *f;            /* fields of the current row */
    char *q;              /* q[i]: field i was quoted */
    int fcap;
} c360_csv;

/* Reads the header row. 0, or -1 with err (empty input, bad header). */
int c360_csv_open(c360_csv *c, FILE *in, char delim, char *err, size_t errlen);
/* Next row as a JSON object appended to out; *row_line = line where the row starts.
 * 1 row, 0 end of input, -1 bad row (err says why; reading can continue). */
int c360_csv_next(c360_csv *c, strbuf *out, uint64_t *row_line, char *err, size_t errlen);
void c360_csv_close(c360_csv *c);

#endif
