/* policy.h -- field-level privacy: which fields are personal (classified by name, configurable
 * in the `privacy.fields` section of the YAML file), and what each role sees of each class.
 *
 *   class       agent                 fraud         marketing   privacy, admin
 *   email       a***@example.com      removed       removed     shown
 *   phone       ******1234            removed       removed     shown
 *   name        A*** S***             removed       removed     shown
 *   address     ***                   removed       removed     shown
 *   dob         ***                   removed       removed     shown
 *   payment     ***                   fingerprint   removed     shown
 *   free_text   shown                 removed       removed     shown
 *
 * An agent may ask to reveal classes (?reveal=email,phone); the reveal is audited.
 * Masking is applied to the JSON of every read response (profiles, events, identities, merges,
 * segment members, exports for non-privacy roles), by field name at any depth, and to identity
 * objects {"type":"email","value":...} by their type. The generic names `name` and `description`
 * count as personal only inside `traits` (a product's name is not a person's). Pure functions;
 * thread-safe. */
#ifndef C360_POLICY_H
#define C360_POLICY_H

#include <stddef.h>
#include "core/config.h"
#include "util/strbuf.h"

typedef enum {
    C360_FC_NONE = 0, C360_FC_EMAIL, C360_FC_PHONE, C360_FC_NAME, C360_FC_ADDRESS, C360_FC_DOB, C360_FC_PAYMENT,
    C360_FC_FREE_TEXT, C360_FC__N
} c360_field_class;

typedef struct c360_policy {
    struct { char *key; int cls, traits_only; } *fields;   /* configured + default names, folded */
    int nfields;
    unsigned char secret[32];                 /* keys payment fingerprints */
} c360_policy;

int c360_policy_init(c360_policy *p, const c360_config *cfg, const unsigned char secret[32], char *err, size_t errlen);
void c360_policy_release(c360_policy *p);
int c360_policy_class(const c360_policy *p, const char *key, size_t klen);
int c360_policy_class_parse(const char *name);      /* "email" -> C360_FC_EMAIL; 0 if unknown */
const char *c360_policy_class_name(int cls);
/* 1 if the role sees everything (no masking needed). */
int c360_policy_unmasked(int role);
/* Rewrites the JSON document for role; `reveal` is a bitmask (1 << class) of classes shown in
 * full (honoured for agents only). Invalid JSON is replaced by {} (never leaks). */
void c360_policy_mask(const c360_policy *p, int role, unsigned reveal, const char *json, size_t len, strbuf *out);

#endif
