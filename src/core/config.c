/* config.c -- the settings table, YAML loading (libyaml) and flag parsing. See config.h. */
#include "core/config.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <strings.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef enum { T_STR, T_INT, T_DURATION, T_SIZE, T_BOOL, T_LIST, T_MAP, T_LINES } opt_type;

typedef struct {
    const char *name;     /* YAML path, dotted */
    opt_type type;
    size_t offset;
    const char *def;
    const char *help;
} opt_def;

#define OFF(f) offsetof(c360_config, f)
static const opt_def opts[] = {
    {"listen", T_STR, OFF(listen), "127.0.0.1:8360", "HTTP listen address, HOST:PORT"},
    {"data_dir", T_STR, OFF(data_dir), "./c360-data", "directory of the embedded RocksDB store"},
    {"write_key", T_STR, OFF(write_key), "", "quick-start ingest key (also C360_WRITE_KEY)"},
    {"admin_key", T_STR, OFF(admin_key), "", "quick-start admin key (also C360_ADMIN_KEY)"},
    {"cors_origin", T_STR, OFF(cors_origin), "*",
     "Access-Control-Allow-Origin on the tracking endpoints (/v1/track ..., /v1/t ...), so that Segment's browser library "
     "(analytics.js) can send from web pages on other origins; an origin such as https://shop.example.com, or empty for none"},
    {"log_level", T_STR, OFF(log_level), "info", "debug, info, warn or error"},
    {"threads", T_INT, OFF(threads), "2", "HTTP event-loop threads (profile reads run on them)"},
    {"partitions", T_INT, OFF(partitions), "64",
     "key-space partitions, fixed when the data dir is created (future Kafka partitions)"},
    {"dedup_window", T_DURATION, OFF(dedup_window_ms), "24h", "duplicate messageIds are dropped within this window"},
    {"max_event_bytes", T_SIZE, OFF(max_event_bytes), "32KB", "largest accepted event"},
    {"max_batch_bytes", T_SIZE, OFF(max_batch_bytes), "500KB", "largest accepted /v1/batch body"},
    {"retention", T_DURATION, OFF(retention_ms), "0", "raw events older than this (by event time) are removed; 0 keeps them"},
    {"alert_retention", T_DURATION, OFF(alert_retention_ms), "90d",
     "fraud alerts leave the recent-alerts list (console overview) this long after they were raised, and are removed; 0 keeps them"},
    {"queue_max_events", T_INT, OFF(queue_max_events), "200000",
     "events accepted but not yet written; beyond it ingest answers 429 overloaded (back-pressure)"},
    {"ingest_nice", T_INT, OFF(ingest_nice), "19",
     "nice value (0-19) of the threads that apply ingest (writer, ingest parser; RocksDB flush and compaction then run at 19), so that "
     "reads win the CPU while ingest runs flat out; 0 = same priority as reads"},
    {"block_cache", T_SIZE, OFF(block_cache_bytes), "256MB", "RocksDB block cache"},
    {"warm_cache", T_BOOL, OFF(warm_cache), "true",
     "at start (serve, load), read the store's identities, profiles and feature state into the page cache (up to a quarter "
     "of the memory) and the block cache (until it is half full), in the background, so that the first lookups do not go to the disk"},
    {"sync", T_BOOL, OFF(sync), "true", "fsync the write-ahead log before acknowledging (an ack means durable)"},
    {"load_checkpoint", T_DURATION, OFF(load_checkpoint_ms), "1s",
     "c360 load writes no write-ahead log: at the end of a source object, if this long has passed since the last time, it "
     "flushes what it loaded into table files, so a crash redoes at most this much loading plus the unfinished objects; "
     "0 = at every object's end"},
    {"phone_country_code", T_STR, OFF(phone_country_code), "1", "country calling code added to national phone numbers"},
    {"identity.priority", T_LIST, OFF(id_priority), "user_id,email,phone,*,anonymous_id",
     "identifier types by priority, highest first; '*' stands for every other type"},
    {"identity.limits", T_MAP, OFF(id_limits), "user_id=1,*=5",
     "most values of one identifier type a profile may hold; '*' for other types"},
    {"identity.blocked_values", T_LIST, OFF(id_blocked_values),
     ",null,undefined,anonymous,0,-1,none,nil,unknown,n/a,test@test.com",
     "identifier values never used for matching (compared case-insensitively)"},
    {"identity.blocked_patterns", T_LINES, OFF(id_blocked_patterns), "",
     "POSIX extended regexes (a YAML list; one per line in a flag); matching identifier values are never used"},
    {"identity.max_identities", T_INT, OFF(id_max_identities), "100", "most identifiers on one profile"},
    {"identity.max_merges", T_INT, OFF(id_max_merges), "50", "most profiles merged into one profile"},
    {"erasure_suppress", T_BOOL, OFF(erasure_suppress), "true",
     "after an erasure, drop later events that carry the erased identifiers (false: accept them as a new customer)"},
    {"inactive_erase", T_DURATION, OFF(inactive_erase_ms), "0",
     "erase customers whose last event is older than this (checked hourly and at start); 0 = never"},
    {"tls_cert", T_STR, OFF(tls_cert), "", "PEM certificate chain; with tls_key the server speaks HTTPS only"},
    {"tls_key", T_STR, OFF(tls_key), "", "PEM private key for tls_cert"},
    {"kafka.brokers", T_STR, OFF(kafka_brokers), "", "Kafka bootstrap servers; set = consume kafka.topics (also --kafka)"},
    {"kafka.topics", T_MAP, OFF(kafka_topics), "",
     "topics to consume: a list of names (Segment JSON) or a map topic -> mapping name, debezium:customers, "
     "debezium:orders or debezium:TABLE:MAPPING (docs/SOURCES.md)"},
    {"kafka.group", T_STR, OFF(kafka_group), "c360", "Kafka consumer group (members share partitions; docs/SOURCES.md)"},
    {"kafka.dlq_topic", T_STR, OFF(kafka_dlq_topic), "", "dead-letter topic for messages that do not parse or map; empty = count, log and skip"},
    {"kafka.sink_topic", T_STR, OFF(kafka_sink_topic), "", "topic receiving every profile change keyed by customer id; empty = no sink"},
    {"kafka.properties", T_MAP, OFF(kafka_properties), "",
     "librdkafka settings passed through to consumer and producers (security.protocol, sasl.*, ssl.*)"},
    {"kafka.cdc_delete", T_STR, OFF(kafka_cdc_delete), "clear",
     "a CDC delete of a customers row: clear (null the row's traits) or erase (erase the customer)"},
    {"postgres.conninfo", T_STR, OFF(postgres_conninfo), "",
     "libpq connection string of a PostgreSQL database; set = stream postgres.tables by logical replication (also --postgres)"},
    {"postgres.slot", T_STR, OFF(postgres_slot), "c360",
     "logical replication slot (pgoutput), created if missing; lowercase letters, digits and _"},
    {"postgres.publication", T_STR, OFF(postgres_publication), "c360",
     "publication to subscribe to (CREATE PUBLICATION ... FOR TABLE ...); lowercase letters, digits and _"},
    {"postgres.tables", T_MAP, OFF(postgres_tables), "customers=customers,orders=orders",
     "table ([schema.]name) -> customers, orders, or customers:MAPPING / orders:MAPPING (docs/SOURCES.md)"},
    {"postgres.cdc_delete", T_STR, OFF(postgres_cdc_delete), "clear",
     "a delete of a customers row: clear (null the row's traits) or erase (erase the customer)"},
    {"postgres.snapshot", T_STR, OFF(postgres_snapshot), "initial",
     "initial: a new slot starts with every row of the configured tables, read at the slot's snapshot; never: changes only"},
};
#define NOPTS (sizeof opts / sizeof opts[0])

static const opt_def *find_opt(const char *name)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strcmp(opts[i].name, name) == 0) return &opts[i];
    return NULL;
}

int c360_parse_duration_ms(const char *s, int64_t *out)
{
    char *end;
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return -1;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    while (isspace((unsigned char)*end)) end++;
    double mult;
    if (!*end || !strcmp(end, "s")) mult = 1000;
    else if (!strcmp(end, "ms")) mult = 1;
    else if (!strcmp(end, "m") || !strcmp(end, "min")) mult = 60e3;
    else if (!strcmp(end, "h")) mult = 3600e3;
    else if (!strcmp(end, "d")) mult = 86400e3;
    else if (!strcmp(end, "w")) mult = 7 * 86400e3;
    else return -1;
    if (!isfinite(v) || v * mult >= 9.2e18) return -1; /* nan, inf, beyond int64 */
    *out = (int64_t)(v * mult);
    return 0;
}

int c360_parse_size(const char *s, int64_t *out)
{
    char *end;
    while (isspace((unsigned char)*s)) s++;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    while (isspace((unsigned char)*end)) end++;
    double mult = 1;
    if (!*end || !strcasecmp(end, "b")) mult = 1;
    else if (!strcasecmp(end, "kb") || !strcasecmp(end, "k") || !strcasecmp(end, "kib")) mult = 1024;
    else if (!strcasecmp(end, "mb") || !strcasecmp(end, "m") || !strcasecmp(end, "mib")) mult = 1024 * 1024;
    else if (!strcasecmp(end, "gb") || !strcasecmp(end, "g") || !strcasecmp(end, "gib")) mult = 1024.0 * 1024 * 1024;
    else return -1;
    if (!isfinite(v) || v * mult >= 9.2e18) return -1;
    *out = (int64_t)(v * mult);
    return 0;
}

static int set_opt(c360_config *c, const opt_def *o, const char *v, char *err, size_t errlen)
{
    void *field = (char *)c + o->offset;
    int64_t n;
    switch (o->type) {
    case T_STR:
    case T_LIST:
    case T_MAP:
    case T_LINES:
        free(*(char **)field);
        *(char **)field = xstrdup(v);
        return 0;
    case T_INT: {
        char *end;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || x < 0) goto bad;
        *(int64_t *)field = x;
        return 0;
    }
    case T_DURATION:
        if (c360_parse_duration_ms(v, &n)) goto bad;
        *(int64_t *)field = n;
        return 0;
    case T_SIZE:
        if (c360_parse_size(v, &n)) goto bad;
        *(int64_t *)field = n;
        return 0;
    case T_BOOL:
        if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") || !strcasecmp(v, "on"))
            *(int64_t *)field = 1;
        else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0") || !strcasecmp(v, "off"))
            *(int64_t *)field = 0;
        else goto bad;
        return 0;
    }
bad:
    snprintf(err, errlen, "invalid value '%s' for %s", v, o->name);
    return -1;
}

void c360_config_defaults(c360_config *c)
{
    memset(c, 0, sizeof *c);
    char err[128];
    for (size_t i = 0; i < NOPTS; i++) set_opt(c, &opts[i], opts[i].def, err, sizeof err);
}

void c360_config_release(c360_config *c)
{
    free(c->config_file);
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].type == T_STR || opts[i].type == T_LIST || opts[i].type == T_MAP || opts[i].type == T_LINES)
            free(*(char **)((char *)c + opts[i].offset));
    memset(c, 0, sizeof *c);
}

int c360_config_set(c360_config *c, const char *name, const char *value, char *err, size_t errlen)
{
    const opt_def *o = find_opt(name);
    if (!o) {
        snprintf(err, errlen, "unknown setting '%s' (see `c360 config`)", name);
        return -1;
    }
    return set_opt(c, o, value, err, errlen);
}

void c360_config_env(c360_config *c)
{
    const char *w = getenv("C360_WRITE_KEY"), *a = getenv("C360_ADMIN_KEY");
    char err[64];
    if (w && *w) c360_config_set(c, "write_key", w, err, sizeof err);
    if (a && *a) c360_config_set(c, "admin_key", a, err, sizeof err);
}

/* ---- YAML: a mapping tree flattened into dotted names; sequences become comma lists and
 * mappings under a T_MAP option become "k=v" lists. ---- */

typedef struct {
    yaml_parser_t p;
    c360_config *c;
    char *err;
    size_t errlen;
} yctx;

static int y_next(yctx *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->p, ev)) {
        snprintf(y->err, y->errlen, "YAML error at line %zu: %s", y->p.problem_mark.line + 1,
                 y->p.problem ? y->p.problem : "syntax");
        return -1;
    }
    return 0;
}

/* Reads a value (scalar, sequence of scalars, or mapping of scalars) into a flat string; sequence
 * items are joined with `sep`. */
static int y_flat_value(yctx *y, yaml_event_t *first, strbuf *out, int *is_map, char sep)
{
    *is_map = 0;
    if (first->type == YAML_SCALAR_EVENT) {
        sb_add(out, first->data.scalar.value, first->data.scalar.length);
        return 0;
    }
    int seq = first->type == YAML_SEQUENCE_START_EVENT;
    *is_map = !seq;
    int n = 0, key = 1;
    for (;;) {
        yaml_event_t ev;
        if (y_next(y, &ev)) return -1;
        if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&ev);
            snprintf(y->err, y->errlen, "YAML: nested structure not allowed here (line %zu)",
                     y->p.mark.line + 1);
            return -1;
        }
        if (seq || key) {
            if (n++) sb_addc(out, seq ? sep : ',');
        } else {
            sb_addc(out, '=');
        }
        sb_add(out, ev.data.scalar.value, ev.data.scalar.length);
        key = !key;
        yaml_event_delete(&ev);
    }
}

/* Top-level sections with their own structure, read by the module that owns them (with
 * c360_config.config_file): the flat settings loader skips them. */
static const char *const owned_sections[] = {"features", "segments", "fraud", "recommendations", "privacy",
                                              "roles", "mappings", "sources", NULL};

static int owned_section(const char *name)
{
    for (int i = 0; owned_sections[i]; i++)
        if (!strcmp(owned_sections[i], name)) return 1;
    return 0;
}

/* Consumes the rest of a node whose start event was already read. */
static int y_skip(yctx *y, yaml_event_t *start)
{
    if (start->type != YAML_MAPPING_START_EVENT && start->type != YAML_SEQUENCE_START_EVENT) return 0;
    int depth = 1;
    while (depth > 0) {
        yaml_event_t ev;
        if (y_next(y, &ev)) return -1;
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) depth++;
        else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) depth--;
        yaml_event_delete(&ev);
    }
    return 0;
}

static int y_mapping(yctx *y, const char *prefix)
{
    for (;;) {
        yaml_event_t kev;
        if (y_next(y, &kev)) return -1;
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            return 0;
        }
        if (kev.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&kev);
            snprintf(y->err, y->errlen, "YAML: expected a setting name at line %zu", y->p.mark.line + 1);
            return -1;
        }
        strbuf name = STRBUF_INIT;
        if (*prefix) { sb_adds(&name, prefix); sb_addc(&name, '.'); }
        sb_add(&name, kev.data.scalar.value, kev.data.scalar.length);
        yaml_event_delete(&kev);
        yaml_event_t vev;
        if (y_next(y, &vev)) { sb_release(&name); return -1; }
        const opt_def *o = find_opt(name.buf);
        int rc = 0;
        if (!*prefix && owned_section(name.buf)) {
            rc = y_skip(y, &vev);
        } else if (vev.type == YAML_MAPPING_START_EVENT && (!o || o->type != T_MAP)) {
            rc = y_mapping(y, name.buf);
        } else if (!o) {
            snprintf(y->err, y->errlen, "unknown setting '%s' in config file (line %zu)", name.buf,
                     y->p.mark.line + 1);
            rc = -1;
        } else {
            strbuf v = STRBUF_INIT;
            int is_map;
            rc = y_flat_value(y, &vev, &v, &is_map, o->type == T_LINES ? '\n' : ',');
            if (rc == 0) rc = set_opt(y->c, o, v.buf, y->err, y->errlen);
            sb_release(&v);
        }
        yaml_event_delete(&vev);
        sb_release(&name);
        if (rc) return rc;
    }
}

int c360_config_load_yaml(c360_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    yctx y = {.c = c, .err = err, .errlen = errlen};
    free(c->config_file);
    c->config_file = xstrdup(path);
    yaml_parser_initialize(&y.p);
    yaml_parser_set_input_file(&y.p, f);
    int rc = 0, done = 0;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (y_next(&y, &ev)) { rc = -1; break; }
        if (ev.type == YAML_MAPPING_START_EVENT) rc = y_mapping(&y, "");
        else if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) {
            snprintf(err, errlen, "config file %s: the top level must be a mapping of settings", path);
            rc = -1;
        } else if (ev.type == YAML_STREAM_END_EVENT) done = 1;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&y.p);
    fclose(f);
    return rc;
}

static void flag_name(const char *opt, char *out, size_t n)
{
    size_t i = 0;
    for (; opt[i] && i + 1 < n; i++) out[i] = (opt[i] == '.' || opt[i] == '_') ? '-' : opt[i];
    out[i] = 0;
}

int c360_config_apply_flags(c360_config *c, int *argc, char **argv, char *err, size_t errlen)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) { argv[out++] = argv[i]; continue; }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        if (nlen == 3 && !strncmp(name, "set", 3)) {
            const char *kv = eq ? eq + 1 : (i + 1 < *argc ? argv[++i] : NULL);
            const char *e2 = kv ? strchr(kv, '=') : NULL;
            if (!e2) { snprintf(err, errlen, "--set needs NAME=VALUE"); return -1; }
            char *k = xstrndup(kv, (size_t)(e2 - kv));
            int rc = c360_config_set(c, k, e2 + 1, err, errlen);
            free(k);
            if (rc) return -1;
            continue;
        }
        const opt_def *o = NULL;
        for (size_t k = 0; k < NOPTS; k++) {
            char fl[64];
            flag_name(opts[k].name, fl, sizeof fl);
            if (strlen(fl) == nlen && !strncmp(fl, name, nlen)) { o = &opts[k]; break; }
        }
        if (!o) { argv[out++] = argv[i]; continue; }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= *argc) { snprintf(err, errlen, "%s needs a value", a); return -1; }
            v = argv[++i];
        }
        if (set_opt(c, o, v, err, errlen)) return -1;
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

static const char *type_name(opt_type t)
{
    switch (t) {
    case T_STR: return "string";
    case T_INT: return "integer";
    case T_DURATION: return "duration";
    case T_SIZE: return "size";
    case T_BOOL: return "bool";
    case T_LIST: return "list";
    case T_MAP: return "map";
    case T_LINES: return "list of regexes";
    }
    return "?";
}

void c360_config_print_markdown(FILE *f)
{
    fprintf(f, "# c360 configuration\n\n"
               "Generated by `c360 config --markdown` from the settings table in `src/core/config.c`.\n\n"
               "Precedence, lowest first: defaults, the YAML file given with `--config FILE`, the environment "
               "(`C360_WRITE_KEY`, `C360_ADMIN_KEY`), flags. Every setting has a flag: its name with dots and "
               "underscores written as dashes (`identity.max_merges` → `--identity-max-merges 20`), or "
               "`--set NAME=VALUE`. In YAML, dotted names are nested mappings; lists are YAML sequences or "
               "comma-separated strings; maps are YAML mappings or `k=v,k=v` strings. Durations take "
               "`ms`, `s`, `m`, `h`, `d`, `w`; sizes take `KB`, `MB`, `GB` (powers of 1024).\n\n"
               "| setting | flag | type | default | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char fl[64];
        flag_name(opts[i].name, fl, sizeof fl);
        fprintf(f, "| `%s` | `--%s` | %s | `%s` | %s |\n", opts[i].name, fl, type_name(opts[i].type),
                opts[i].def, opts[i].help);
    }
}

void c360_config_print_flags(FILE *f)
{
    for (size_t i = 0; i < NOPTS; i++) {
        char fl[64];
        flag_name(opts[i].name, fl, sizeof fl);
        fprintf(f, "  --%-28s %s (default: %s)\n", fl, opts[i].help, *opts[i].def ? opts[i].def : "none");
    }
}

int c360_list_next(const char **p, char **item)
{
    while (*p && **p) {
        const char *s = *p, *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        *p = end ? end + 1 : s + len;
        while (len && *s == ' ') s++, len--;
        while (len && s[len - 1] == ' ') len--;
        if (len) {
            *item = xstrndup(s, len);
            return 1;
        }
    }
    return 0;
}
