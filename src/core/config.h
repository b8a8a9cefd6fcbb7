/* config.h -- every setting of c360, declared once in a table (config.c) with its type, default
 * and description. Values come from, in increasing precedence: the table's defaults, the YAML
 * file (--config FILE), the environment (C360_WRITE_KEY, C360_ADMIN_KEY), and flags.
 * Every option NAME can be set by the flag --NAME with dots and underscores written as dashes
 * (identity.max_merges -> --identity-max-merges), or by --set NAME=VALUE.
 * docs/CONFIG.md is generated from the table by `c360 config --markdown`. */
#ifndef C360_CONFIG_H
#define C360_CONFIG_H

#include <stdint.h>
#include <stdio.h>

typedef struct c360_config {
    char *config_file;         /* the YAML file loaded, or NULL; modules read their own sections
                                * (features, segments, fraud, privacy, roles, mappings, sources) */
    char *listen;              /* HOST:PORT */
    char *data_dir;
    char *write_key;           /* quick-start ingest key (may be NULL) */
    char *cors_origin;         /* Access-Control-Allow-Origin of the tracking endpoints; "" = none */
    char *admin_key;           /* quick-start admin key (may be NULL) */
    char *log_level;
    int64_t threads;           /* HTTP event-loop threads */
    int64_t partitions;        /* key-space partitions; fixed when the data dir is created */
    int64_t dedup_window_ms;
    int64_t max_event_bytes;
    int64_t max_batch_bytes;
    int64_t retention_ms;      /* raw-event retention; 0 = keep forever */
    int64_t alert_retention_ms; /* recent-alerts index retention; 0 = keep forever */
    int64_t queue_max_events;  /* ingest back-pressure: events waiting for the writer */
    int64_t ingest_nice;       /* nice value of the ingest threads (reads first) */
    int64_t block_cache_bytes;
    int64_t sync;              /* 1 = fsync the WAL before acknowledging (default) */
    int64_t load_checkpoint_ms; /* c360 load: finished objects made durable at least this often */
    int64_t warm_cache;        /* 1 = read the main column family into the caches at open (default) */
    char *phone_country_code;  /* default country calling code for national numbers */
    char *id_priority;         /* comma list, highest priority first */
    char *id_limits;           /* "user_id=1,*=5" */
    char *id_blocked_values;   /* comma list */
    char *id_blocked_patterns; /* comma list of POSIX extended regexes */
    int64_t id_max_identities; /* cap on identifiers per profile */
    int64_t id_max_merges;     /* cap on merges into one profile */
    int64_t erasure_suppress;  /* 1: events with an erased customer's identifiers are dropped */
    int64_t inactive_erase_ms; /* erase profiles inactive this long; 0 = never */
    char *tls_cert;            /* PEM files; both set = HTTPS */
    char *tls_key;
    char *kafka_brokers;       /* Kafka source and sink (sources/kafka_source.c, sources/sink.c) */
    char *kafka_topics;        /* "topic[=spec],..." (docs/SOURCES.md) */
    char *kafka_group;
    char *kafka_dlq_topic;
    char *kafka_sink_topic;
    char *kafka_properties;    /* librdkafka settings passed through: "k=v,k=v" */
    char *kafka_cdc_delete;    /* "clear" or "erase" */
    char *postgres_conninfo;   /* PostgreSQL source (sources/pg_replication.c): libpq conninfo */
    char *postgres_slot;       /* logical replication slot (created if missing) */
    char *postgres_publication;
    char *postgres_tables;     /* "table=customers|orders[:MAPPING],..." */
    char *postgres_cdc_delete; /* "clear" or "erase" */
    char *postgres_snapshot;   /* "initial" or "never" */
} c360_config;

void c360_config_defaults(c360_config *c);
void c360_config_release(c360_config *c);
/* Each returns 0, or -1 with a message in err. */
int c360_config_load_yaml(c360_config *c, const char *path, char *err, size_t errlen);
int c360_config_set(c360_config *c, const char *name, const char *value, char *err, size_t errlen);
/* Consumes recognised --flags from argv (in place); returns 0 or -1 with err set. */
int c360_config_apply_flags(c360_config *c, int *argc, char **argv, char *err, size_t errlen);
void c360_config_env(c360_config *c);
void c360_config_print_markdown(FILE *f);
void c360_config_print_flags(FILE *f);
/* Parses "24h", "30d", "500ms", "90s", "15m", "1w" (bare number = seconds). */
int c360_parse_duration_ms(const char *s, int64_t *out);
/* Parses "32KB", "500kb", "1MiB", "4096". */
int c360_parse_size(const char *s, int64_t *out);
/* Walks a comma-separated setting ("a=1, b=2,c"): *item gets a copy of the next non-empty item,
 * spaces around it trimmed (free it); 1 while there is one, 0 at the end. *p advances. */
int c360_list_next(const char **p, char **item);

#endif
