/* log.h -- structured logs: one JSON object per line on stderr.
 *
 *   LOG_INFO("listening", "\"addr\":\"%s\"", addr);
 *   -> {"ts":"2026-11-22T05:00:00.000Z","level":"info","msg":"listening","addr":"127.0.0.1:8080"}
 *
 * The level is checked before the arguments are evaluated, so a disabled debug line costs a
 * compare. Never log personal data (identifier values, traits): log keyed hashes or counts. */
#ifndef C360_LOG_H
#define C360_LOG_H

enum { C360_LOG_DEBUG = 0, C360_LOG_INFO = 1, C360_LOG_WARN = 2, C360_LOG_ERROR = 3 };

extern int c360_log_level;
int c360_log_level_parse(const char *s); /* "debug".."error" -> level, -1 if unknown */
void c360_log_write(int level, const char *msg, const char *fields_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define C360_LOG(lvl, msg, ...) \
    do { if ((lvl) >= c360_log_level) c360_log_write((lvl), (msg), __VA_ARGS__); } while (0)
#define LOG_DEBUG(msg, ...) C360_LOG(C360_LOG_DEBUG, msg, __VA_ARGS__)
#define LOG_INFO(msg, ...)  C360_LOG(C360_LOG_INFO, msg, __VA_ARGS__)
#define LOG_WARN(msg, ...)  C360_LOG(C360_LOG_WARN, msg, __VA_ARGS__)
#define LOG_ERROR(msg, ...) C360_LOG(C360_LOG_ERROR, msg, __VA_ARGS__)

#endif
