/* cli.c -- configuration loading for commands, and the terminal progress line. */
#include "cli/cli.h"
#include "util/clock.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int c360_cli_config(c360_config *cfg, int *argc, char **argv, const char *usage)
{
    char err[512];
    c360_config_defaults(cfg);
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s\nsettings (flags):\n", usage);
            c360_config_print_flags(stdout);
            printf("  --config FILE                  YAML file with the settings above\n"
                   "  --set NAME=VALUE               set any setting by name\n");
            return 1;
        }
    }
    /* --config first, so that flags override the file */
    for (int i = 1; i < *argc; i++) {
        const char *path = NULL;
        int used = 0;
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= *argc) { fprintf(stderr, "c360: --config needs a file\n"); return -1; }
            path = argv[i + 1];
            used = 2;
        } else if (!strncmp(argv[i], "--config=", 9)) {
            path = argv[i] + 9;
            used = 1;
        }
        if (!path) continue;
        if (c360_config_load_yaml(cfg, path, err, sizeof err)) {
            fprintf(stderr, "c360: %s\n", err);
            return -1;
        }
        memmove(&argv[i], &argv[i + used], sizeof(char *) * (size_t)(*argc - i - used + 1));
        *argc -= used;
        i--;
    }
    c360_config_env(cfg);
    if (c360_config_apply_flags(cfg, argc, argv, err, sizeof err)) {
        fprintf(stderr, "c360: %s\n", err);
        return -1;
    }
    int lvl = c360_log_level_parse(cfg->log_level);
    if (lvl < 0) {
        fprintf(stderr, "c360: log_level must be debug, info, warn or error\n");
        return -1;
    }
    c360_log_level = lvl;
    return 0;
}

void c360_progress_init(c360_progress *p, const char *unit)
{
    p->tty = isatty(STDERR_FILENO);
    p->start_ns = p->last_ns = c360_monotonic_ns();
    p->unit = unit;
}

void c360_progress_update(c360_progress *p, uint64_t items, uint64_t done, uint64_t total, int final)
{
    if (!p->tty) return;
    int64_t now = c360_monotonic_ns();
    if (!final && now - p->last_ns < 200000000) return;
    p->last_ns = now;
    double secs = (double)(now - p->start_ns) / 1e9;
    double rate = secs > 0 ? (double)items / secs : 0;
    char bar[31];
    double frac = total ? (double)done / (double)total : 0;
    if (frac > 1) frac = 1;
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    if (total) {
        double eta = frac > 0 ? secs / frac - secs : 0;
        fprintf(stderr, "\r[%s] %5.1f%% %llu %s  %.0f/s  ETA %02d:%02d ", bar, frac * 100, (unsigned long long)items, p->unit, rate,
                (int)eta / 60, (int)eta % 60);
    } else {
        fprintf(stderr, "\r%llu %s  %.0f/s  %.1fs ", (unsigned long long)items, p->unit, rate, secs);
    }
    if (final) fputc('\n', stderr);
    fflush(stderr);
}
