/* kafka_source.c -- consumer thread, batching into engine jobs with their offsets, rebalances,
 * back-pressure, dead letters and the lag gauge. See kafka_source.h. */
#include "sources/kafka_source.h"
#include "engine/inflight.h"
#include "sources/kafka_conf.h"
#include "sources/kafka_topics.h"
#include "sources/segment.h"
#include "identity/resolve.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sched.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX 2000      /* messages per engine job */
#define MAX_INFLIGHT 4      /* jobs handed to the engine and not yet answered */
#define COMMIT_EVERY_MS 1000 /* durable offsets reach the group at most this often (and on revoke) */

typedef struct kpart {
    char *topic;
    int32_t part;
    int64_t durable;        /* next offset known durable in the store; -1 unknown */
    int assigned;
    int dirty;              /* durable moved since the last commit to Kafka */
} kpart;

typedef struct koff { char *topic; int32_t part; int64_t next; } koff;

typedef struct kjob {
    c360_job job;
    c360_event *evs;
    int n, cap;
    koff *offs;
    int noffs;
    c360_kv *kv;
    unsigned char (*vals)[8];
    char **keys;
    int nmsgs;
    int dlq;                /* dead letters produced: flush them before the offsets are stored */
} kjob;

struct c360_kafka_source {
    c360_kafka_deps d;
    c360_segment_ctx cx;
    c360_ktopic *topics;
    int ntopics;
    c360_mappings *maps;
    c360_cdc_delete_mode del;
    rd_kafka_t *rk;          /* consumer */
    rd_kafka_t *dlq;         /* dead-letter producer (NULL: none) */
    rd_kafka_topic_t *dlq_topic;
    pthread_t th;
    int started;
    _Atomic int stop;
    pthread_mutex_t mu;      /* guards parts (the lag gauge and commit callbacks read them) */
    c360_inflight q;         /* jobs in the engine, their answers (reaped on the consumer thread) */
    int rewind;              /* a job failed: rewind to the stored offsets */
    kpart *parts;
    int nparts;
    kjob *cur;               /* the batch being filled */
    int paused;
    int64_t last_commit_ms;
    _Atomic int steady;      /* the group is not rebalancing (statistics): commits are safe */
};

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* ---- stored offsets ---- */

static size_t offset_key(char *buf, const char *topic, int32_t part)
{
    size_t tl = strlen(topic);
    buf[0] = 'O';
    memcpy(buf + 1, topic, tl);
    buf[1 + tl] = 0;
    unsigned char p[4] = {(unsigned char)(part >> 24), (unsigned char)(part >> 16), (unsigned char)(part >> 8), (unsigned char)part};
    memcpy(buf + 2 + tl, p, 4);
    return tl + 6;
}

/* next offset stored for a partition, or -1 */
static int64_t stored_offset(c360_kafka_source *k, const char *topic, int32_t part)
{
    char key[300];
    if (strlen(topic) > 255) return -1;
    size_t kl = offset_key(key, topic, part);
    strbuf v = STRBUF_INIT;
    int64_t r = -1;
    if (c360_store_get(k->d.store, key, kl, &v) == 1 && v.len == 8) r = (int64_t)c360_get_u64be((unsigned char *)v.buf);
    sb_release(&v);
    return r;
}

/* ---- partitions (under k->mu) ---- */

static kpart *part_get(c360_kafka_source *k, const char *topic, int32_t part)
{
    for (int i = 0; i < k->nparts; i++)
        if (k->parts[i].part == part && !strcmp(k->parts[i].topic, topic)) return &k->parts[i];
    k->parts = xrealloc(k->parts, sizeof *k->parts * (size_t)(k->nparts + 1));
    kpart *p = &k->parts[k->nparts++];
    memset(p, 0, sizeof *p);
    p->topic = xstrdup(topic);
    p->part = part;
    p->durable = -1;
    return p;
}

/* ---- jobs ---- */

static void job_free(kjob *j)
{
    if (!j) return;
    c360_events_free(j->evs, j->n);
    for (int i = 0; i < j->noffs; i++) free(j->offs[i].topic);
    for (int i = 0; j->keys && i < j->noffs; i++) free(j->keys[i]);
    free(j->offs);
    free(j->kv);
    free(j->vals);
    free(j->keys);
    free(j);
}

static void job_note_offset(kjob *j, const char *topic, int32_t part, int64_t next)
{
    for (int i = 0; i < j->noffs; i++)
        if (j->offs[i].part == part && !strcmp(j->offs[i].topic, topic)) {
            if (next > j->offs[i].next) j->offs[i].next = next;
            return;
        }
    j->offs = xrealloc(j->offs, sizeof *j->offs * (size_t)(j->noffs + 1));
    j->offs[j->noffs++] = (koff){xstrdup(topic), part, next};
}

/* Takes the answered jobs: durable offsets move on, or a failure asks for a rewind. */
static void reap(c360_kafka_source *k)
{
    c360_job **done;
    int n = c360_inflight_take(&k->q, &done);
    pthread_mutex_lock(&k->mu);
    for (int d = 0; d < n; d++) {
        kjob *j = (kjob *)done[d];   /* job is the first member */
        if (j->job.status) {
            k->rewind = 1;
            continue;
        }
        for (int i = 0; i < j->noffs; i++) {
            kpart *p = part_get(k, j->offs[i].topic, j->offs[i].part);
            if (j->offs[i].next > p->durable) {
                p->durable = j->offs[i].next;
                p->dirty = 1;
            }
        }
    }
    pthread_mutex_unlock(&k->mu);
    for (int d = 0; d < n; d++) {
        kjob *j = (kjob *)done[d];
        if (j->job.status) LOG_WARN("kafka batch not stored; rewinding to the stored offsets", "\"code\":\"%s\"", c360_err_name(j->job.status));
        job_free(j);
    }
    free(done);
}

static void wait_idle(c360_kafka_source *k)
{
    c360_inflight_wait(&k->q);
    reap(k);
}

/* Result of a commit to Kafka (the consumer thread serves it): what did not reach the group is
 * committed again with the next commit, so the group's offsets catch up with the store. */
static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offs, void *opaque)
{
    (void)rk;
    c360_kafka_source *k = opaque;
    if (err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
        err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
        atomic_store(&k->steady, 0); /* the group is rebalancing: wait for it to settle */
    if (!offs || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    pthread_mutex_lock(&k->mu);
    for (int i = 0; i < offs->cnt; i++) {
        rd_kafka_topic_partition_t *o = &offs->elems[i];
        if (!err && !o->err) continue;
        kpart *p = part_get(k, o->topic, o->partition);
        if (p->durable >= o->offset) p->dirty = 1;
    }
    pthread_mutex_unlock(&k->mu);
}

/* librdkafka's statistics, for one thing: whether the group is settled ("join_state":"steady").
 * librdkafka 2.0.2 loses a cooperative member's assignment when a commit is answered with
 * ILLEGAL_GENERATION because a JoinGroup went first (the commit waits behind it on the
 * coordinator connection); the member then rejoins without end if commits keep coming. So the
 * periodic commits wait while the group rebalances; the revoke callback commits in a settled
 * group. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    c360_kafka_source *k = opaque;
    c360_json j;
    c360_json_init(&j);
    char e[64];
    int steady = 0;
    if (c360_json_parse(&j, json, len, e, sizeof e) == 0) {
        int js = c360_json_get(&j, c360_json_get(&j, 0, "cgrp"), "join_state");
        steady = js >= 0 && c360_json_streq(&j, js, "steady");
    }
    c360_json_release(&j);
    atomic_store(&k->steady, steady);
    return 0; /* librdkafka frees json */
}

/* Commits the durable offsets to Kafka (visibility only: the store is the source of truth). */
static void commit_kafka(c360_kafka_source *k, int sync)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    pthread_mutex_lock(&k->mu);
    for (int i = 0; i < k->nparts; i++) {
        kpart *p = &k->parts[i];
        if (!p->dirty || p->durable < 0 || !p->assigned) continue; /* never over the next owner's */
        rd_kafka_topic_partition_list_add(l, p->topic, p->part)->offset = p->durable;
        p->dirty = 0;
    }
    pthread_mutex_unlock(&k->mu);
    if (l->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit(k->rk, l, !sync);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            LOG_DEBUG("kafka offset commit failed", "\"error\":\"%s\"", rd_kafka_err2str(e));
            on_commit(k->rk, e, l, k);
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    k->last_commit_ms = c360_now_ms();
}

static rd_kafka_topic_partition_list_t *assigned_list(c360_kafka_source *k)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    pthread_mutex_lock(&k->mu);
    for (int i = 0; i < k->nparts; i++)
        if (k->parts[i].assigned) rd_kafka_topic_partition_list_add(l, k->parts[i].topic, k->parts[i].part);
    pthread_mutex_unlock(&k->mu);
    return l;
}

static void set_paused(c360_kafka_source *k, int pause)
{
    if (k->paused == pause) return;
    rd_kafka_topic_partition_list_t *l = assigned_list(k);
    if (pause) {
        rd_kafka_pause_partitions(k->rk, l);
        c360_count(&k->d.metrics->kafka_pauses, 1);
    } else {
        rd_kafka_resume_partitions(k->rk, l);
    }
    rd_kafka_topic_partition_list_destroy(l);
    k->paused = pause;
}

/* Hands the current batch to the engine. 0 sent (or nothing to send), C360_EBUSY, or another
 * error (the batch is dropped and the consumer rewinds). */
static int submit(c360_kafka_source *k)
{
    kjob *j = k->cur;
    if (!j || (j->nmsgs == 0 && j->noffs == 0)) return 0;
    if (j->dlq && k->dlq) {
        if (rd_kafka_flush(k->dlq, 10000)) LOG_ERROR("dead letters not confirmed by Kafka", "\"queued\":%d", rd_kafka_outq_len(k->dlq));
        j->dlq = 0;
    }
    if (!j->kv) {
        j->kv = xcalloc((size_t)j->noffs, sizeof *j->kv);
        j->vals = xcalloc((size_t)j->noffs, sizeof *j->vals);
        j->keys = xcalloc((size_t)j->noffs, sizeof *j->keys);
        for (int i = 0; i < j->noffs; i++) {
            j->keys[i] = xmalloc(strlen(j->offs[i].topic) + 8);
            size_t kl = offset_key(j->keys[i], j->offs[i].topic, j->offs[i].part);
            c360_put_u64be(j->vals[i], (uint64_t)j->offs[i].next);
            j->kv[i] = (c360_kv){j->keys[i], kl, j->vals[i], 8};
        }
    }
    memset(&j->job, 0, sizeof j->job);
    j->job.evs = j->evs;
    j->job.n = j->n;
    j->job.extra = j->kv;
    j->job.nextra = j->noffs;
    int rc = c360_inflight_submit(&k->q, k->d.engine, &j->job);
    if (rc) return rc;
    k->cur = NULL;
    return 0;
}

static void drop_batch(c360_kafka_source *k)
{
    job_free(k->cur);
    k->cur = NULL;
}

/* Seeks every assigned partition back to its stored offset (after a failed write). */
static void rewind_to_store(c360_kafka_source *k)
{
    drop_batch(k);
    rd_kafka_topic_partition_list_t *l = assigned_list(k);
    for (int i = 0; i < l->cnt; i++) {
        int64_t o = stored_offset(k, l->elems[i].topic, l->elems[i].partition);
        l->elems[i].offset = o >= 0 ? o : RD_KAFKA_OFFSET_BEGINNING;
        pthread_mutex_lock(&k->mu);
        part_get(k, l->elems[i].topic, l->elems[i].partition)->durable = o;
        pthread_mutex_unlock(&k->mu);
    }
    rd_kafka_error_t *e = rd_kafka_seek_partitions(k->rk, l, 5000);
    if (e) {
        LOG_ERROR("kafka rewind failed", "\"error\":\"%s\"", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
    c360_count(&k->d.metrics->kafka_rewinds, 1);
    k->rewind = 0;
}

/* ---- rebalances ---- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    c360_kafka_source *k = opaque;
    const char *proto = rd_kafka_rebalance_protocol(rk);
    int coop = proto && !strcmp(proto, "COOPERATIVE");
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* the store's offsets are the truth; the group's are ahead only if another member
         * applied those messages meanwhile (they are in its store) */
        rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
        rd_kafka_resp_err_t ce = rd_kafka_committed(rk, committed, 10000);
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *p = &parts->elems[i];
            int64_t st = stored_offset(k, p->topic, p->partition);
            int64_t co = ce ? -1 : committed->elems[i].offset;
            int64_t at = st > co ? st : co;
            p->offset = at >= 0 ? at : RD_KAFKA_OFFSET_INVALID; /* invalid: auto.offset.reset */
            pthread_mutex_lock(&k->mu);
            kpart *kp = part_get(k, p->topic, p->partition);
            kp->assigned = 1;
            kp->durable = at;
            kp->dirty = 0;
            pthread_mutex_unlock(&k->mu);
            LOG_INFO("kafka partition assigned", "\"topic\":\"%s\",\"partition\":%d,\"stored\":%lld,\"committed\":%lld",
                     p->topic, (int)p->partition, (long long)st, (long long)co);
        }
        rd_kafka_topic_partition_list_destroy(committed);
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e) {
                LOG_ERROR("kafka assign failed", "\"error\":\"%s\"", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
            if (k->paused) rd_kafka_pause_partitions(rk, parts); /* newcomers wait like the rest */
        } else {
            rd_kafka_assign(rk, parts);
            k->paused = 0;
        }
    } else {
        /* what was consumed from these partitions is written (it was ours), then its offsets are
         * committed to the group before the partitions move: the next owner starts right after */
        int rc;
        while ((rc = submit(k)) == C360_EBUSY) nap_ms(5);
        if (rc) drop_batch(k);
        wait_idle(k);
        /* a lost assignment cannot be committed (the group has moved on): the store keeps it */
        if (!rd_kafka_assignment_lost(rk)) commit_kafka(k, 1);
        pthread_mutex_lock(&k->mu);
        for (int i = 0; i < k->nparts; i++) {
            if (!coop) k->parts[i].assigned = 0;
            for (int x = 0; coop && x < parts->cnt; x++)
                if (k->parts[i].part == parts->elems[x].partition && !strcmp(k->parts[i].topic, parts->elems[x].topic))
                    k->parts[i].assigned = 0;
        }
        pthread_mutex_unlock(&k->mu);
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
            if (e) rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, NULL);
            k->paused = 0;
        }
        k->rewind = 0;
        LOG_INFO("kafka partitions revoked", "\"count\":%d", parts->cnt);
    }
}

/* ---- messages ---- */

static void dead_letter(c360_kafka_source *k, const rd_kafka_message_t *m, const char *topic, const char *why)
{
    c360_count(&k->d.metrics->kafka_dead_letters, 1);
    LOG_WARN("kafka message rejected", "\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld,\"dlq\":%s", topic, (int)m->partition,
             (long long)m->offset, k->dlq ? "true" : "false");
    if (!k->dlq) return;
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    char num[32];
    rd_kafka_header_add(h, "c360.error", -1, why, -1);
    rd_kafka_header_add(h, "c360.topic", -1, topic, -1);
    snprintf(num, sizeof num, "%d", (int)m->partition);
    rd_kafka_header_add(h, "c360.partition", -1, num, -1);
    snprintf(num, sizeof num, "%lld", (long long)m->offset);
    rd_kafka_header_add(h, "c360.offset", -1, num, -1);
    rd_kafka_resp_err_t e;
    for (int tries = 0;; tries++) {
        e = rd_kafka_producev(k->dlq, RD_KAFKA_V_RKT(k->dlq_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
                              RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 100) break;
        rd_kafka_poll(k->dlq, 10);
    }
    if (e) {
        rd_kafka_headers_destroy(h);
        LOG_ERROR("dead letter not produced", "\"error\":\"%s\"", rd_kafka_err2str(e));
        return;
    }
    k->cur->dlq = 1;
}

/* A CDC delete in erase mode: everything before it is written first, then the customer is erased. */
static void cdc_erase(c360_kafka_source *k, const char *user_id)
{
    while (submit(k) == C360_EBUSY) nap_ms(5);
    wait_idle(k);
    uint64_t pid;
    if (c360_lookup_ident(k->d.store, k->d.rules, "user_id", user_id, &pid) != 1) return; /* nothing (left) to erase */
    c360_job job = {.erase_pid = pid};
    if (c360_engine_run(k->d.engine, &job, &k->stop)) return;
    if (job.status && job.status != C360_ENOPROFILE) LOG_ERROR("CDC erasure failed", "\"code\":\"%s\"", c360_err_name(job.status));
}

static void handle(c360_kafka_source *k, rd_kafka_message_t *m, strbuf *tmp)
{
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) LOG_WARN("kafka consumer error", "\"error\":\"%s\"", rd_kafka_message_errstr(m));
        return;
    }
    c360_count(&k->d.metrics->kafka_messages, 1);
    if (!k->cur) k->cur = xcalloc(1, sizeof *k->cur);
    const char *topic = rd_kafka_topic_name(m->rkt);
    const c360_ktopic *t = c360_ktopics_find(k->topics, k->ntopics, topic);
    char place[320], idbuf[C360_SEGMENT_MID_MAX + 1], err[512];
    snprintf(place, sizeof place, "kafka-%s-%d-%lld", topic, (int)m->partition, (long long)m->offset);
    const char *mid = c360_segment_fallback_id(&k->cx, place, idbuf);
    sb_reset(tmp);
    int rc = t ? c360_ktopic_decode(t, k->del, m->payload, m->len, mid, tmp, err, sizeof err) : 1;
    if (rc < 0) {
        dead_letter(k, m, topic, err);
    } else if (rc == 2) {
        char *uid = xstrndup(tmp->buf, tmp->len);
        cdc_erase(k, uid);
        free(uid);
        if (!k->cur) k->cur = xcalloc(1, sizeof *k->cur);
    } else if (rc == 0) {
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        if (ts <= 0) ts = c360_now_ms();
        kjob *j = k->cur;
        if (j->n == j->cap) j->evs = xrealloc(j->evs, sizeof *j->evs * (size_t)(j->cap = j->cap ? j->cap * 2 : 256));
        memset(&j->evs[j->n], 0, sizeof j->evs[j->n]);
        int pr = c360_segment_parse_record(&k->cx, -1, tmp->buf, tmp->len, ts, mid, &j->evs[j->n], err, sizeof err);
        if (pr) {
            c360_event_release(&j->evs[j->n]);
            dead_letter(k, m, topic, err);
        } else {
            j->n++;
        }
    }
    k->cur->nmsgs++;
    job_note_offset(k->cur, topic, m->partition, m->offset + 1);
}

static void *consumer_main(void *arg)
{
    c360_thread_name("c360-kafka");
    c360_kafka_source *k = arg;
    strbuf tmp = STRBUF_INIT;
    k->last_commit_ms = c360_now_ms();
    while (!atomic_load(&k->stop)) {
        reap(k);
        if (k->rewind) {
            wait_idle(k);
            rewind_to_store(k);
            set_paused(k, 0);
        }
        int have = k->cur && (k->cur->nmsgs || k->cur->noffs);
        rd_kafka_message_t *m = NULL;
        if (!(have && k->cur->nmsgs >= BATCH_MAX)) {
            m = rd_kafka_consumer_poll(k->rk, k->paused ? 10 : have ? 0 : 100);
            if (m) {
                handle(k, m, &tmp);
                rd_kafka_message_destroy(m);
            }
        }
        have = k->cur && (k->cur->nmsgs || k->cur->noffs);
        if (have && (!m || k->cur->nmsgs >= BATCH_MAX)) {
            if (c360_inflight_room(&k->q, MAX_INFLIGHT, 50)) {
                int rc = submit(k);
                if (rc == C360_EBUSY) {
                    set_paused(k, 1);   /* back-pressure: stop fetching, keep the group alive */
                    rd_kafka_message_t *x = rd_kafka_consumer_poll(k->rk, 10);
                    if (x) { handle(k, x, &tmp); rd_kafka_message_destroy(x); }
                } else if (rc) {
                    k->rewind = 1;      /* shutting down or failing: forget and re-read */
                    drop_batch(k);
                } else {
                    set_paused(k, 0);
                }
            } else if (k->cur->nmsgs >= BATCH_MAX) {
                rd_kafka_message_t *x = rd_kafka_consumer_poll(k->rk, 0); /* serve rebalances */
                if (x) { handle(k, x, &tmp); rd_kafka_message_destroy(x); }
            }
        }
        /* durable offsets reach the group (async) for lag tools and a crashed member's successor;
         * the hand-over itself is the commit in the revoke callback */
        if (atomic_load(&k->steady) && c360_now_ms() - k->last_commit_ms >= COMMIT_EVERY_MS) commit_kafka(k, 0);
    }
    /* drain: the unsent batch is dropped (its offsets were never stored: re-read next time) */
    drop_batch(k);
    wait_idle(k);
    commit_kafka(k, 1);
    sb_release(&tmp);
    return NULL;
}

/* ---- lag gauge (HTTP threads, through the metrics hook) ---- */

static void render_lag(void *arg, strbuf *o)
{
    c360_kafka_source *k = arg;
    sb_adds(o, "# HELP c360_kafka_consumer_lag Messages in the partition not yet durable in the store.\n"
               "# TYPE c360_kafka_consumer_lag gauge\n");
    pthread_mutex_lock(&k->mu);
    for (int i = 0; k->rk && i < k->nparts; i++) {
        kpart *p = &k->parts[i];
        if (!p->assigned) continue;
        int64_t lo = 0, hi = 0;
        if (rd_kafka_get_watermark_offsets(k->rk, p->topic, p->part, &lo, &hi) || hi < 0) continue;
        int64_t at = p->durable >= 0 ? p->durable : lo;
        sb_adds(o, "c360_kafka_consumer_lag{topic=\"");
        for (const char *c = p->topic; *c; c++)
            if (*c != '"' && *c != '\\') sb_addc(o, *c);
        sb_addf(o, "\",partition=\"%d\"} %lld\n", (int)p->part, (long long)(hi > at ? hi - at : 0));
    }
    pthread_mutex_unlock(&k->mu);
}

/* ---- lifecycle ---- */

int c360_kafka_source_open(c360_kafka_source **out, const c360_kafka_deps *d, char *err, size_t errlen)
{
    *out = NULL;
    const c360_config *c = d->cfg;
    if (!c->kafka_topics || !*c->kafka_topics) return 0;
    if (!c->kafka_brokers || !*c->kafka_brokers) {
        snprintf(err, errlen, "kafka.topics needs kafka.brokers (--kafka HOST:PORT)");
        return -1;
    }
    c360_kafka_source *k = xcalloc(1, sizeof *k);
    k->d = *d;
    k->cx = (c360_segment_ctx){.rules = d->rules, .secret = c360_store_secret(d->store), .max_event_bytes = c->max_event_bytes,
                               .max_batch_bytes = c->max_batch_bytes};
    pthread_mutex_init(&k->mu, NULL);
    c360_inflight_init(&k->q);
    if (!strcmp(c->kafka_cdc_delete, "erase")) k->del = C360_CDC_DELETE_ERASE;
    else if (!strcmp(c->kafka_cdc_delete, "clear")) k->del = C360_CDC_DELETE_CLEAR;
    else {
        snprintf(err, errlen, "kafka.cdc_delete must be clear or erase");
        goto bad;
    }
    if (c360_ktopics_parse(c->kafka_topics, &k->topics, &k->ntopics, err, errlen)) goto bad;
    if (c360_ktopics_need_mappings(k->topics, k->ntopics)) {
        if (!c->config_file) {
            snprintf(err, errlen, "kafka.topics names mappings but there is no config file with a mappings section");
            goto bad;
        }
        if (c360_mappings_load(c->config_file, &k->maps, err, errlen)) goto bad;
    }
    if (c360_ktopics_bind(k->topics, k->ntopics, k->maps, err, errlen)) goto bad;

    rd_kafka_conf_t *conf = c360_kafka_conf(c, err, errlen);
    if (!conf) goto bad;
    if (c360_kafka_set(conf, "group.id", c->kafka_group, err, errlen) ||
        c360_kafka_set(conf, "enable.auto.commit", "false", err, errlen) ||
        c360_kafka_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
        c360_kafka_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
        c360_kafka_set(conf, "enable.partition.eof", "false", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        goto bad;
    }
    /* freshness: the broker answers a fetch as soon as there is data, or after 10 ms */
    if (!strstr(c->kafka_properties, "fetch.wait.max.ms") && c360_kafka_set(conf, "fetch.wait.max.ms", "10", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        goto bad;
    }
    /* cooperative rebalancing: a member gives up a partition after the group has settled on the
     * new assignment, so the offsets it commits while letting go are accepted (a commit sent
     * while the group is joining is refused) and the next owner starts right after them */
    if (!strstr(c->kafka_properties, "partition.assignment.strategy") &&
        c360_kafka_set(conf, "partition.assignment.strategy", "cooperative-sticky", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        goto bad;
    }
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
    if (!strstr(c->kafka_properties, "statistics.interval.ms") &&
        c360_kafka_set(conf, "statistics.interval.ms", "250", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        goto bad;
    }
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    atomic_store(&k->steady, strstr(c->kafka_properties, "statistics.interval.ms") != NULL); /* maybe no statistics */
    rd_kafka_conf_set_opaque(conf, k);
    char e[512];
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka consumer: %s", e);
        goto bad;
    }
    rd_kafka_poll_set_consumer(k->rk);
    if (c->kafka_dlq_topic && *c->kafka_dlq_topic) {
        rd_kafka_conf_t *pc = c360_kafka_conf(c, err, errlen);
        if (!pc) goto bad;
        if (c360_kafka_set(pc, "enable.idempotence", "true", err, errlen)) {
            rd_kafka_conf_destroy(pc);
            goto bad;
        }
        k->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, pc, e, sizeof e);
        if (!k->dlq) {
            rd_kafka_conf_destroy(pc);
            snprintf(err, errlen, "kafka dead-letter producer: %s", e);
            goto bad;
        }
        k->dlq_topic = rd_kafka_topic_new(k->dlq, c->kafka_dlq_topic, NULL);
    }
    k->d.metrics->render_extra_arg = k;
    k->d.metrics->render_extra = render_lag;
    *out = k;
    return 0;
bad:
    c360_kafka_source_free(k);
    return -1;
}

int c360_kafka_source_start(c360_kafka_source *k)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(k->ntopics);
    for (int i = 0; i < k->ntopics; i++) rd_kafka_topic_partition_list_add(l, k->topics[i].topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(k->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        LOG_ERROR("kafka subscribe failed", "\"error\":\"%s\"", rd_kafka_err2str(e));
        return -1;
    }
    if (pthread_create(&k->th, NULL, consumer_main, k) != 0) return -1;
    k->started = 1;
    LOG_INFO("kafka source started", "\"topics\":%d,\"group\":\"%s\"", k->ntopics, k->d.cfg->kafka_group);
    return 0;
}

void c360_kafka_source_stop(c360_kafka_source *k)
{
    if (!k || !k->started) return;
    atomic_store(&k->stop, 1);
    pthread_join(k->th, NULL);
    k->started = 0;
    /* leaving the group runs the revoke callback on this thread (nothing in flight now) */
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(k->rk);
    if (e) LOG_WARN("kafka consumer close", "\"error\":\"%s\"", rd_kafka_err2str(e));
    LOG_INFO("kafka source stopped", "%s", "");
}

void c360_kafka_source_free(c360_kafka_source *k)
{
    if (!k) return;
    c360_kafka_source_stop(k);
    if (k->d.metrics && k->d.metrics->render_extra_arg == k) {
        k->d.metrics->render_extra = NULL;
        k->d.metrics->render_extra_arg = NULL;
    }
    if (k->rk) {
        pthread_mutex_lock(&k->mu);
        rd_kafka_t *rk = k->rk;
        k->rk = NULL;
        pthread_mutex_unlock(&k->mu);
        rd_kafka_destroy(rk);
    }
    if (k->dlq) {
        rd_kafka_flush(k->dlq, 10000);
        rd_kafka_topic_destroy(k->dlq_topic);
        rd_kafka_destroy(k->dlq);
    }
    drop_batch(k);
    reap(k);
    for (int i = 0; i < k->nparts; i++) free(k->parts[i].topic);
    free(k->parts);
    c360_ktopics_free(k->topics, k->ntopics);
    c360_mappings_free(k->maps);
    pthread_mutex_destroy(&k->mu);
    c360_inflight_destroy(&k->q);
    free(k);
}
