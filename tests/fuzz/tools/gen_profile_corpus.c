/* gen_profile_corpus.c -- writes encoded profile records (c360_profile_encode) as seeds for
 * fuzz_profile_record: `make -C tests/fuzz corpus` -> corpus/fuzz_profile_record/gen-*.bin.
 * The profiles are built with the same calls the engine makes (identities, LWW traits, counts,
 * merges, consents, feature state), so the seeds have the shape of real records. Rerun it when
 * the record layout changes (old seeds then no longer decode and only test the error paths). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "profile/profile.h"

static int write_rec(const char *dir, const char *name, const c360_profile *p)
{
    strbuf b = STRBUF_INIT;
    c360_profile_encode(p, &b);
    char path[4096];
    snprintf(path, sizeof path, "%s/gen-%s.bin", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b.buf, 1, b.len, f) != b.len || fclose(f)) {
        perror(path);
        return -1;
    }
    printf("  %s (%zu bytes)\n", path, b.len);
    sb_release(&b);
    return 0;
}

static void trait(c360_profile *p, const char *k, const char *json, int64_t ts)
{
    c360_profile_set_trait(p, k, strlen(k), json, strlen(json), ts);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int rc = 0;
    const int64_t T = 1790842503120LL; /* 2026-10-01T08:15:03.120Z */

    c360_profile e;   /* fresh, never seen: first/last seen are the INT64 sentinels */
    c360_profile_init(&e, 1, T);
    rc |= write_rec(dir, "empty", &e);

    c360_profile a;   /* one anonymous visitor */
    c360_profile_init(&a, 0x00a3f1e2b4c5d6e7ULL, T);
    c360_profile_add_ident(&a, "anonymous_id", "anon-1", T, "msg-1");
    c360_profile_count(&a, "page", "Home");
    c360_profile_seen(&a, T);
    rc |= write_rec(dir, "anon", &a);

    c360_profile k;   /* a known customer */
    c360_profile_init(&k, 0x42, T - 86400000);
    c360_profile_add_ident(&k, "user_id", "u-42", T - 5000, "msg-u");
    c360_profile_add_ident(&k, "email", "ann@example.com", T - 4000, "msg-\"e\"");
    c360_profile_add_ident(&k, "phone", "15550101234", T - 3000, "msg-p");
    c360_profile_add_ident(&k, "ga_client_id", "123.456", -5000, "");
    trait(&k, "name", "\"Ann\"", T - 5000);
    trait(&k, "email", "\"ann@example.com\"", T - 4000);
    trait(&k, "plan", "{\"tier\":\"pro\",\"seats\":[1,2,3]}", T);
    trait(&k, "score", "4.5e1", T);
    trait(&k, "vip", "true", T);
    trait(&k, "gone", "null", T);
    c360_profile_count(&k, "identify", NULL);
    c360_profile_count(&k, "track", "Product Viewed");
    c360_profile_count(&k, "track", "Product Viewed");
    c360_profile_count(&k, "track", "Order Completed");
    c360_profile_count(&k, "page", "");
    c360_profile_seen(&k, -86400000LL);
    c360_profile_seen(&k, T);
    k.merge_seq = 3;
    int prev;
    c360_profile_set_consent(&k, "email", 1, T - 4000, "identify", &prev);
    c360_profile_set_consent(&k, "marketing", 0, T, "api", &prev);
    static const unsigned char feat[] = {1, 3, 'l', 't', 'v', 0x80, 0x01, 2, 0xff};
    c360_profile_set_ext(&k, feat, sizeof feat);
    rc |= write_rec(dir, "known", &k);

    c360_profile m;   /* a survivor that absorbed two profiles */
    c360_profile_init(&m, 0xffffffffffffff00ULL, T);
    c360_profile_add_ident(&m, "user_id", "u-7", T, "m1");
    c360_profile_absorb(&m, &a);
    c360_profile_absorb(&m, &k);
    c360_profile_count(&m, "alias", NULL);
    c360_profile_seen(&m, 253402300799999LL); /* 9999-12-31T23:59:59.999Z */
    m.merge_seq = 2;
    rc |= write_rec(dir, "merged", &m);

    c360_profile u;   /* unicode and escapes in every string */
    c360_profile_init(&u, 7, 0);
    c360_profile_add_ident(&u, "crm.id", "Zoë \xe2\x9c\x93 \\\"q\"", 0, "c360-0123456789abcdef0123456789abcdef");
    trait(&u, "n\xc3\xa4me", "\"\\u00e9\\n\"", INT64_MAX / 2);
    c360_profile_count(&u, "track", "\xf0\x9f\x9b\x92 Checkout");
    c360_profile_seen(&u, 0);
    rc |= write_rec(dir, "unicode", &u);

    c360_profile_release(&e);
    c360_profile_release(&a);
    c360_profile_release(&k);
    c360_profile_release(&m);
    c360_profile_release(&u);
    return rc ? 1 : 0;
}
