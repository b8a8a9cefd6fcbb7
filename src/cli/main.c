/* main.c -- `c360 <command>`: dispatch to the command implementations (cmd_*.c). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"serve", c360_cmd_serve, "run the server (HTTP ingest and profile API) on the embedded store"},
    {"load", c360_cmd_load, "load NDJSON Segment events from a file or stdin straight into the store"},
    {"profile", c360_cmd_profile, "print the profile of TYPE:VALUE from the store"},
    {"gen-demo", c360_cmd_gen_demo, "write a deterministic demo grocery shop as NDJSON events"},
    {"backup", c360_cmd_backup, "take a consistent copy of the store (from a running server with --url)"},
    {"restore", c360_cmd_restore, "restore a backup into a data dir (server stopped)"},
    {"keys", c360_cmd_keys, "create, list and revoke API keys with roles"},
    {"audit", c360_cmd_audit, "verify the audit log's hash chain"},
    {"rebuild", c360_cmd_rebuild, "recompute computed features from the stored events (server stopped)"},
    {"config", c360_cmd_config, "print the settings, their defaults and flags (--markdown for docs)"},
};

static void usage(FILE *f)
{
    fprintf(f, "c360 - real-time Customer 360 engine\n\nusage: c360 <command> [options]   (c360 <command> --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "c360: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
