/* features.c -- the features layer's entry points (see features.h). */
#include "features/features.h"

#include <stdlib.h>

struct c360_features {
    c360_store *store;
    const c360_config *cfg;
};

int c360_features_open(c360_features **out, c360_store *s, const c360_config *cfg, char *err, size_t errlen)
{
    c360_features *f = xcalloc(1, sizeof *f);
    f->store = s;
    f->cfg = cfg;
    *out = f;
    return 0;
}

void c360_features_free(c360_features *f) { free(f); }

int c360_features_on_event(c360_features *f, c360_txn *txn, c360_profile *p, const c360_event *ev, int64_t now)
{
    return 0;
}

void c360_features_on_merge(c360_features *f, c360_profile *surv, const c360_profile *loser) {}

void c360_features_render(void *f, const c360_profile *p, strbuf *out) {}
