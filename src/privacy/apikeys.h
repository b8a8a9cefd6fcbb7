/* apikeys.h -- API keys with roles. A key is shown once when created and stored only as a keyed
 * hash (BLAKE2b with the store secret): 'K' + hash -> {"name","role","created","revoked"}.
 * Thread-safe: keys are read on the HTTP loops and written by admins at any time. */
#ifndef C360_APIKEYS_H
#define C360_APIKEYS_H

#include <stdint.h>
#include "store/store.h"
#include "util/strbuf.h"

typedef struct c360_key_info {
    char name[65];
    int role;          /* one role bit */
    int64_t created_ms;
    int revoked;
} c360_key_info;

/* Creates a key; appends its secret to secret_out. Names are unique among active keys. */
int c360_keys_create(c360_store *s, const char *name, int role, strbuf *secret_out, char *err, size_t errlen);
/* 1 and *out for an active key, 0 for an unknown or revoked one, -1 on a store error. */
int c360_keys_lookup(c360_store *s, const char *secret, size_t len, c360_key_info *out);
/* Appends a JSON array of {"name","role","created","revoked"} (never secrets). */
int c360_keys_list(c360_store *s, strbuf *out);
/* 0, or -1 with err (unknown name). */
int c360_keys_revoke(c360_store *s, const char *name, char *err, size_t errlen);
int c360_key_name_valid(const char *name);

#endif
