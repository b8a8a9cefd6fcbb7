/* fuzz_profile_record.c -- the stored profile record (src/profile/profile.c: c360_profile_decode
 * and c360_profile_decode_ro, the readers' arena variant).
 *
 * Records are written by c360 itself, but a corrupted disk (or a bug in an older version) must
 * not crash a reader: decode arbitrary bytes; on success the profile renders as JSON (what
 * GET /v1/profiles does with it) and encode -> decode -> encode gives identical bytes, with the
 * same fields decoded both times; the read-only decoder accepts and refuses exactly the same
 * records and decodes the same fields. */
#include "fuzz_common.h"

#include "profile/profile.h"

static void same_profile(const c360_profile *a, const c360_profile *b)
{
    CHECK(a->pid == b->pid && a->created_ms == b->created_ms && a->first_seen == b->first_seen &&
              a->last_seen == b->last_seen && a->total == b->total && a->merge_seq == b->merge_seq,
          "scalar fields differ after a round trip");
    CHECK(a->nids == b->nids && a->ntraits == b->ntraits && a->nby_type == b->nby_type && a->nby_event == b->nby_event &&
              a->nmerged == b->nmerged,
          "counts differ after a round trip");
    for (int i = 0; i < a->nids; i++)
        CHECK(!strcmp(a->ids[i].type, b->ids[i].type) && !strcmp(a->ids[i].value, b->ids[i].value) &&
                  !strcmp(a->ids[i].event, b->ids[i].event) && a->ids[i].first_ts == b->ids[i].first_ts,
              "identity %d differs", i);
    for (int i = 0; i < a->ntraits; i++)
        CHECK(!strcmp(a->traits[i].key, b->traits[i].key) && !strcmp(a->traits[i].json, b->traits[i].json) &&
                  a->traits[i].ts == b->traits[i].ts,
              "trait %d differs", i);
    for (int i = 0; i < a->nby_type; i++)
        CHECK(!strcmp(a->by_type[i].name, b->by_type[i].name) && a->by_type[i].n == b->by_type[i].n, "by_type %d differs", i);
    for (int i = 0; i < a->nby_event; i++)
        CHECK(!strcmp(a->by_event[i].name, b->by_event[i].name) && a->by_event[i].n == b->by_event[i].n, "by_event %d differs", i);
    for (int i = 0; i < a->nmerged; i++) CHECK(a->merged[i] == b->merged[i], "merged %d differs", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    c360_profile p;
    memset(&p, 0x5a, sizeof p);
    if (c360_profile_decode(&p, data, size) != 0) {
        /* a refused record holds nothing to release */
        CHECK(p.ids == NULL && p.traits == NULL && p.by_type == NULL && p.by_event == NULL && p.merged == NULL &&
                  p.nids == 0 && p.ntraits == 0,
              "refused record left allocations behind");
        c360_profile r;
        CHECK(c360_profile_decode_ro(&r, data, size) != 0, "the read-only decoder accepts a record the other refuses");
        CHECK(r.arena == NULL && r.ids == NULL && r.nids == 0, "refused read-only record left its arena behind");
        return 0;
    }
    CHECK(p.nids >= 0 && p.ntraits >= 0 && p.nby_type >= 0 && p.nby_event >= 0 && p.nmerged >= 0, "negative counts");

    strbuf js = STRBUF_INIT;
    c360_profile_to_json(&p, &js);
    sb_release(&js);

    strbuf e1 = STRBUF_INIT, e2 = STRBUF_INIT;
    c360_profile_encode(&p, &e1);
    c360_profile q;
    CHECK(c360_profile_decode(&q, e1.buf, e1.len) == 0, "re-encoded record of %zu bytes does not decode", e1.len);
    same_profile(&p, &q);
    c360_profile r;
    CHECK(c360_profile_decode_ro(&r, data, size) == 0, "the read-only decoder refuses a record the other accepts");
    same_profile(&p, &r);
    CHECK(r.next == p.next && (!r.next || !memcmp(r.ext, p.ext, r.next)), "ext differs in the read-only decode");
    c360_profile_release(&r);
    c360_profile_encode(&q, &e2);
    CHECK(e1.len == e2.len && !memcmp(e1.buf, e2.buf, e1.len), "encode -> decode -> encode changed the bytes (%zu vs %zu)",
          e1.len, e2.len);
    c360_profile_release(&q);
    c360_profile_release(&p);
    sb_release(&e1);
    sb_release(&e2);
    return 0;
}
