/* fraud.c -- the risk score (0..100) of one order and its reasons, from the customer's own
 * history. Only facts with an event time before the order count (orders before it, identifiers
 * first seen before it), so the score of an order does not depend on arrival order; it is
 * computed again whenever it is shown (cheap: at most FORDERS_MAX orders). Weights, threshold and
 * limits come from the `fraud:` section (defs.c); docs/FEATURES.md explains every reason. */
#include "features/fint.h"
#include "profile/profile.h"

#include <math.h>
#include <string.h>

const char *const fraud_reason_names[FR__N] = {"velocity_1h", "velocity_24h", "amount_zscore", "new_payment_method",
                                               "new_card_type", "shipping_address_changed", "identity_churn",
                                               "new_account_large_order"};

#define HOUR 3600000LL
#define DAY 86400000LL

static int before(const ford *a, const ford *o)
{
    if (a == o) return 0;
    if (a->ts != o->ts) return a->ts < o->ts;
    int c = strcmp(a->id ? a->id : "", o->id ? o->id : "");
    return c < 0 || (c == 0 && a->amount < o->amount) || (c == 0 && a->amount == o->amount && a < o);
}

frisk fraud_score(const fstate *s, const fsettings *cfg, const c360_profile *p, const ford *o)
{
    frisk r = {0};
    int nprior = 0, n1h = 1, n24 = 1, same_pay = 0, same_card = 0;
    double sum = 0, sumsq = 0, amt = (double)o->amount / FSUM_SCALE;
    int64_t first = o->ts;
    const ford *last = NULL;
    for (int i = 0; i < s->nord; i++) {
        const ford *a = &s->orders[i];
        if (!before(a, o)) continue;
        nprior++;
        double x = (double)a->amount / FSUM_SCALE;
        sum += x;
        sumsq += x * x;
        if (a->ts < first) first = a->ts;
        if (a->ts > o->ts - HOUR) n1h++;
        if (a->ts > o->ts - DAY) n24++;
        if (o->pay && a->pay && !strcmp(o->pay, a->pay)) same_pay = 1;
        if (o->card && a->card && !strcmp(o->card, a->card)) same_card = 1;
        if (a->addr && (!last || before(last, a))) last = a;
    }
    if (n1h >= cfg->velocity_1h) r.reasons |= 1u << FR_VELOCITY_1H;
    if (nprior) {
        double days = (double)(o->ts - first) / DAY;
        double norm = (double)nprior / (days < 1 ? 1 : days);   /* the customer's orders per day */
        double lim = ceil(3 * norm);
        if (lim < cfg->velocity_24h_min) lim = cfg->velocity_24h_min;
        if (n24 >= lim) r.reasons |= 1u << FR_VELOCITY_24H;
    } else if (n24 >= cfg->velocity_24h_min) {
        r.reasons |= 1u << FR_VELOCITY_24H;
    }
    if (nprior >= 3) {
        double mean = sum / nprior, var = sumsq / nprior - mean * mean;
        double sd = var > 0 ? sqrt(var) : 0;
        if ((sd > 1e-9 && (amt - mean) / sd > cfg->z_limit) || (sd <= 1e-9 && mean > 0 && amt > 3 * mean))
            r.reasons |= 1u << FR_AMOUNT;
    }
    if (nprior && o->pay && !same_pay) r.reasons |= 1u << FR_NEW_PAYMENT;
    if (nprior && o->card && !same_card) r.reasons |= 1u << FR_NEW_CARD;
    if (o->addr && last && last->addr != o->addr) r.reasons |= 1u << FR_ADDRESS;
    if (p) {
        int newids = 0, merges = 0;
        for (int i = 0; i < p->nids; i++)
            if (p->ids[i].first_ts > p->first_seen && p->ids[i].first_ts > o->ts - DAY && p->ids[i].first_ts <= o->ts) newids++;
        for (int i = 0; i < s->nmerges; i++)
            if (s->merges[i] > o->ts - DAY && s->merges[i] <= o->ts) merges++;
        if (newids >= 3 || merges >= 1) r.reasons |= 1u << FR_CHURN;
        if (o->ts - p->first_seen < DAY && amt >= cfg->large_order) r.reasons |= 1u << FR_NEW_LARGE;
    }
    const double w[FR__N] = {cfg->w_velocity, cfg->w_velocity, cfg->w_amount, cfg->w_payment,
                             cfg->w_card,     cfg->w_address,  cfg->w_churn,  cfg->w_new_large};
    double sc = 0;
    int vel = 0;
    for (int i = 0; i < FR__N; i++)
        if (r.reasons & (1u << i)) {
            if (i <= FR_VELOCITY_24H) {   /* velocity counts once */
                if (vel++) continue;
            }
            sc += w[i];
        }
    r.score = sc > 100 ? 100 : sc < 0 ? 0 : round(sc);
    return r;
}
