/* cmd_keys.c -- `c360 keys create|list|revoke` and `c360 audit verify`.
 * With --url (or C360_URL) they go through a running server's admin API; without it they open
 * the data dir directly (the server must be stopped). A key is printed once, at creation. */
#include "cli/cli.h"
#include "privacy/apikeys.h"
#include "privacy/audit.h"
#include "privacy/roles.h"
#include "store/store.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char keys_usage[] =
    "usage: c360 keys create --role ROLE --name NAME   (ROLE: ingest, agent, fraud, marketing, privacy, admin)\n"
    "       c360 keys list\n"
    "       c360 keys revoke NAME\n\n"
    "With --url http://HOST:PORT (or C360_URL) and --admin-key the running server is asked;\n"
    "otherwise the data dir (--data-dir) is opened directly, with the server stopped.\n";

/* takes "--flag VALUE" out of argv */
static const char *take(int *argc, char **argv, const char *flag)
{
    for (int i = 1; i + 1 < *argc; i++)
        if (!strcmp(argv[i], flag)) {
            const char *v = argv[i + 1];
            memmove(&argv[i], &argv[i + 2], sizeof(char *) * (size_t)(*argc - i - 1));
            *argc -= 2;
            return v;
        }
    return NULL;
}

int c360_cmd_keys(int argc, char **argv)
{
    const char *url = c360_cli_take_url(&argc, argv);
    const char *role = take(&argc, argv, "--role"), *name = take(&argc, argv, "--name");
    c360_config cfg;
    int r = c360_cli_config(&cfg, &argc, argv, keys_usage);
    if (r) {
        c360_config_release(&cfg);
        return r > 0 ? 0 : 2;
    }
    int rc = 2;
    char err[512];
    const char *sub = argc > 1 ? argv[1] : "";
    int create = !strcmp(sub, "create"), list = !strcmp(sub, "list"), revoke = !strcmp(sub, "revoke");
    if ((!create && !list && !revoke) || (create && (!role || !name || argc != 2)) || (list && argc != 2) ||
        (revoke && argc != 3)) {
        fprintf(stderr, "%s", keys_usage);
        goto out;
    }
    if (create && !c360_role_parse(role)) {
        fprintf(stderr, "c360 keys: unknown role '%s' (ingest, agent, fraud, marketing, privacy, admin)\n", role);
        goto out;
    }
    if (url) {
        if (!*cfg.admin_key) {
            fprintf(stderr, "c360 keys: --url needs --admin-key (or C360_ADMIN_KEY)\n");
            goto out;
        }
        strbuf body = STRBUF_INIT, resp = STRBUF_INIT, path = STRBUF_INIT;
        long status;
        const char *method = create ? "POST" : list ? "GET" : "DELETE";
        if (create) {
            sb_adds(&body, "{\"name\":");
            c360_json_put_cstr(&body, name);
            sb_adds(&body, ",\"role\":");
            c360_json_put_cstr(&body, role);
            sb_addc(&body, '}');
        }
        sb_adds(&path, "/v1/keys");
        if (revoke) sb_addf(&path, "/%s", argv[2]);
        if (c360_http_call(url, cfg.admin_key, method, path.buf, create ? body.buf : NULL, &status, &resp, err, sizeof err)) {
            fprintf(stderr, "c360 keys: %s\n", err);
            rc = 1;
        } else if (status != 200) {
            fprintf(stderr, "c360 keys: server answered %ld: %s\n", status, resp.buf);
            rc = 1;
        } else {
            printf("%s\n", resp.buf);
            rc = 0;
        }
        sb_release(&body);
        sb_release(&resp);
        sb_release(&path);
        goto out;
    }
    c360_store *s = NULL;
    c360_store_opts so = {.block_cache_bytes = 8 << 20, .partitions = cfg.partitions};
    if (c360_store_open(&s, cfg.data_dir, &so, err, sizeof err)) {
        fprintf(stderr, "c360 keys: %s%s\n", err, strstr(err, "in use") ? " (a server is running: use --url)" : "");
        rc = 1;
        goto out;
    }
    c360_audit *audit = NULL;
    c360_audit_open(&audit, cfg.data_dir, s, err, sizeof err);
    strbuf o = STRBUF_INIT;
    if (create) {
        if (c360_keys_create(s, name, c360_role_parse(role), &o, err, sizeof err)) {
            fprintf(stderr, "c360 keys: %s\n", err);
            rc = 1;
        } else {
            printf("%s\n", o.buf);
            fprintf(stderr, "c360 keys: key '%s' (%s) created; it is shown only now\n", name, role);
            strbuf d = STRBUF_INIT;
            sb_adds(&d, "{\"key_name\":");
            c360_json_put_cstr(&d, name);
            sb_addf(&d, ",\"role\":\"%s\"}", role);
            if (audit) c360_audit_log(audit, "cli", "admin", "key_create", NULL, d.buf, 1);
            sb_release(&d);
            rc = 0;
        }
    } else if (list) {
        c360_keys_list(s, &o);
        printf("%s\n", o.buf);
        rc = 0;
    } else {
        if (c360_keys_revoke(s, argv[2], err, sizeof err)) {
            fprintf(stderr, "c360 keys: %s\n", err);
            rc = 1;
        } else {
            strbuf d = STRBUF_INIT;
            sb_adds(&d, "{\"key_name\":");
            c360_json_put_cstr(&d, argv[2]);
            sb_addc(&d, '}');
            if (audit) c360_audit_log(audit, "cli", "admin", "key_revoke", NULL, d.buf, 1);
            sb_release(&d);
            fprintf(stderr, "c360 keys: key '%s' revoked\n", argv[2]);
            rc = 0;
        }
    }
    sb_release(&o);
    c360_audit_close(audit);
    c360_store_close(s);
out:
    c360_config_release(&cfg);
    return rc;
}

static const char audit_usage[] = "usage: c360 audit verify [--data-dir DIR]\n\n"
                                  "Checks the hash chain of DIR/audit.log; exit status 1 names the first bad line.\n";

int c360_cmd_audit(int argc, char **argv)
{
    c360_config cfg;
    int r = c360_cli_config(&cfg, &argc, argv, audit_usage);
    if (r) {
        c360_config_release(&cfg);
        return r > 0 ? 0 : 2;
    }
    int rc = 2;
    char err[512];
    if (argc != 2 || strcmp(argv[1], "verify")) {
        fprintf(stderr, "%s", audit_usage);
        goto out;
    }
    c360_store *s = NULL;
    c360_store_opts so = {.read_only = 1, .block_cache_bytes = 1 << 20};
    if (c360_store_open(&s, cfg.data_dir, &so, err, sizeof err)) {
        fprintf(stderr, "c360 audit: %s\n", err);
        rc = 1;
        goto out;
    }
    strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s/audit.log", cfg.data_dir);
    long lines = 0, bad = c360_audit_verify(path.buf, s, &lines, err, sizeof err);
    if (bad == 0) {
        printf("audit log intact: %ld entries\n", lines);
        rc = 0;
    } else {
        fprintf(stderr, "c360 audit: %s\n", bad < 0 ? err : err);
        rc = 1;
    }
    sb_release(&path);
    c360_store_close(s);
out:
    c360_config_release(&cfg);
    return rc;
}
