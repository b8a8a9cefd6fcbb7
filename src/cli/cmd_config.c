/* cmd_config.c -- `c360 config [--markdown]`: the settings table, as flags or as docs/CONFIG.md. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int c360_cmd_config(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--markdown")) {
        c360_config_print_markdown(stdout);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")) {
        fprintf(stderr, "usage: c360 config [--markdown]\n");
        return 2;
    }
    printf("usage: c360 config [--markdown]\n\nsettings (every command takes them as flags):\n");
    c360_config_print_flags(stdout);
    return 0;
}
