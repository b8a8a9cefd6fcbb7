/* sink.c -- the Kafka sink: idempotent producer, per-group change notes coalesced per customer,
 * published after commit; tombstones for erasures and merged-away profiles. See sink.h. */
#include "sources/sink.h"
#include "sources/kafka_conf.h"
#include "profile/profile.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sched.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRAITS 64

typedef struct note {
    uint64_t pid;
    int events;
    int gone;                      /* merged away during the group: published as a tombstone */
    c360_ev_type last_type;
    char *last_name;
    int64_t last_ts;
    char **traits;
    int ntraits;
    char *features;                /* the feature values after the group's last event (JSON object) */
    strbuf merged;                 /* JSON strings, comma separated */
    strbuf changes;                /* JSON objects, comma separated */
} note;

struct c360_sink {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topic;
    c360_metrics *m;
    pthread_t poller;
    _Atomic int stop;
    /* writer-thread state: the notes of the group being applied */
    note *notes;
    int nnotes, cap;
    int *slots;                    /* open addressing: index+1 into notes, 0 = empty */
    int nslots;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    c360_sink *s = opaque;
    if (msg->err) {
        c360_count(&s->m->sink_errors, 1);
        LOG_WARN("sink message not delivered", "\"error\":\"%s\"", rd_kafka_err2str(msg->err));
    }
}

static void *poll_main(void *arg)
{
    c360_thread_name("c360-sink");
    c360_sink *s = arg;
    while (!atomic_load(&s->stop)) rd_kafka_poll(s->rk, 100);
    return NULL;
}

int c360_sink_open(c360_sink **out, const c360_config *c, c360_metrics *m, char *err, size_t errlen)
{
    *out = NULL;
    if (!c->kafka_sink_topic || !*c->kafka_sink_topic) return 0;
    if (!c->kafka_brokers || !*c->kafka_brokers) {
        snprintf(err, errlen, "kafka.sink_topic needs kafka.brokers");
        return -1;
    }
    rd_kafka_conf_t *conf = c360_kafka_conf(c, err, errlen);
    if (!conf) return -1;
    if (c360_kafka_set(conf, "enable.idempotence", "true", err, errlen) ||
        c360_kafka_set(conf, "linger.ms", "5", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    c360_sink *s = xcalloc(1, sizeof *s);
    s->m = m;
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    char e[512];
    s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!s->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka sink: %s", e);
        free(s);
        return -1;
    }
    s->topic = rd_kafka_topic_new(s->rk, c->kafka_sink_topic, NULL);
    if (pthread_create(&s->poller, NULL, poll_main, s) != 0) {
        rd_kafka_topic_destroy(s->topic);
        rd_kafka_destroy(s->rk);
        free(s);
        snprintf(err, errlen, "kafka sink: cannot start its thread");
        return -1;
    }
    *out = s;
    LOG_INFO("kafka sink ready", "\"topic\":\"%s\"", c->kafka_sink_topic);
    return 0;
}

static void note_release(note *n)
{
    free(n->last_name);
    free(n->features);
    for (int i = 0; i < n->ntraits; i++) free(n->traits[i]);
    free(n->traits);
    sb_release(&n->merged);
    sb_release(&n->changes);
}

void c360_sink_discard(c360_sink *s)
{
    if (!s || !s->nnotes) return;
    for (int i = 0; i < s->nnotes; i++) note_release(&s->notes[i]);
    s->nnotes = 0;
    memset(s->slots, 0, sizeof *s->slots * (size_t)s->nslots);
}

void c360_sink_close(c360_sink *s)
{
    if (!s) return;
    atomic_store(&s->stop, 1);
    pthread_join(s->poller, NULL);
    if (rd_kafka_flush(s->rk, 10000)) LOG_WARN("kafka sink: messages left undelivered at shutdown", "\"queued\":%d", rd_kafka_outq_len(s->rk));
    for (int i = 0; i < s->nnotes; i++) note_release(&s->notes[i]);
    free(s->notes);
    free(s->slots);
    rd_kafka_topic_destroy(s->topic);
    rd_kafka_destroy(s->rk);
    free(s);
}

static int produce(c360_sink *s, const char *key, const char *val, size_t len)
{
    for (int tries = 0;; tries++) {
        if (rd_kafka_produce(s->topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)val, val ? len : 0, key,
                             strlen(key), NULL) == 0) {
            c360_count(&s->m->sink_published, 1);
            return 0;
        }
        rd_kafka_resp_err_t e = rd_kafka_last_error();
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries >= 100) {
            c360_count(&s->m->sink_errors, 1);
            LOG_WARN("sink message dropped", "\"error\":\"%s\"", rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(s->rk, 10); /* bounded wait (1 s) for the producer queue to drain */
    }
}

int c360_sink_publish(c360_sink *s, const char *key, const char *json, size_t len)
{
    return s ? produce(s, key, json, len) : -1;
}

int c360_sink_tombstone(c360_sink *s, uint64_t pid)
{
    if (!s) return -1;
    char id[20];
    c360_profile_id_str(pid, id);
    return produce(s, id, NULL, 0);
}

/* ---- notes (writer thread) ---- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33;
    return x;
}

static note *get_note(c360_sink *s, uint64_t pid)
{
    if (s->nslots == 0 || (s->nnotes + 1) * 2 > s->nslots) {
        int ns = s->nslots ? s->nslots * 2 : 1024;
        free(s->slots);
        s->slots = xcalloc((size_t)ns, sizeof *s->slots);
        s->nslots = ns;
        for (int i = 0; i < s->nnotes; i++) {
            size_t h = mix(s->notes[i].pid) & (size_t)(ns - 1);
            while (s->slots[h]) h = (h + 1) & (size_t)(ns - 1);
            s->slots[h] = i + 1;
        }
    }
    size_t h = mix(pid) & (size_t)(s->nslots - 1);
    while (s->slots[h]) {
        note *n = &s->notes[s->slots[h] - 1];
        if (n->pid == pid) return n;
        h = (h + 1) & (size_t)(s->nslots - 1);
    }
    if (s->nnotes == s->cap) s->notes = xrealloc(s->notes, sizeof *s->notes * (size_t)(s->cap = s->cap ? s->cap * 2 : 256));
    note *n = &s->notes[s->nnotes++];
    memset(n, 0, sizeof *n);
    n->pid = pid;
    s->slots[h] = s->nnotes;
    return n;
}

void c360_sink_note_event(c360_sink *s, uint64_t pid, const c360_event *ev)
{
    if (!s) return;
    note *n = get_note(s, pid);
    n->events++;
    n->last_type = ev->type;
    n->last_ts = ev->ts;
    free(n->last_name);
    n->last_name = ev->name ? xstrdup(ev->name) : NULL;
    for (int i = 0; i < ev->ntraits && n->ntraits < MAX_TRAITS; i++) {
        int seen = 0;
        for (int k = 0; k < n->ntraits && !seen; k++) seen = !strcmp(n->traits[k], ev->traits[i].key);
        if (seen) continue;
        n->traits = xrealloc(n->traits, sizeof *n->traits * (size_t)(n->ntraits + 1));
        n->traits[n->ntraits++] = xstrdup(ev->traits[i].key);
    }
}

void c360_sink_note_merge(c360_sink *s, uint64_t survivor, uint64_t loser)
{
    if (!s) return;
    note *n = get_note(s, survivor);
    char id[20];
    c360_profile_id_str(loser, id);
    if (n->merged.len) sb_addc(&n->merged, ',');
    sb_addf(&n->merged, "\"%s\"", id);
    get_note(s, loser)->gone = 1;   /* n may have moved: not used after this */
}

void c360_sink_note(c360_sink *s, uint64_t pid, const char *json_object)
{
    if (!s) return;
    note *n = get_note(s, pid);
    if (n->changes.len) sb_addc(&n->changes, ',');
    sb_adds(&n->changes, json_object);
}

void c360_sink_note_features(c360_sink *s, uint64_t pid, const char *json_object)
{
    if (!s) return;
    note *n = get_note(s, pid);
    free(n->features);
    n->features = xstrdup(json_object);
}

void c360_sink_committed(c360_sink *s)
{
    if (!s || !s->nnotes) return;
    char at[40], ts[40], id[20];
    c360_time_format(c360_now_ms(), at);
    strbuf v = STRBUF_INIT;
    for (int pass = 0; pass < 2; pass++) /* changes first, then the tombstones of merged-away profiles */
        for (int i = 0; i < s->nnotes; i++) {
            note *n = &s->notes[i];
            c360_profile_id_str(n->pid, id);
            if (pass == 1) {
                if (n->gone) produce(s, id, NULL, 0);
                continue;
            }
            if (n->gone) continue;
            sb_reset(&v);
            sb_addf(&v, "{\"id\":\"%s\",\"at\":\"%s\",\"events\":%d", id, at, n->events);
            if (n->events) {
                c360_time_format(n->last_ts, ts);
                sb_addf(&v, ",\"last_event\":{\"type\":\"%s\",\"name\":", c360_ev_type_name(n->last_type));
                if (n->last_name) c360_json_put_cstr(&v, n->last_name);
                else sb_adds(&v, "null");
                sb_addf(&v, ",\"timestamp\":\"%s\"}", ts);
            }
            sb_adds(&v, ",\"traits\":[");
            for (int k = 0; k < n->ntraits; k++) {
                if (k) sb_addc(&v, ',');
                c360_json_put_cstr(&v, n->traits[k]);
            }
            sb_addf(&v, "],\"merged\":[%s],\"changes\":[%s]", n->merged.len ? n->merged.buf : "",
                    n->changes.len ? n->changes.buf : "");
            if (n->features) sb_addf(&v, ",\"features\":%s", n->features);
            sb_addc(&v, '}');
            produce(s, id, v.buf, v.len);
        }
    sb_release(&v);
    c360_sink_discard(s);
}
