/* fuzz_config_yaml.c -- the YAML config file (src/core/config.c: c360_config_load_yaml) and the
 * identity rules compiled from it (src/identity/normalize.c: c360_id_rules_init).
 *
 * The input is written to an anonymous memory file (memfd_create) and loaded by its
 * /proc/self/fd path on top of the defaults; the rules are then compiled from the result, a few
 * values are normalised and checked against them, and everything is released. A failed load
 * must leave a config that can still be released (and compiled). */
#include "fuzz_common.h"

#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("c360-fuzz-config", MFD_CLOEXEC);
    if (fd < 0) { perror("memfd_create"); abort(); }
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) { perror("write"); abort(); }
        off += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    c360_config c;
    c360_config_defaults(&c);
    char err[512];
    err[0] = 0;
    int rc = c360_config_load_yaml(&c, path, err, sizeof err);
    close(fd);
    if (rc) CHECK(err[0] != 0, "failed load without a message");
    CHECK(c.listen && c.data_dir && c.log_level && c.phone_country_code && c.id_priority && c.id_limits &&
              c.id_blocked_values && c.id_blocked_patterns,
          "a string setting is NULL after loading");

    /* patterns that would make glibc's regcomp blow up (stacked repetition operators, very long
     * patterns) are refused by c360_id_rules_init (normalize.c: pattern_safe) */
    c360_id_rules r;
    char rerr[512];
    rerr[0] = 0;
    if (c360_id_rules_init(&r, &c, rerr, sizeof rerr) == 0) {
        CHECK(r.nt >= 0 && r.nt <= 32, "%d rule types", r.nt);
        static const char *samples[] = {"", "null", "Ann@Example.com", "+44 20 7946 0958", "u-42", "0", "TEST1@example.com"};
        for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
            strbuf v = STRBUF_INIT;
            static const char *types[] = {"email", "phone", "user_id"};
            for (size_t t = 0; t < 3; t++) {
                sb_reset(&v);
                if (c360_norm_value(&r, types[t], samples[i], strlen(samples[i]), &v) == 0) (void)c360_id_blocked(&r, v.buf);
                (void)c360_id_prio(&r, types[t]);
                (void)c360_id_limit(&r, types[t]);
            }
            sb_release(&v);
        }
        c360_id_rules_release(&r);
    } else {
        CHECK(rerr[0] != 0, "failed rules without a message");
        CHECK(r.blocked == NULL && r.patterns == NULL && r.nblocked == 0, "failed c360_id_rules_init left allocations");
    }
    c360_config_release(&c);
    return 0;
}
