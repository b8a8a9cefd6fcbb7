/* gzstream.h -- a gzip-compressed object of `c360 load` (file, URL, S3 object) read as the plain
 * bytes it holds, through a stdio stream, so that the NDJSON and CSV readers do not know about
 * compression. zlib does the decoding (several concatenated members too, as Segment's S3 archive
 * and `cat a.gz b.gz` write them). Whether an object is compressed is decided by its first byte
 * (c360_gz_sniff), not by its name. */
#ifndef C360_GZSTREAM_H
#define C360_GZSTREAM_H

#include <stdint.h>
#include <stdio.h>

typedef struct c360_gz c360_gz;

/* A stream of the decompressed bytes of `raw`, which it takes over (closing the stream closes
 * raw); *g (valid until the stream is closed) tells how far into raw it has read and why a read
 * failed. NULL with errno set if it cannot be set up (raw is then closed). A read error of the
 * stream (ferror) is corrupt or truncated data. */
FILE *c360_gz_open(FILE *raw, c360_gz **g);
/* 1 if raw starts with gzip's first magic byte (0x1f: never the first byte of text); nothing is
 * consumed (one byte pushed back) */
int c360_gz_sniff(FILE *raw);
/* bytes of the compressed object consumed so far (for progress) */
uint64_t c360_gz_offset(const c360_gz *g);
/* why the last read failed ("" if none) */
const char *c360_gz_error(const c360_gz *g);

#endif
