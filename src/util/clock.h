/* clock.h -- event time: parsing and printing ISO-8601 timestamps, and the wall clock.
 *
 * All times inside c360 are int64 milliseconds since the Unix epoch, UTC. The wall clock can be
 * pinned for tests with the environment variable C360_FAKE_NOW (ISO-8601 or epoch ms), which
 * makes retention, dedup windows and skew correction testable without sleeping. */
#ifndef C360_CLOCK_H
#define C360_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Parses "2026-10-01T08:15:03.120Z", "2026-10-01T08:15:03+02:00", "2026-10-01 08:15:03",
 * "2026-10-01" and fractional seconds of any length. Returns 0, or -1 if not a valid time. */
int c360_time_parse(const char *s, size_t n, int64_t *ms_out);
/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL) into buf[32]; returns the length. */
size_t c360_time_format(int64_t ms, char *buf);
int64_t c360_now_ms(void);
int64_t c360_monotonic_ns(void);
/* Days since 1970-01-01 for a civil date (proleptic Gregorian). */
int64_t c360_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
