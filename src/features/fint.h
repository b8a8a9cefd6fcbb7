/* fint.h -- private to src/features: the types shared by the files of the features layer.
 *
 *   defs.c      feature/fraud/segment settings: built-in defaults + the YAML sections
 *   expr.c      the small expression language (segments, feature `where` filters)
 *   window.c    declarative features: event-time buckets, aggregation, read-time windows
 *   state.c     per-customer state (the profile's `ext` bytes): encode/decode, built-ins
 *   fraud.c     risk score of an order and its reasons
 *   recs.c      co-purchase counts, popularity and catalogue (shared state), recommendations
 *   segments.c  segment definitions, membership index, entry/exit
 *   notices.c   fraud alerts and segment moves: recent-alerts index, Kafka sink, webhook
 *   features.c  the entry points of features.h, rendering
 *
 * Every per-customer value is a pure function of the SET of events applied (commutative
 * updates, deterministic tie-breaks, fixed-point sums), so arrival order never changes it. */
#ifndef C360_FINT_H
#define C360_FINT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "features/features.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/strbuf.h"

/* ---------------------------------------------------------------- expressions (expr.c) */
typedef enum { FV_NULL, FV_NUM, FV_STR, FV_BOOL } fv_type;
typedef struct { fv_type t; double num; const char *s; size_t sl; } fval;

typedef struct fexpr fexpr;
/* resolves a dotted path ("traits.plan", "properties.price") to a value; s may point into
 * scratch memory owned by the resolver, valid until the evaluation ends */
typedef int (*fexpr_lookup)(void *arg, const char *path, fval *out);
fexpr *fexpr_parse(const char *src, char *err, size_t errlen);   /* NULL on error */
void fexpr_free(fexpr *e);
int fexpr_eval(const fexpr *e, fexpr_lookup lk, void *arg);      /* 1 true, 0 false */
/* value of a JSON token as an fval (strings unescaped into scratch) */
void fval_from_json(const c360_json *j, int tok, strbuf *scratch, fval *out);
/* dotted path inside a JSON object: token or -1 */
int fjson_path(const c360_json *j, int root, const char *path);

/* ---------------------------------------------------------------- definitions (defs.c) */
enum { AGG_COUNT, AGG_SUM, AGG_AVG, AGG_MIN, AGG_MAX, AGG_FIRST, AGG_LAST, AGG_DISTINCT, AGG_MOSTFREQ, AGG_TOPK, AGG__N };
extern const char *const fagg_names[AGG__N];

typedef struct fdef {
    char *name;
    int agg;
    unsigned types;        /* bit per c360_ev_type; 0 = every type */
    char **events;         /* event names (track event / page name); NULL = any */
    int nevents;
    fexpr *where;          /* property predicate or NULL */
    char *where_src;
    char *field;           /* dotted path of the aggregated value, e.g. properties.revenue */
    int64_t window_ms;     /* 0 = all time */
    int k;                 /* top-k */
} fdef;

typedef struct fseg {
    char *name, *where_src;
    fexpr *where;
    int from_api;
} fseg;

typedef struct fsettings {
    int64_t lateness_ms;          /* features.allowed_lateness (7d) */
    int64_t session_gap_ms;       /* features.session_timeout (30m) */
    fdef *defs; int ndefs;        /* declarative features */
    uint32_t defs_hash;           /* changes when definitions change: state must be rebuilt */
    uint32_t gen;                 /* rebuild generation ('F' 'g'), folded into defs_hash */
    /* fraud */
    double w_velocity, w_amount, w_payment, w_card, w_address, w_churn, w_new_large;
    double threshold, large_order, z_limit;
    int velocity_1h, velocity_24h_min;
    char *webhook_url, *webhook_secret;   /* fraud.webhook_url, fraud.webhook_secret */
    /* recommendations */
    int exclude_last_order;
    int enabled;                  /* features.enabled (default true) */
} fsettings;

void fsettings_defaults(fsettings *s);
/* Reads the features/fraud/recommendations/segments sections of the YAML file (if any). Segments
 * found are appended to *segs. 0 or -1 with err. */
int fsettings_load(fsettings *s, const char *yaml_path, fseg **segs, int *nsegs, char *err, size_t errlen);
void fsettings_release(fsettings *s);
void fsettings_set_gen(fsettings *s, uint32_t gen);
void fseg_release(fseg *s);

/* ---------------------------------------------------------------- generic state (window.c) */
typedef struct { char *v; uint64_t n; } fvc;      /* value (JSON text) and its count */
typedef struct fbucket {
    int64_t start;
    uint64_t count;
    int64_t sum;                  /* fixed point, 1e-4 units: exact and commutative */
    double min, max;
    int64_t first_ts, last_ts;    /* of contributing events */
    char *first_v, *last_v;       /* JSON text */
    fvc *vals; int nvals;         /* distinct values (cap FVALS_MAX) */
    uint64_t nnum;                /* numeric contributions (for sum/avg/min/max) */
} fbucket;
typedef struct fgen { fbucket *b; int nb; } fgen;
#define FVALS_MAX 1000
#define FSUM_SCALE 10000.0

int64_t fbucket_size(int64_t window_ms);
void fgen_add(fgen *g, const fdef *d, int64_t ts, const char *vjson, size_t vl, int isnum, double num);
void fgen_prune(fgen *g, const fdef *d, int64_t wm);
void fgen_merge(fgen *g, const fgen *o);
void fgen_release(fgen *g);   /* a heap-allocated generation (not a read-only state's: that is in its arena) */
void fgen_encode(const fgen *g, strbuf *out);
struct c360_cursor;
/* the strings and arrays of a read-only decoded state live in an arena (util/arena.h): a profile read
 * decodes hundreds of product ids and frees them right after rendering */
/* an optional string of an encoded state (uvarint length + bytes): into *arena if arena is not
 * NULL, else the heap; dflt (or NULL) when empty */
char *fdecode_str(struct c360_cursor *c, c360_arena **arena, const char *dflt);
/* strings and arrays go to *arena if arena is not NULL, else each to the heap */
int fgen_decode(fgen *g, struct c360_cursor *c, c360_arena **arena);
/* renders the value at `now` (JSON) and sets *updated (max contributing ts, or INT64_MIN) */
void fgen_value(const fgen *g, const fdef *d, int64_t now, strbuf *out, int64_t *updated);

/* ---------------------------------------------------------------- per-customer state (state.c) */
typedef struct { char *id; int64_t ts; int64_t amount; char *pay, *card; uint64_t addr; char **prods; int nprods; } ford;
typedef struct { char *pid; int64_t ts; int kind; int qty; } fact;   /* kind: 0 viewed, 1 added, 2 removed */
typedef struct { int64_t ts; int page; } frecent;
typedef struct { char *id, *status; int64_t ts; } fticket;
typedef struct { char *name; int64_t since; } fmember;

typedef struct fstate {
    int64_t wm;                   /* max event time applied (watermark) */
    uint64_t late;                /* events later than allowed_lateness */
    int64_t late_ts;
    uint64_t norders, nrefunds;
    int64_t spend, refunded;      /* fixed point 1e-4 */
    int64_t first_order_ts, last_order_ts, money_ts;
    ford *orders; int nord;       /* most recent FORDERS_MAX by (ts, id) */
    fact *acts; int nacts;        /* product activity after the last order */
    frecent *recent; int nrecent; /* latest FRECENT_MAX event times (sessions) */
    fticket *tickets; int ntickets;
    int64_t *merges; int nmerges; /* times of merges into this profile */
    fmember *segs; int nsegs;     /* segments the customer is in */
    uint32_t defs_hash;
    fgen *gen; int ngen;          /* one per fdef */
    c360_arena *arena;            /* read-only state: where its strings and arrays live (else the heap) */
} fstate;
#define FORDERS_MAX 50
#define FACTS_MAX 200
#define FRECENT_MAX 500
#define FTICKETS_MAX 50

void fstate_init(fstate *s, const fsettings *cfg);
void fstate_release(fstate *s);
/* 0; 1 if encoded under other definitions or another rebuild generation (declarative features
 * then start empty; the built-in ones are kept); -1 corrupt (state reset) */
int fstate_decode(fstate *s, const fsettings *cfg, const void *buf, size_t n);
/* the same for a state that is only read (rendered, queried) and then released: its strings come
 * and arrays come from an arena; it must not be changed */
int fstate_decode_ro(fstate *s, const fsettings *cfg, const void *buf, size_t n);
void fstate_encode(fstate *s, const fsettings *cfg, strbuf *out);                /* prunes first */
/* applies one event (JSON parsed in j); returns 1 if the event was an order (ord = its index) */
int fstate_apply(fstate *s, const fsettings *cfg, const c360_event *ev, const c360_json *j, int *ord_idx);
void fstate_absorb(fstate *s, const fsettings *cfg, fstate *loser);

/* ---------------------------------------------------------------- fraud (fraud.c) */
typedef struct { double score; unsigned reasons; } frisk;
enum { FR_VELOCITY_1H, FR_VELOCITY_24H, FR_AMOUNT, FR_NEW_PAYMENT, FR_NEW_CARD, FR_ADDRESS, FR_CHURN, FR_NEW_LARGE, FR__N };
extern const char *const fraud_reason_names[FR__N];
struct c360_profile;
frisk fraud_score(const fstate *s, const fsettings *cfg, const struct c360_profile *p, const ford *o);

/* ---------------------------------------------------------------- the layer (features.c) */
typedef struct fcache fcache;   /* writer-side cache of shared counters (recs.c) */
typedef struct flive flive;     /* writer-side decoded states of the profiles changed since the last commit (features.c) */
typedef struct fpop fpop;       /* readers' cache of the most popular products (recs.c) */

/* a rebuild while serving (rebuild_live.c) */
enum { RB_IDLE, RB_RUNNING, RB_DONE, RB_FAILED };
typedef struct frebuild {
    int state;                    /* RB_*; with progress, under rb_mu (read by HTTP threads) */
    fsettings set;                /* the new settings, generation + 1 */
    fseg *segs; int nsegs;        /* the config file's segments */
    uint64_t cursor;              /* writer: customers below this pid are replayed */
    int at_end;
    uint64_t *redo; int nredo, credo; /* writer: replayed customers changed since */
    uint64_t profiles, events;
    int64_t started_ms, finished_ms;
    char err[256];
} frebuild;

struct c360_features {
    c360_store *store;
    const c360_config *cfg;
    fsettings set;
    pthread_rwlock_t seg_lock;    /* segments may be added by HTTP threads */
    fseg *segs; int nsegs;
    fcache *cache;
    flive *live;
    fpop *pop;
    _Atomic uint64_t pop_gen;     /* bumped by the writer when an order changes popularity */
    _Atomic int legacy_pairs;     /* the store still has per-pair counters ('F' 'c', read too) */
    uint64_t *pending_loser_pids; int npending; /* merged-away profiles whose memberships must go */
    fmember *pending_members; int npm;
    strbuf tmp;
    c360_json j;
    int quiet;                    /* replaying (rebuild): no notices, no alert records */
    struct c360_sink *sink;       /* where notices go (NULL: nowhere) */
    struct c360_whsink *whsink;
    pthread_rwlock_t set_lock;    /* readers vs. the swap of `set` at the end of a rebuild */
    pthread_mutex_t rb_mu;
    frebuild rb;
    _Atomic int rb_active;        /* a rebuild is replaying: the writer notes what it changes */
    _Atomic uint64_t m_late, m_alerts, m_orders, m_seg_enter, m_seg_exit;
};

/* writes every decoded state kept since the last commit back into its profile's `ext` (before
 * the profiles are written: c360_features_flush, and rebuild.c before it encodes a record) */
void flive_flush(c360_features *f);

/* recs.c */
fcache *fcache_new(void);
void fcache_free(fcache *c);
/* writes the counters bumped and the catalogue entries changed since the last flush into txn
 * (called right before every commit) */
void fcache_flush(fcache *c, c360_txn *txn);
/* 1 if the store has co-purchase counters of the per-pair layout (before counter maps) */
int recs_has_legacy_pairs(c360_store *s);
/* forgets every cached counter (the group that bumped them was abandoned) */
void fcache_discard(fcache *c);
void recs_on_order(c360_features *f, int64_t ts, const c360_json *j, int props);
/* the catalogue entry of a product object (name, price), kept for the flush if newer by event time */
void recs_catalog(c360_features *f, const c360_json *j, int obj, int64_t ts);
/* recommendations for a decoded state, JSON object into out */
int recs_query(c360_features *f, const fstate *s, int limit, int exclude_last, strbuf *out);
fpop *fpop_new(void);
void fpop_free(fpop *p);

/* segments.c */
void segs_update(c360_features *f, c360_txn *txn, const struct c360_profile *p, fstate *s, int64_t ts, int64_t now);
int seg_is_member(c360_features *f, const fseg *sg, const struct c360_profile *p, const fstate *s, int64_t now);

/* features.c: feature value lookup used by expressions: "features.NAME" and "traits.NAME" */
typedef struct { c360_features *f; const struct c360_profile *p; const fstate *s; int64_t now; strbuf scratch; } fprof_ctx;
int fprof_lookup(void *arg, const char *path, fval *out);
/* writes the value of feature `name` as JSON; 1 found, 0 unknown */
int feature_value(c360_features *f, const struct c360_profile *p, const fstate *s, int64_t now, const char *name,
                  strbuf *out, int64_t *updated);
void fmt_money(strbuf *out, int64_t fixed);

/* rebuild.c / rebuild_live.c */
int fevent_from_store(c360_event *ev, const char *json, size_t n, int64_t ts);
/* The replay walk both rebuilds share: the customers whose keys lie in [lo, hi), in key order;
 * a customer's record sorts before its events (by event time), so each is begun at its record,
 * given its stored events in time order, and ended before the next one begins. begin() answers
 * FREPLAY_GO, FREPLAY_SKIP (this customer is left out) or FREPLAY_STOP (the walk ends before
 * it: *stop_pid = its pid). Every customer begun with GO is ended, whatever stops the walk, so
 * end() may release what begin() took. Returns 1 when the walk reached hi, 0 when begin()
 * stopped it, -1 when end() failed. */
enum { FREPLAY_GO, FREPLAY_SKIP, FREPLAY_STOP };
typedef struct {
    int (*begin)(void *arg, uint64_t pid, const char *rec, size_t n);
    void (*event)(void *arg, const c360_event *ev);
    int (*end)(void *arg);         /* 0, or -1 to stop the walk */
    void *arg;
} freplay_cbs;
int freplay_walk(c360_store *st, const void *lo, size_t lol, const void *hi, size_t hil, const freplay_cbs *cb,
                 uint64_t *stop_pid);
/* decodes p's state; when it belongs to an older generation, the rebuilt one ('P' pid 'X') */
int fstate_load(c360_features *f, const struct c360_profile *p, fstate *s);
int fstate_load_ro(c360_features *f, const struct c360_profile *p, fstate *s);   /* fstate_decode_ro */
void frebuild_note(c360_features *f, uint64_t pid);   /* writer: pid changed */
uint32_t frebuild_load_gen(c360_store *st);
void frebuild_release(c360_features *f);

/* notices.c: an order at or above the threshold, a segment entry or exit (writer thread) */
void fnotice_alert(c360_features *f, c360_txn *txn, uint64_t pid, const ford *o, frisk r, int64_t now);
void fnotice_segment(c360_features *f, uint64_t pid, const char *segment, int entered, int64_t ts);

#endif
