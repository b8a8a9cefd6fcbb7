/* log.c -- structured JSON-lines logger (see log.h). Thread-safe: each line is formatted into
 * a local buffer and written with one write(2), so lines from different threads never mix. */
#include "util/log.h"
#include "util/clock.h"
#include "util/strbuf.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

int c360_log_level = C360_LOG_INFO;

static const char *names[] = {"debug", "info", "warn", "error"};

int c360_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

void c360_log_write(int level, const char *msg, const char *fields_fmt, ...)
{
    char ts[32];
    c360_time_format(c360_now_ms(), ts);
    strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"", ts, names[level & 3], msg);
    if (fields_fmt && *fields_fmt) {
        size_t at = sb.len;
        sb_addc(&sb, ',');
        va_list ap;
        va_start(ap, fields_fmt);
        sb_vaddf(&sb, fields_fmt, ap);
        va_end(ap);
        if (sb.len == at + 1) sb_truncate(&sb, at); /* fields formatted to nothing */
    }
    sb_adds(&sb, "}\n");
    ssize_t r = write(STDERR_FILENO, sb.buf, sb.len);
    (void)r;
    sb_release(&sb);
}
