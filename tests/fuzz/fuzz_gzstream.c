/* fuzz_gzstream.c -- a `c360 load` object read through sources/gzstream.c: the first byte decides
 * gzip or not (c360_gz_sniff), a gzip object is inflated member after member as a stdio stream.
 *
 * Input: the object's bytes; when they do not start with gzip's magic byte, the harness also
 * compresses them itself (two members, cut at byte 0's value) and reads that back. Invariants:
 *  - the sniff consumes nothing: a plain object reads back byte for byte;
 *  - any object starting with 0x1f either reads to a clean end or fails with a reason, the offset
 *    never past the object; one starting with gzip's two magic bytes and read to a clean end is
 *    read to a clean end, with the same bytes, by zlib's own gzread too (a memfd through gzdopen):
 *    no damage passes as a quiet, shorter object. (The reverse does not hold: gzread ends some
 *    truncated members quietly, where this reader reports them);
 *  - the harness's own two members read back to exactly the input, the offset at the end. */
#include "fuzz_common.h"

#include "sources/gzstream.h"

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

static size_t read_all(FILE *fp, strbuf *out)
{
    char buf[4096];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
        sb_add(out, buf, n);
        total += n;
    }
    return total;
}

static size_t gzip_member(const uint8_t *p, size_t n, strbuf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    CHECK(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
    size_t cap = deflateBound(&z, (uLong)n) + 32, at = out->len;
    sb_grow(out, cap);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->buf + at;
    z.avail_out = (uInt)cap;
    CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END, "deflate");
    out->len = at + z.total_out;
    deflateEnd(&z);
    return z.total_out;
}

static void read_gzip(const uint8_t *p, size_t n, strbuf *back, int *failed, const char **why, uint64_t *off)
{
    FILE *raw = fmemopen((void *)(uintptr_t)p, n, "rb");
    CHECK(raw != NULL, "fmemopen");
    CHECK(c360_gz_sniff(raw) == 1, "an object starting with 0x1f is not taken for gzip");
    c360_gz *g;
    FILE *fp = c360_gz_open(raw, &g);
    CHECK(fp != NULL, "c360_gz_open");
    read_all(fp, back);
    *failed = ferror(fp) != 0;
    static char reason[256];
    snprintf(reason, sizeof reason, "%s", c360_gz_error(g));
    *why = reason;
    *off = c360_gz_offset(g);
    fclose(fp);
}

/* zlib's gzread over the same bytes: 0 and the bytes at a clean end, -1 on an error */
static int zlib_reads(const uint8_t *p, size_t n, strbuf *out)
{
    int fd = memfd_create("gz", 0);
    CHECK(fd >= 0, "memfd_create");
    CHECK(write(fd, p, n) == (ssize_t)n, "write to the memfd");
    CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
    gzFile f = gzdopen(fd, "rb");
    CHECK(f != NULL, "gzdopen");
    char buf[4096];
    int r, rc = 0;
    while ((r = gzread(f, buf, sizeof buf)) > 0) sb_add(out, buf, (size_t)r);
    int code;
    gzerror(f, &code);
    if (r < 0 || code != Z_OK) rc = -1;
    gzclose_r(f);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    strbuf back = STRBUF_INIT;
    if (data[0] == 0x1f) {
        int failed;
        const char *why;
        uint64_t off;
        read_gzip(data, size, &back, &failed, &why, &off);
        CHECK(!failed || why[0], "a read error without a reason");
        CHECK(failed || !why[0], "a reason (%s) without a read error", why);
        CHECK(off <= size, "offset %llu past the object's %zu bytes", (unsigned long long)off, size);
        if (size >= 2 && data[1] == 0x8b) {
            strbuf ref = STRBUF_INIT;
            int zrc = zlib_reads(data, size, &ref);
            CHECK(failed || zrc == 0, "c360 read it cleanly (%zu bytes), zlib's gzread failed", back.len);
            CHECK(failed || (ref.len == back.len && !memcmp(ref.buf, back.buf, back.len)), "%zu bytes read, zlib's gzread %zu", back.len, ref.len);
            sb_release(&ref);
        }
        sb_release(&back);
        return 0;
    }
    /* plain: the sniff leaves every byte */
    FILE *raw = fmemopen((void *)(uintptr_t)data, size, "rb");
    CHECK(raw != NULL, "fmemopen");
    CHECK(c360_gz_sniff(raw) == 0, "plain data (first byte 0x%02x) taken for gzip", data[0]);
    CHECK(read_all(raw, &back) == size && !memcmp(back.buf, data, size), "the sniff consumed plain bytes");
    fclose(raw);
    /* the same bytes as two gzip members */
    strbuf gz = STRBUF_INIT;
    size_t cut = data[0] % (size + 1);
    gzip_member(data, cut, &gz);
    gzip_member(data + cut, size - cut, &gz);
    sb_reset(&back);
    int failed;
    const char *why;
    uint64_t off;
    read_gzip((const uint8_t *)gz.buf, gz.len, &back, &failed, &why, &off);
    CHECK(!failed, "valid gzip failed: %s", why);
    CHECK(back.len == size && !memcmp(back.buf, data, size), "two members read back %zu bytes of %zu", back.len, size);
    CHECK(off == gz.len, "offset %llu at the end of %zu bytes", (unsigned long long)off, gz.len);
    sb_release(&gz);
    sb_release(&back);
    return 0;
}
