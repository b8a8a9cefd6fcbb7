/* cmd_backup.c -- `c360 backup DIR` and `c360 restore BACKUP`.
 *
 * backup: with --url (or C360_URL), asks the running server for a checkpoint
 * (POST /v1/admin/backup, admin key), so serving and ingest go on; without it, opens the data
 * dir itself (no server may be running) and checkpoints it. Either way the copy is consistent:
 * every write acknowledged before the backup began is in it.
 * restore: copies a backup into an empty (or, with --force, replaced) data dir and checks that
 * the result opens as a c360 store. The server must be stopped. */
#include "cli/cli.h"
#include "store/store.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char backup_usage[] =
    "usage: c360 backup [--url http://HOST:PORT --admin-key KEY] [--data-dir DIR] BACKUP_DIR\n\n"
    "Takes a consistent copy of the store into BACKUP_DIR (which must not exist).\n"
    "With --url (or C360_URL) the running server makes the copy while it keeps serving;\n"
    "without it the data dir is opened directly (the server must be stopped).\n";

static const char restore_usage[] =
    "usage: c360 restore [--data-dir DIR] [--force] BACKUP_DIR\n\n"
    "Restores a backup into the data dir, which must be empty or absent (--force moves an\n"
    "existing one aside to DIR.replaced-<time>). The server must be stopped.\n";

static int absolute(const char *path, char *out, size_t n)
{
    if (path[0] == '/') return (size_t)snprintf(out, n, "%s", path) < n ? 0 : -1;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return -1;
    return (size_t)snprintf(out, n, "%s/%s", cwd, path) < n ? 0 : -1;
}

static int backup_via_server(const char *url, const char *key, const char *dir)
{
    char abs[PATH_MAX], err[512];
    if (absolute(dir, abs, sizeof abs)) {
        fprintf(stderr, "c360 backup: cannot resolve %s\n", dir);
        return 2;
    }
    strbuf body = STRBUF_INIT, resp = STRBUF_INIT;
    sb_adds(&body, "{\"dir\":");
    c360_json_put_cstr(&body, abs);
    sb_addc(&body, '}');
    long status;
    int rc = 0;
    if (c360_http_call(url, key, "POST", "/v1/admin/backup", body.buf, &status, &resp, err, sizeof err)) {
        fprintf(stderr, "c360 backup: %s\n", err);
        rc = 1;
    } else if (status != 200) {
        fprintf(stderr, "c360 backup: server answered %ld: %s\n", status, resp.buf);
        rc = 1;
    } else {
        printf("%s\n", resp.buf);
    }
    sb_release(&body);
    sb_release(&resp);
    return rc;
}

int c360_cmd_backup(int argc, char **argv)
{
    c360_config cfg;
    const char *url = c360_cli_take_url(&argc, argv);
    int r = c360_cli_config(&cfg, &argc, argv, backup_usage);
    if (r) {
        c360_config_release(&cfg);
        return r > 0 ? 0 : 2;
    }
    int rc = 2;
    if (argc != 2) {
        fprintf(stderr, "%s", backup_usage);
        goto out;
    }
    struct stat st;
    if (stat(argv[1], &st) == 0) {
        fprintf(stderr, "c360 backup: %s already exists; give a new path\n", argv[1]);
        goto out;
    }
    if (url && *url) {
        if (!*cfg.admin_key) {
            fprintf(stderr, "c360 backup: --url needs --admin-key (or C360_ADMIN_KEY)\n");
            goto out;
        }
        rc = backup_via_server(url, cfg.admin_key, argv[1]);
        goto out;
    }
    char err[512];
    c360_store *s = NULL;
    c360_store_opts so = {.block_cache_bytes = 8 << 20};
    if (c360_store_open(&s, cfg.data_dir, &so, err, sizeof err)) {
        fprintf(stderr, "c360 backup: %s%s\n", err,
                strstr(err, "in use") ? " (a server is running: use --url to back it up while it serves)" : "");
        rc = 1;
        goto out;
    }
    rc = c360_store_checkpoint(s, argv[1], err, sizeof err) ? 1 : 0;
    if (rc) fprintf(stderr, "c360 backup: %s\n", err);
    else fprintf(stderr, "c360 backup: %s -> %s\n", cfg.data_dir, argv[1]);
    c360_store_close(s);
out:
    c360_config_release(&cfg);
    return rc;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC), outfd = -1, rc = -1;
    if (in < 0) return -1;
    outfd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (outfd < 0) goto done;
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) goto done;
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(outfd, buf + off, (size_t)(n - off));
            if (w < 0) goto done;
            off += w;
        }
    }
    rc = fsync(outfd);
done:
    if (in >= 0) close(in);
    if (outfd >= 0 && close(outfd) != 0) rc = -1;
    return rc;
}

int c360_cmd_restore(int argc, char **argv)
{
    c360_config cfg;
    int force = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--force")) {
            force = 1;
            memmove(&argv[i], &argv[i + 1], sizeof(char *) * (size_t)(argc - i));
            argc--;
            i--;
        }
    int r = c360_cli_config(&cfg, &argc, argv, restore_usage);
    if (r) {
        c360_config_release(&cfg);
        return r > 0 ? 0 : 2;
    }
    int rc = 2;
    char err[512];
    DIR *d = NULL;
    if (argc != 2) {
        fprintf(stderr, "%s", restore_usage);
        goto out;
    }
    const char *src = argv[1], *dst = cfg.data_dir;
    /* the backup must itself be a c360 store */
    c360_store *probe = NULL;
    c360_store_opts ro = {.read_only = 1, .block_cache_bytes = 1 << 20};
    if (c360_store_open(&probe, src, &ro, err, sizeof err)) {
        fprintf(stderr, "c360 restore: %s is not a usable backup: %s\n", src, err);
        goto out;
    }
    c360_store_close(probe);
    struct stat st;
    if (stat(dst, &st) == 0) {
        DIR *dd = opendir(dst);
        int empty = 1;
        struct dirent *e;
        while (dd && (e = readdir(dd)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
        if (dd) closedir(dd);
        if (!empty && !force) {
            fprintf(stderr, "c360 restore: %s is not empty; stop the server and use --force to replace it\n", dst);
            goto out;
        }
        if (!empty) {
            char aside[PATH_MAX];
            if ((size_t)snprintf(aside, sizeof aside, "%s.replaced-%ld", dst, (long)time(NULL)) >= sizeof aside ||
                rename(dst, aside)) {
                fprintf(stderr, "c360 restore: cannot move %s aside: %s\n", dst, strerror(errno));
                rc = 1;
                goto out;
            }
            fprintf(stderr, "c360 restore: the old data dir is now %s\n", aside);
        }
    }
    if (mkdir(dst, 0700) && errno != EEXIST) {
        fprintf(stderr, "c360 restore: cannot create %s: %s\n", dst, strerror(errno));
        rc = 1;
        goto out;
    }
    d = opendir(src);
    if (!d) {
        fprintf(stderr, "c360 restore: cannot read %s: %s\n", src, strerror(errno));
        rc = 1;
        goto out;
    }
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char from[PATH_MAX], to[PATH_MAX];
        if ((size_t)snprintf(from, sizeof from, "%s/%s", src, e->d_name) >= sizeof from ||
            (size_t)snprintf(to, sizeof to, "%s/%s", dst, e->d_name) >= sizeof to || copy_file(from, to)) {
            fprintf(stderr, "c360 restore: copying %s failed: %s\n", from, strerror(errno));
            rc = 1;
            goto out;
        }
        files++;
    }
    c360_store *check = NULL;
    c360_store_opts co = {.block_cache_bytes = 1 << 20};
    if (c360_store_open(&check, dst, &co, err, sizeof err)) {
        fprintf(stderr, "c360 restore: restored store does not open: %s\n", err);
        rc = 1;
        goto out;
    }
    c360_store_close(check);
    fprintf(stderr, "c360 restore: %d files from %s into %s\n", files, src, dst);
    rc = 0;
out:
    if (d) closedir(d);
    c360_config_release(&cfg);
    return rc;
}
