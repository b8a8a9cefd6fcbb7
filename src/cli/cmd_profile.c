/* cmd_profile.c -- `c360 profile TYPE:VALUE`: print one profile as JSON, reading the store
 * read-only (works while a server runs on the same data dir). */
#include "cli/cli.h"
#include "identity/resolve.h"
#include "profile/profile.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: c360 profile [--data-dir DIR] TYPE:VALUE\n\n"
                            "Prints the unified profile for an identifier, e.g. email:ann@example.com, user_id:42,\n"
                            "anonymous_id:abc or id:c-0001000000000001.\n";

int c360_cmd_profile(int argc, char **argv)
{
    c360_config cfg;
    int r = c360_cli_config(&cfg, &argc, argv, usage);
    if (r) {
        c360_config_release(&cfg);
        return r > 0 ? 0 : 2;
    }
    int rc = 2;
    char err[512];
    c360_id_rules rules;
    c360_store *s = NULL;
    int rules_ok = 0;
    if (argc != 2) {
        fprintf(stderr, "%s", usage);
        goto out;
    }
    const char *arg = argv[1], *colon = strchr(arg, ':');
    if (!colon || colon == arg || !colon[1]) {
        fprintf(stderr, "c360 profile: identifier must be TYPE:VALUE\n");
        goto out;
    }
    if (c360_id_rules_init(&rules, &cfg, err, sizeof err)) {
        fprintf(stderr, "c360 profile: %s\n", err);
        goto out;
    }
    rules_ok = 1;
    c360_store_opts so = {.read_only = 1, .block_cache_bytes = 8 << 20};
    if (c360_store_open(&s, cfg.data_dir, &so, err, sizeof err)) {
        fprintf(stderr, "c360 profile: %s\n", err);
        goto out;
    }
    char type[C360_MAX_ID_TYPE + 1];
    uint64_t pid = 0;
    int f;
    if (c360_norm_type(arg, (size_t)(colon - arg), type)) {
        fprintf(stderr, "c360 profile: bad identifier type\n");
        goto out;
    }
    if (!strcmp(type, "id")) {
        f = c360_profile_id_parse(colon + 1, strlen(colon + 1), &pid) == 0;
        if (f) pid = c360_resolve_redirect(s, pid);
    } else {
        f = c360_lookup_ident(s, &rules, type, colon + 1, &pid);
    }
    c360_profile p;
    if (f == 1) f = c360_load_profile(s, pid, &p);
    if (f < 0) {
        fprintf(stderr, "c360 profile: store read failed\n");
        rc = 1;
        goto out;
    }
    if (f == 0) {
        fprintf(stderr, "c360 profile: no customer has %s\n", arg);
        rc = 1;
        goto out;
    }
    strbuf b = STRBUF_INIT;
    c360_profile_to_json(&p, &b);
    printf("%s\n", b.buf);
    sb_release(&b);
    c360_profile_release(&p);
    rc = 0;
out:
    c360_store_close(s);
    if (rules_ok) c360_id_rules_release(&rules);
    c360_config_release(&cfg);
    return rc;
}
