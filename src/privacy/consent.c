/* consent.c -- consent state and history from events (see consent.h). */
#include "privacy/consent.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/json.h"

#include <ctype.h>
#include <string.h>

int c360_consent_key(const char *in, size_t n, char out[33])
{
    if (n == 0 || n > 32) return -1;
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)in[i]);
        if (c == ' ' || c == '-') c = '_';
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return -1;
        out[i] = c;
    }
    out[n] = 0;
    if (!strcmp(out, "personalization")) strcpy(out, "personalisation");
    return 0;
}

typedef struct {
    c360_txn *txn;
    c360_profile *p;
    const c360_event *ev;
    int idx;
} cctx;

static void change(cctx *x, const char *key, int granted, const char *source)
{
    int prev;
    if (!c360_profile_set_consent(x->p, key, granted, x->ev->ts, source, &prev) && prev == granted) return;
    /* history keeps every change an event carried, even one that lost to a newer value */
    strbuf j = STRBUF_INIT;
    char at[32];
    c360_time_format(x->ev->ts, at);
    sb_adds(&j, "{\"key\":");
    c360_json_put_cstr(&j, key);
    sb_addf(&j, ",\"granted\":%s,\"previous\":%s,\"source\":", granted ? "true" : "false",
            prev < 0 ? "null" : prev ? "true" : "false");
    c360_json_put_cstr(&j, source);
    sb_addf(&j, ",\"at\":\"%s\",\"event\":", at);
    c360_json_put_cstr(&j, x->ev->message_id);
    sb_addc(&j, '}');
    unsigned char k[27];
    k[0] = C360_K_PROFILE;
    c360_put_u64be(k + 1, x->p->pid);
    k[9] = C360_SUB_CONSENT;
    c360_put_u64be(k + 10, (uint64_t)x->ev->ts + C360_TS_BIAS);
    memcpy(k + 18, x->ev->msg_hash, 8);
    k[26] = (unsigned char)x->idx++;
    c360_txn_put(x->txn, k, sizeof k, j.buf, j.len);
    sb_release(&j);
}

/* {K: bool, ...} */
static void from_map(cctx *x, const c360_json *j, int obj, const char *source)
{
    if (obj < 0 || j->tok[obj].type != CJ_OBJECT) return;
    int k = obj + 1;
    for (int i = 0; i < j->tok[obj].size; i++) {
        char key[33];
        if (c360_json_is_bool(j, k + 1) &&
            c360_consent_key(j->src + j->tok[k].start, (size_t)(j->tok[k].end - j->tok[k].start), key) == 0)
            change(x, key, c360_json_true(j, k + 1), source);
        k = c360_json_skip(j, k + 1);
    }
}

void c360_consent_apply(c360_txn *txn, c360_profile *p, const c360_event *ev)
{
    /* cheap pre-check: most events carry no consent at all */
    if (!strstr(ev->json.buf, "onsent")) return;
    c360_json j;
    c360_json_init(&j);
    char err[64];
    if (c360_json_parse(&j, ev->json.buf, ev->json.len, err, sizeof err) || j.tok[0].type != CJ_OBJECT) {
        c360_json_release(&j);
        return;
    }
    cctx x = {txn, p, ev, 0};
    strbuf source = STRBUF_INIT;
    int props = c360_json_get(&j, 0, "properties");
    if (ev->type == C360_EV_TRACK && ev->name && !strcmp(ev->name, "Consent Updated") && props >= 0) {
        if (c360_json_str(&j, c360_json_get(&j, props, "source"), &source) != 0) sb_adds(&source, "event");
        int g = c360_json_get(&j, props, "granted");
        int key = c360_json_get(&j, props, "channel");
        if (key < 0) key = c360_json_get(&j, props, "purpose");
        if (key < 0) key = c360_json_get(&j, props, "key");
        char k[33];
        if (key >= 0 && c360_json_is_bool(&j, g) && j.tok[key].type == CJ_STRING &&
            c360_consent_key(j.src + j.tok[key].start, (size_t)(j.tok[key].end - j.tok[key].start), k) == 0)
            change(&x, k, c360_json_true(&j, g), source.buf);
        from_map(&x, &j, c360_json_get(&j, props, "consents"), source.buf);
    }
    if (ev->type == C360_EV_IDENTIFY) {
        int traits = c360_json_get(&j, 0, "traits");
        if (traits >= 0) from_map(&x, &j, c360_json_get(&j, traits, "consent"), "identify");
    }
    int ctx = c360_json_get(&j, 0, "context");
    int cons = ctx >= 0 ? c360_json_get(&j, ctx, "consent") : -1;
    if (cons >= 0) from_map(&x, &j, c360_json_get(&j, cons, "categoryPreferences"), "consent_management");
    sb_release(&source);
    c360_json_release(&j);
}

void c360_consent_history(c360_store *s, uint64_t pid, strbuf *out)
{
    c360_key lo, hi;
    c360_key_range(&lo, &hi, pid, C360_SUB_CONSENT);
    c360_iter *it = c360_iter_new(s, lo.b, lo.n, hi.b, hi.n);
    sb_addc(out, '[');
    int n = 0;
    for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
        size_t vl;
        const char *v = c360_iter_value(it, &vl);
        if (n++) sb_addc(out, ',');
        sb_add(out, v, vl);
    }
    c360_iter_free(it);
    sb_addc(out, ']');
}
