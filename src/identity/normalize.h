/* normalize.h -- identifier normalisation and the over-merge guard rules.
 *
 * An identifier is a (type, value) pair. Values are normalised before they are hashed or
 * compared, so that "Ann@Example.com " and "ann@example.com" are one identifier:
 *   email         trimmed, lower-cased; must look like local@domain
 *   phone         digits only, with the country calling code ("+1 (555) 010-1234" -> "15550101234";
 *                 national numbers get the configured code; a leading 00 or + marks international)
 *   other types   trimmed (case is significant: user ids and cookie ids are opaque)
 * Types are lower-case [a-z0-9_.-]{1,40}. Rules (c360_id_rules) hold the blocked values and
 * patterns, per-type limits and the priority order, compiled once from the config. */
#ifndef C360_NORMALIZE_H
#define C360_NORMALIZE_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include "util/strbuf.h"

#define C360_MAX_ID_TYPE 40
#define C360_MAX_ID_VALUE 512

typedef struct c360_id {
    char type[C360_MAX_ID_TYPE + 1];
    char *value;               /* normalised, malloc'd */
    unsigned char hash[16];    /* keyed hash of type + value, the index key */
    int prio;                  /* lower is stronger */
} c360_id;

typedef struct c360_id_rules {
    struct { char type[C360_MAX_ID_TYPE + 1]; int prio, limit; } t[32];
    int nt;
    int other_prio, other_limit;   /* for types not listed ('*') */
    char **blocked;
    int nblocked;
    regex_t *patterns;
    int npatterns;
    int max_identities, max_merges;
    char cc[8];                    /* default country calling code */
} c360_id_rules;

struct c360_config;
int c360_id_rules_init(c360_id_rules *r, const struct c360_config *c, char *err, size_t errlen);
void c360_id_rules_release(c360_id_rules *r);
int c360_id_prio(const c360_id_rules *r, const char *type);
int c360_id_limit(const c360_id_rules *r, const char *type);

/* Each appends the normalised value to out and returns 0, or returns -1 (not usable). */
int c360_norm_email(const char *in, size_t n, strbuf *out);
int c360_norm_phone(const char *in, size_t n, const char *cc, strbuf *out);
int c360_norm_plain(const char *in, size_t n, strbuf *out);
/* Normalises a type name in place-copy into out[C360_MAX_ID_TYPE+1]; -1 if invalid. */
int c360_norm_type(const char *in, size_t n, char *out);
/* Normalises value for type (dispatching on "email"/"phone"). */
int c360_norm_value(const c360_id_rules *r, const char *type, const char *in, size_t n, strbuf *out);
/* 1 if the normalised value must never be used for matching. */
int c360_id_blocked(const c360_id_rules *r, const char *value);
/* Fills id->hash: BLAKE2b-128 keyed with the store secret over type NUL value. */
void c360_id_hash(c360_id *id, const unsigned char secret[32]);
void c360_id_release(c360_id *id);

#endif
