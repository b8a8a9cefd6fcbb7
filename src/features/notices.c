/* notices.c -- what the features layer tells the world when something happens at ingest: a
 * fraud alert (recorded in the recent-alerts index, on the Kafka sink, to the alert webhook) and
 * a segment entry or exit (on the Kafka sink). Everything here runs on the writer thread inside
 * the group being applied; the sinks publish only once that group is durable.
 *
 * The recent-alerts index ('F' 'a' raised_ms pid, keys.h) holds no personal data: the value is
 * the score and the reason bits; the order and the customer are looked up when it is shown, so
 * an erased customer's alerts simply vanish from the list. Records older than alert_retention
 * are not listed, and compaction removes them (store.c's filter). */
#include "features/fint.h"
#include "profile/profile.h"
#include "sources/sink.h"
#include "sources/webhook_sink.h"
#include "store/keys.h"
#include "util/clock.h"

#include <stdio.h>
#include <string.h>

static void put_reasons(strbuf *o, unsigned reasons)
{
    sb_addc(o, '[');
    int n = 0;
    for (int k = 0; k < FR__N; k++)
        if (reasons & (1u << k)) sb_addf(o, "%s\"%s\"", n++ ? "," : "", fraud_reason_names[k]);
    sb_addc(o, ']');
}

void fnotice_alert(c360_features *f, c360_txn *txn, uint64_t pid, const ford *o, frisk r, int64_t now)
{
    atomic_fetch_add(&f->m_alerts, 1);
    if (f->quiet) return;
    unsigned char k[C360_KEY_ALERT_LEN], v[16];
    c360_key_alert(k, now, pid);
    memcpy(v, &r.score, 8);
    c360_put_u64be(v + 8, r.reasons);
    c360_txn_put(txn, k, sizeof k, v, sizeof v);

    char id[20], at[40], raised[40];
    c360_profile_id_str(pid, id);
    c360_time_format(o->ts, at);
    c360_time_format(now, raised);
    strbuf b = STRBUF_INIT;
    sb_adds(&b, "{\"fraud_alert\":{\"order_id\":");
    if (o->id) c360_json_put_cstr(&b, o->id);
    else sb_adds(&b, "null");
    sb_addf(&b, ",\"score\":%g,\"reasons\":", r.score);
    put_reasons(&b, r.reasons);
    sb_addf(&b, ",\"order_at\":\"%s\",\"raised_at\":\"%s\"}}", at, raised);
    c360_sink_note(f->sink, pid, b.buf);

    sb_reset(&b);
    /* alert_id: customer and order, stable across retries and restarts */
    sb_addf(&b, "{\"type\":\"fraud_alert\",\"customer_id\":\"%s\",\"order_id\":", id);
    if (o->id) c360_json_put_cstr(&b, o->id);
    else sb_adds(&b, "null");
    sb_adds(&b, ",\"alert_id\":");
    strbuf aid = STRBUF_INIT;
    sb_addf(&aid, "%s/%s", id, o->id ? o->id : "");
    c360_json_put_str(&b, aid.buf, aid.len);
    sb_release(&aid);
    sb_addf(&b, ",\"score\":%g,\"threshold\":%g,\"reasons\":", r.score, f->set.threshold);
    put_reasons(&b, r.reasons);
    sb_addf(&b, ",\"order_at\":\"%s\",\"raised_at\":\"%s\"}", at, raised);
    c360_whsink_note(f->whsink, b.buf);
    sb_release(&b);
}

void fnotice_segment(c360_features *f, uint64_t pid, const char *segment, int entered, int64_t ts)
{
    atomic_fetch_add(entered ? &f->m_seg_enter : &f->m_seg_exit, 1);
    if (f->quiet) return;
    char at[40];
    c360_time_format(ts, at);
    strbuf b = STRBUF_INIT;
    sb_adds(&b, "{\"segment\":");
    c360_json_put_cstr(&b, segment);
    sb_addf(&b, ",\"%s\":true,\"at\":\"%s\"}", entered ? "entered" : "exited", at);
    c360_sink_note(f->sink, pid, b.buf);
    sb_release(&b);
}

int c360_features_recent_alerts(c360_features *f, int limit, int64_t since_ms, c360_alert_cb cb, void *arg)
{
    int64_t cut = c360_store_alert_cutoff(f->store);   /* past alert_retention: gone, or going at compaction */
    if (since_ms < cut) since_ms = cut;
    unsigned char lo[C360_KEY_ALERT_LEN], hi[2] = {'F', 'b'};
    c360_key_alert(lo, since_ms, 0);
    c360_iter *it = c360_iter_new(f->store, lo, sizeof lo, hi, sizeof hi);
    int n = 0;
    for (c360_iter_last(it); c360_iter_valid(it) && (limit <= 0 || n < limit); c360_iter_prev(it)) {
        size_t kl, vl;
        const char *k = c360_iter_key(it, &kl);
        const unsigned char *v = (const unsigned char *)c360_iter_value(it, &vl);
        int64_t raised;
        if (!c360_key_alert_time(k, kl, &raised) || vl != 16) continue;
        double score;
        memcpy(&score, v, 8);
        n++;
        if (cb && cb(arg, c360_get_u64be((const unsigned char *)k + 10), raised, score, (unsigned)c360_get_u64be(v + 8))) break;
    }
    c360_iter_free(it);
    return n;
}

const char *c360_fraud_reason_name(int i) { return i >= 0 && i < FR__N ? fraud_reason_names[i] : NULL; }
