/* cli.h -- the command table and helpers shared by the `c360 <command>` implementations. */
#ifndef C360_CLI_H
#define C360_CLI_H

#include "core/config.h"

int c360_cmd_serve(int argc, char **argv);
int c360_cmd_load(int argc, char **argv);
int c360_cmd_profile(int argc, char **argv);
int c360_cmd_gen_demo(int argc, char **argv);
int c360_cmd_config(int argc, char **argv);
int c360_cmd_backup(int argc, char **argv);
int c360_cmd_restore(int argc, char **argv);

/* Loads the configuration for a command: defaults, --config FILE, environment, flags (consumed
 * from argv). Prints usage and returns 1 for --help (exit 0), -1 on error (message printed),
 * 0 otherwise. */
int c360_cli_config(c360_config *cfg, int *argc, char **argv, const char *usage);

/* Calls a running server: method, path and optional JSON body, with the key as Bearer.
 * 0 with *status and the response body, or -1 with err when the server cannot be reached. */
#include "util/strbuf.h"
int c360_http_call(const char *url, const char *key, const char *method, const char *path, const char *body,
                   long *status, strbuf *resp, char *err, size_t errlen);
/* Removes `--url URL` from argv; returns it (or $C360_URL), NULL if none. */
const char *c360_cli_take_url(int *argc, char **argv);
int c360_cmd_keys(int argc, char **argv);
int c360_cmd_audit(int argc, char **argv);
int c360_cmd_rebuild(int argc, char **argv);   /* cmd_rebuild.c (features) */

/* A progress line on stderr when it is a terminal: done/total, rate and ETA. */
typedef struct c360_progress {
    int tty;
    int64_t start_ns, last_ns;
    const char *unit;
} c360_progress;
void c360_progress_init(c360_progress *p, const char *unit);
void c360_progress_update(c360_progress *p, uint64_t items, uint64_t done_bytes, uint64_t total_bytes, int final);

#endif
