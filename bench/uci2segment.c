/* uci2segment.c -- owns the benchmark's workload data: turns the real UCI "Online Retail" orders
 * (online_retail.csv.gz: InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,
 * CustomerID,Country) into Segment NDJSON events in time order, and optionally writes the counts
 * each customer's profile must show afterwards (the harness's correctness check).
 *
 * Per customer (rows without CustomerID are skipped):
 *   - an anonymous session before their first invoice: a page + "Product Viewed" for up to 3
 *     items of that invoice (anonymousId only);
 *   - identify: userId + anonymousId + traits {email, phone, country};
 *   - before each order: a page, "Product Viewed" for up to 4 and "Product Added" for up to 2 of
 *     its items, then "Order Completed" {order_id, products[{product_id,name,price,quantity}],
 *     revenue = sum qty*price, card_type (deterministic hash)};
 *   - a cancellation invoice ('C...') becomes one "Order Refunded".
 *
 * --scale N emits N copies of every customer. Copy 0 is the real customer (userId "uci-<id>",
 * email "c<id>@retail.example"); copy k>=1 uses "uci-<id>-k" and "c<id>.k@retail.example".
 * anonymousId, phone and messageId are made unique per copy too (otherwise identity resolution
 * would rightly merge the copies); timestamps and everything else are identical across copies.
 * --first-copy K starts at copy K (the harness uses it for fresh customers to ingest over HTTP).
 *
 * --holdout CASES --reveal REVEAL.ndjson (the recommendation-quality benchmark, bench/recs-quality):
 * for every customer with two or more orders, the last order (latest time, then file order) is
 * hidden: it, the page/views/adds generated for it and every later event of that customer are
 * left out of the output. CASES gets one line per scored case,
 *   userId TAB revealed_product TAB rest_1 TAB rest_2 ...
 * where revealed_product is the hidden order's first line item (CSV row order) and rest_* are the
 * other distinct products of the hidden order (all lines, even when the event would have been
 * truncated); hidden orders with a single distinct product are not scored, only counted. Before
 * the cases: "#skipped TAB N" and "#popular TAB p1 ... p11", the 11 products in the most output
 * orders (count desc, product_id asc; the products as the events carry them, so truncated lists
 * count as c360 sees them). REVEAL gets, per case, one "Product Viewed" of the revealed product at
 * max(hidden order - 9 min, the customer's last output order + 1 s), i.e. after the last order
 * the server knows of. --expected counts exclude the hidden events.
 *
 * The one deviation from the data: an order's products list is cut when the event would pass
 * ~24 KB (c360 limits events to 32 KB; 0.3% of orders have up to 542 lines); such orders carry
 * "products_truncated":true, revenue and item_count still cover every line.
 *
 * C11, libc + zlib. Output is deterministic (same input and options give the same bytes). */
#define _POSIX_C_SOURCE 200809L
#include "common.h"
#include "util/clock.h"   /* the project's own calendar arithmetic and time format */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DEFAULT_CSV "/work/shared/datasets/commerce/online_retail_uci/online_retail.csv.gz"
#define MAX_EVENT_PRODUCTS_BYTES (24 * 1024)

static char *xstrdup(const char *s, size_t n)
{
    char *r = xrealloc(NULL, n + 1);
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

/* ---- model ---- */
typedef struct {
    char *stock, *desc, *qty, *price; /* raw CSV text (numbers validated) */
    double qtyv, pricev;
    uint32_t inv;
    uint32_t row;
} item;

typedef struct {
    char *no;
    int64_t ts;    /* epoch seconds, UTC */
    uint32_t cust;
    int cancel;
    uint32_t first, n; /* into the items array after grouping */
    double revenue;
} invoice;

typedef struct {
    long cid;
    char *country;
    uint32_t first_inv;
    int have_first;
    uint32_t total, orders, refunds;
} customer;

enum { K_ANON_PAGE, K_ANON_VIEW, K_IDENTIFY, K_PAGE, K_VIEW, K_ADD, K_ORDER, K_REFUND };

typedef struct {
    int64_t ts; /* milliseconds */
    uint32_t seq, inv, cust;
    uint16_t item;
    uint8_t kind;
} bevent;

static item *items;
static size_t nitems, capitems;
static invoice *invs;
static size_t ninvs, capinvs;
static customer *custs;
static size_t ncusts, capcusts;
static bevent *evs;
static size_t nevs, capevs;

/* --holdout: per customer the hidden invoice (UINT32_MAX: none) and the time of the last order kept */
static uint32_t *hidden_inv;
static int64_t *kept_last_ms;

/* open-addressing hash tables: invoice number -> index, customer id -> index */
static uint32_t *inv_ht, *cust_ht;
static size_t inv_htcap = 1u << 16, cust_htcap = 1u << 14;

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}
#define FNV0 1469598103934665603ULL

static uint32_t inv_find(const char *no, size_t n, int64_t ts, uint32_t cust, int *created)
{
    size_t m = inv_htcap - 1, i = fnv(no, n, FNV0) & m;
    for (;; i = (i + 1) & m) {
        uint32_t v = inv_ht[i];
        if (v == 0) break;
        if (strlen(invs[v - 1].no) == n && !memcmp(invs[v - 1].no, no, n)) {
            *created = 0;
            return v - 1;
        }
    }
    if (ninvs * 2 >= inv_htcap) die("too many invoices");
    if (ninvs == capinvs) invs = xrealloc(invs, sizeof *invs * (capinvs = capinvs ? capinvs * 2 : 4096));
    invoice *v = &invs[ninvs];
    memset(v, 0, sizeof *v);
    v->no = xstrdup(no, n);
    v->ts = ts;
    v->cust = cust;
    v->cancel = no[0] == 'C';
    inv_ht[i] = (uint32_t)++ninvs;
    *created = 1;
    return (uint32_t)(ninvs - 1);
}

static uint32_t cust_find(long cid, const char *country, size_t clen)
{
    size_t m = cust_htcap - 1, i = fnv(&cid, sizeof cid, FNV0) & m;
    for (;; i = (i + 1) & m) {
        uint32_t v = cust_ht[i];
        if (v == 0) break;
        if (custs[v - 1].cid == cid) return v - 1;
    }
    if (ncusts * 2 >= cust_htcap) die("too many customers");
    if (ncusts == capcusts) custs = xrealloc(custs, sizeof *custs * (capcusts = capcusts ? capcusts * 2 : 1024));
    customer *c = &custs[ncusts];
    memset(c, 0, sizeof *c);
    c->cid = cid;
    c->country = xstrdup(country, clen);
    cust_ht[i] = (uint32_t)++ncusts;
    return (uint32_t)(ncusts - 1);
}

/* ---- time ---- */
static int parse_date(const char *s, size_t n, int64_t *out)
{
    int Y, M, D, h, mi, se = 0;
    char buf[32];
    if (n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (sscanf(buf, "%d-%d-%d %d:%d:%d", &Y, &M, &D, &h, &mi, &se) < 5) return -1;
    *out = c360_days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

/* ---- CSV ---- */
#define NF 8
static int split_csv(char *line, char *f[NF], size_t len[NF])
{
    int k = 0;
    char *p = line;
    while (k < NF) {
        if (*p == '"') {
            char *w = ++p, *start = p;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            f[k] = start;
            len[k] = (size_t)(w - start);
        } else {
            f[k] = p;
            while (*p && *p != ',' && *p != '\n' && *p != '\r') p++;
            len[k] = (size_t)(p - f[k]);
        }
        k++;
        if (*p == ',') p++;
        else break;
    }
    return k == NF ? 0 : -1;
}

static int is_number(const char *s, size_t n)
{
    size_t i = 0;
    int digits = 0, dot = 0;
    if (i < n && s[i] == '-') i++;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') digits++;
        else if (s[i] == '.' && !dot) dot = 1;
        else return 0;
    }
    return digits > 0 && s[n - 1] != '.' && !(s[0] == '.' || (s[0] == '-' && n > 1 && s[1] == '.'));
}

static void read_csv(const char *path)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        fprintf(stderr, "uci2segment: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    gzbuffer(gz, 1 << 20);
    inv_ht = xrealloc(NULL, inv_htcap * sizeof *inv_ht);
    memset(inv_ht, 0, inv_htcap * sizeof *inv_ht);
    cust_ht = xrealloc(NULL, cust_htcap * sizeof *cust_ht);
    memset(cust_ht, 0, cust_htcap * sizeof *cust_ht);
    char line[8192];
    unsigned long lineno = 0, skipped = 0;
    while (gzgets(gz, line, sizeof line)) {
        lineno++;
        if (lineno == 1) {
            static const char hdr[] = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";
            if (strncmp(line, hdr, sizeof hdr - 1))
                die("unexpected CSV header");
            continue;
        }
        char *f[NF];
        size_t l[NF];
        if (split_csv(line, f, l)) {
            fprintf(stderr, "uci2segment: line %lu: malformed CSV\n", lineno);
            exit(2);
        }
        if (l[6] == 0) {
            skipped++;
            continue;
        }
        if (!is_number(f[3], l[3]) || !is_number(f[5], l[5]) || !is_number(f[6], l[6])) {
            fprintf(stderr, "uci2segment: line %lu: bad number\n", lineno);
            exit(2);
        }
        int64_t ts;
        if (parse_date(f[4], l[4], &ts)) {
            fprintf(stderr, "uci2segment: line %lu: bad date\n", lineno);
            exit(2);
        }
        long cid = strtol(f[6], NULL, 10);
        uint32_t c = cust_find(cid, f[7], l[7]);
        int created;
        uint32_t iv = inv_find(f[0], l[0], ts, c, &created);
        if (ts < invs[iv].ts) invs[iv].ts = ts;
        if (nitems == capitems) items = xrealloc(items, sizeof *items * (capitems = capitems ? capitems * 2 : 65536));
        item *it = &items[nitems];
        /* trim trailing blanks of descriptions ("FANCY FONT BIRTHDAY CARD, ") */
        while (l[2] > 0 && f[2][l[2] - 1] == ' ') l[2]--;
        it->stock = xstrdup(f[1], l[1]);
        it->desc = xstrdup(f[2], l[2]);
        it->qty = xstrdup(f[3], l[3]);
        it->price = xstrdup(f[5], l[5]);
        it->qtyv = strtod(it->qty, NULL);
        it->pricev = strtod(it->price, NULL);
        it->inv = iv;
        it->row = (uint32_t)nitems;
        nitems++;
    }
    if (!gzeof(gz)) die("read error on the CSV");
    gzclose(gz);
    if (lineno < 2) die("empty CSV");
    (void)skipped;
}

static int cmp_item(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->inv != y->inv) return x->inv < y->inv ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static int cmp_ev(const void *a, const void *b)
{
    const bevent *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void add_ev(int64_t ts_ms, uint8_t kind, uint32_t inv, uint32_t cust, uint16_t it)
{
    if (nevs == capevs) evs = xrealloc(evs, sizeof *evs * (capevs = capevs ? capevs * 2 : 65536));
    evs[nevs] = (bevent){.ts = ts_ms, .seq = (uint32_t)nevs, .inv = inv, .cust = cust, .item = it, .kind = kind};
    nevs++;
    custs[cust].total++;
    if (kind == K_ORDER) custs[cust].orders++;
    if (kind == K_REFUND) custs[cust].refunds++;
}

static void build_events(void)
{
    qsort(items, nitems, sizeof *items, cmp_item);
    for (size_t i = 0; i < nitems; i++) {
        invoice *v = &invs[items[i].inv];
        if (v->n == 0) v->first = (uint32_t)i;
        v->n++;
        v->revenue += items[i].qtyv * items[i].pricev;
    }
    /* each customer's first invoice (earliest time, then file order) */
    for (size_t i = 0; i < ninvs; i++) {
        if (invs[i].cust >= ncusts) continue;
        customer *c = &custs[invs[i].cust];
        if (!c->have_first || invs[i].ts < invs[c->first_inv].ts) {
            c->first_inv = (uint32_t)i;
            c->have_first = 1;
        }
    }
    for (size_t c = 0; c < ncusts; c++) {
        invoice *f = &invs[custs[c].first_inv];
        int64_t T = f->ts * 1000;
        add_ev(T - 30 * 60000, K_ANON_PAGE, custs[c].first_inv, (uint32_t)c, 0);
        for (uint32_t i = 0; i < f->n && i < 3; i++)
            add_ev(T - 29 * 60000 + i * 45000, K_ANON_VIEW, custs[c].first_inv, (uint32_t)c, (uint16_t)i);
        add_ev(T - 20 * 60000, K_IDENTIFY, custs[c].first_inv, (uint32_t)c, 0);
    }
    for (size_t v = 0; v < ninvs; v++) {
        invoice *o = &invs[v];
        int64_t T = o->ts * 1000;
        if (o->cust >= ncusts) continue;
        if (o->cancel) {
            add_ev(T, K_REFUND, (uint32_t)v, o->cust, 0);
            continue;
        }
        add_ev(T - 10 * 60000, K_PAGE, (uint32_t)v, o->cust, 0);
        for (uint32_t i = 0; i < o->n && i < 4; i++)
            add_ev(T - 9 * 60000 + i * 30000, K_VIEW, (uint32_t)v, o->cust, (uint16_t)i);
        for (uint32_t i = 0; i < o->n && i < 2; i++)
            add_ev(T - 5 * 60000 + i * 30000, K_ADD, (uint32_t)v, o->cust, (uint16_t)i);
        add_ev(T, K_ORDER, (uint32_t)v, o->cust, 0);
    }
    qsort(evs, nevs, sizeof *evs, cmp_ev);
}

/* ---- output (buf: bench/common.h) ---- */
static void bjstr(buf *b, const char *s)
{
    bgrow(b, strlen(s) * 6 + 2);
    char *w = b->b + b->n;
    *w++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *w++ = '\\';
            *w++ = (char)*p;
        } else if (*p < 0x20) {
            w += sprintf(w, "\\u%04x", *p);
        } else {
            *w++ = (char)*p;
        }
    }
    *w++ = '"';
    b->n = (size_t)(w - b->b);
}

static void ids(buf *b, const customer *c, long k, int with_user)
{
    bprintf(b, "\"anonymousId\":\"anon-%ld-%ld\"", c->cid, k);
    if (with_user) {
        if (k == 0) bprintf(b, ",\"userId\":\"uci-%ld\"", c->cid);
        else bprintf(b, ",\"userId\":\"uci-%ld-%ld\"", c->cid, k);
    }
}

static void product_props(buf *b, const item *it)
{
    bputs(b, "\"product_id\":");
    bjstr(b, it->stock);
    bputs(b, ",\"name\":");
    bjstr(b, it->desc);
    bputs(b, ",\"price\":");
    bputs(b, it->price);
}

static uint32_t emitted_lines; /* products written by the latest emit() of an order */

static void emit(buf *b, const bevent *e, long k)
{
    const customer *c = &custs[e->cust];
    const invoice *v = &invs[e->inv];
    const item *it = &items[v->first + e->item];
    char ts[32];
    c360_time_format(e->ts, ts);   /* event times as the project writes them */
    switch (e->kind) {
    case K_ANON_PAGE:
    case K_PAGE:
        bputs(b, "{\"type\":\"page\",\"name\":\"Shop\",");
        ids(b, c, k, e->kind == K_PAGE);
        bputs(b, ",\"properties\":{\"path\":\"/shop\",\"url\":\"https://retail.example/shop\",\"title\":\"Shop\"}");
        break;
    case K_ANON_VIEW:
    case K_VIEW:
    case K_ADD:
        bprintf(b, "{\"type\":\"track\",\"event\":\"%s\",", e->kind == K_ADD ? "Product Added" : "Product Viewed");
        ids(b, c, k, e->kind != K_ANON_VIEW);
        bputs(b, ",\"properties\":{");
        product_props(b, it);
        if (e->kind == K_ADD) {
            bputs(b, ",\"quantity\":");
            bputs(b, it->qty);
        }
        bputs(b, "}");
        break;
    case K_IDENTIFY:
        bputs(b, "{\"type\":\"identify\",");
        ids(b, c, k, 1);
        if (k == 0) bprintf(b, ",\"traits\":{\"email\":\"c%ld@retail.example\"", c->cid);
        else bprintf(b, ",\"traits\":{\"email\":\"c%ld.%ld@retail.example\"", c->cid, k);
        bprintf(b, ",\"phone\":\"+44 7%05ld %05ld\",\"country\":", c->cid % 100000, k % 100000);
        bjstr(b, c->country);
        bputs(b, "}");
        break;
    case K_ORDER:
    case K_REFUND: {
        int refund = e->kind == K_REFUND;
        bprintf(b, "{\"type\":\"track\",\"event\":\"%s\",", refund ? "Order Refunded" : "Order Completed");
        ids(b, c, k, 1);
        bputs(b, ",\"properties\":{\"order_id\":");
        bjstr(b, v->no);
        bputs(b, ",\"currency\":\"GBP\",\"products\":[");
        size_t start = b->n;
        uint32_t i;
        for (i = 0; i < v->n && b->n - start < MAX_EVENT_PRODUCTS_BYTES; i++) {
            const item *p = &items[v->first + i];
            if (i) bputs(b, ",");
            bputs(b, "{");
            product_props(b, p);
            bputs(b, ",\"quantity\":");
            if (refund && p->qty[0] == '-') bputs(b, p->qty + 1);
            else bputs(b, p->qty);
            bputs(b, "}");
        }
        bputs(b, "]");
        emitted_lines = i;
        if (i < v->n) bputs(b, ",\"products_truncated\":true");
        bprintf(b, ",\"item_count\":%u", v->n);
        if (refund) {
            bprintf(b, ",\"total\":%.2f", -v->revenue + 0.0);
        } else {
            static const char *cards[] = {"visa", "mastercard", "amex", "maestro"};
            uint64_t h = fnv(v->no, strlen(v->no), fnv(&k, sizeof k, FNV0));
            bprintf(b, ",\"revenue\":%.2f,\"card_type\":\"%s\"", v->revenue + 0.0, cards[h % 4]);
        }
        bputs(b, "}");
        break;
    }
    }
    bprintf(b, ",\"timestamp\":\"%s\",\"messageId\":\"m-%ld-%u\"}\n", ts, k, e->seq);
}

/* ---- --holdout: leave the last order out ---- */
static int dropped(const bevent *e)
{
    if (!hidden_inv) return 0;
    uint32_t h = hidden_inv[e->cust];
    if (h == UINT32_MAX) return 0;
    if (e->ts > invs[h].ts * 1000) return 1; /* anything after the hidden order */
    return e->inv == h && (e->kind == K_PAGE || e->kind == K_VIEW || e->kind == K_ADD || e->kind == K_ORDER);
}

static void holdout_plan(void)
{
    hidden_inv = xrealloc(NULL, sizeof *hidden_inv * (ncusts ? ncusts : 1));
    kept_last_ms = xrealloc(NULL, sizeof *kept_last_ms * (ncusts ? ncusts : 1));
    for (size_t c = 0; c < ncusts; c++) hidden_inv[c] = UINT32_MAX, kept_last_ms[c] = INT64_MIN;
    for (size_t v = 0; v < ninvs; v++) { /* latest order by time, then file order */
        const invoice *o = &invs[v];
        if (o->cust >= ncusts || o->cancel || custs[o->cust].orders < 2) continue;
        uint32_t h = hidden_inv[o->cust];
        if (h == UINT32_MAX || o->ts >= invs[h].ts) hidden_inv[o->cust] = (uint32_t)v;
    }
    for (size_t i = 0; i < nevs; i++) {
        const bevent *e = &evs[i];
        if (!dropped(e)) {
            if (e->kind == K_ORDER && e->ts > kept_last_ms[e->cust]) kept_last_ms[e->cust] = e->ts;
            continue;
        }
        custs[e->cust].total--;
        if (e->kind == K_ORDER) custs[e->cust].orders--;
        if (e->kind == K_REFUND) custs[e->cust].refunds--;
    }
}

/* product popularity over the orders written: stock code -> count, counted once per order */
typedef struct { const char *id; uint64_t n; uint64_t gen; } prod;
static prod *prods;
static size_t prodcap = 1u << 15, nprods;

static prod *prod_get(const char *id)
{
    if (!prods) prods = calloc(prodcap, sizeof *prods);
    if (!prods) die("out of memory");
    size_t i = fnv(id, strlen(id), FNV0) & (prodcap - 1);
    while (prods[i].id && strcmp(prods[i].id, id)) i = (i + 1) & (prodcap - 1);
    if (!prods[i].id) {
        if (++nprods * 2 > prodcap) die("too many products");
        prods[i].id = id;
    }
    return &prods[i];
}

static void count_order(uint32_t inv, uint32_t lines, uint64_t gen)
{
    for (uint32_t i = 0; i < lines; i++) {
        prod *p = prod_get(items[invs[inv].first + i].stock);
        if (p->gen != gen) p->gen = gen, p->n++;
    }
}

static int cmp_pop(const void *a, const void *b)
{
    const prod *x = a, *y = b;
    if (!x->id || !y->id) return !x->id - !y->id;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->id, y->id);
}

static void holdout_write(const char *cases, const char *reveal, long first, long scale)
{
    FILE *fc = fopen(cases, "wb"), *fr = fopen(reveal, "wb");
    if (!fc || !fr) die("cannot open the --holdout/--reveal output files");
    size_t skipped = 0;
    for (size_t c = 0; c < ncusts; c++) {
        uint32_t h = hidden_inv[c];
        if (h == UINT32_MAX) continue;
        uint32_t distinct = 0;
        for (uint32_t i = 0; i < invs[h].n; i++) {
            int dup = 0;
            for (uint32_t j = 0; j < i && !dup; j++) dup = !strcmp(items[invs[h].first + i].stock, items[invs[h].first + j].stock);
            distinct += !dup;
        }
        if (distinct < 2) skipped++;
    }
    qsort(prods, prodcap, sizeof *prods, cmp_pop);
    fprintf(fc, "#skipped\t%zu\n#popular", skipped * (size_t)scale);
    for (size_t i = 0; i < 11 && i < nprods; i++) fprintf(fc, "\t%s", prods[i].id);
    fputc('\n', fc);
    buf b = {0};
    for (long k = first; k < first + scale; k++)
        for (size_t c = 0; c < ncusts; c++) {
            uint32_t h = hidden_inv[c];
            if (h == UINT32_MAX) continue;
            const invoice *o = &invs[h];
            const item *rv = &items[o->first];
            b.n = 0;
            if (k == 0) bprintf(&b, "uci-%ld\t%s", custs[c].cid, rv->stock);
            else bprintf(&b, "uci-%ld-%ld\t%s", custs[c].cid, k, rv->stock);
            uint32_t rest = 0;
            for (uint32_t i = 1; i < o->n; i++) {
                const char *s = items[o->first + i].stock;
                int dup = 0;
                for (uint32_t j = 0; j < i && !dup; j++) dup = !strcmp(items[o->first + j].stock, s);
                if (dup) continue;
                bprintf(&b, "\t%s", s);
                rest++;
            }
            if (!rest) continue;
            bputs(&b, "\n");
            if (fwrite(b.b, 1, b.n, fc) != b.n) die("write error on the cases file");
            int64_t t = o->ts * 1000 - 9 * 60000;
            if (t <= kept_last_ms[c]) t = kept_last_ms[c] + 1000;
            char ts[32];
            c360_time_format(t, ts);
            b.n = 0;
            bputs(&b, "{\"type\":\"track\",\"event\":\"Product Viewed\",");
            ids(&b, &custs[c], k, 1);
            bputs(&b, ",\"properties\":{");
            product_props(&b, rv);
            bprintf(&b, "},\"timestamp\":\"%s\",\"messageId\":\"m-%ld-r%u\"}\n", ts, k, h);
            if (fwrite(b.b, 1, b.n, fr) != b.n) die("write error on the reveal file");
        }
    free(b.b);
    if (fclose(fc) || fclose(fr)) die("write error on the --holdout/--reveal files");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: uci2segment [--csv FILE.csv.gz] [--scale N] [--first-copy K] [--customers N] [-o OUT] [--expected FILE] [--stats]\n"
               "  --csv FILE       the UCI Online Retail CSV (gzip), default " DEFAULT_CSV "\n"
               "  --scale N        copies of every customer (default 1)\n"
               "  --first-copy K   number of the first copy (default 0)\n"
               "  --customers N    only the first N customers of the file (smoke tests)\n"
               "  -o OUT           NDJSON output (default stdout)\n"
               "  --expected FILE  per customer copy: 'userId total_events orders_completed orders_refunded'\n"
               "  --stats          print customers/events/bytes to stderr\n"
               "  --holdout CASES --reveal FILE  leave every repeat customer's last order out (see the header)\n");
}

int main(int argc, char **argv)
{
    bench_init("uci2segment", 2);
    const char *csv = DEFAULT_CSV, *out = NULL, *expected = NULL, *holdout = NULL, *reveal = NULL;
    long scale = 1, first = 0, maxc = 0;
    int stats = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--csv") && v) csv = argv[++i];
        else if (!strcmp(a, "--scale") && v) scale = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--first-copy") && v) first = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "-o") && v) out = argv[++i];
        else if (!strcmp(a, "--expected") && v) expected = argv[++i];
        else if (!strcmp(a, "--customers") && v) maxc = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--holdout") && v) holdout = argv[++i];
        else if (!strcmp(a, "--reveal") && v) reveal = argv[++i];
        else if (!strcmp(a, "--stats")) stats = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (scale < 1 || scale > 100000 || first < 0 || first > 100000) die("--scale must be 1..100000, --first-copy 0..100000");
    read_csv(csv);
    if (maxc > 0 && (size_t)maxc < ncusts) ncusts = (size_t)maxc; /* the first N customers to appear */
    build_events();
    if (!holdout != !reveal) die("--holdout and --reveal go together");
    if (holdout) holdout_plan();

    FILE *fo = out && strcmp(out, "-") ? fopen(out, "wb") : stdout;
    if (!fo) die("cannot open the output file");
    static char obuf[1 << 20];
    setvbuf(fo, obuf, _IOFBF, sizeof obuf);
    buf b = {0};
    uint64_t bytes = 0, n = 0;
    for (size_t i = 0; i < nevs; i++) {
        if (dropped(&evs[i])) continue;
        for (long k = first; k < first + scale; k++) {
            emit(&b, &evs[i], k);
            n++;
            if (holdout && k == first && evs[i].kind == K_ORDER) count_order(evs[i].inv, emitted_lines, (uint64_t)i + 1);
        }
        if (b.n > (1u << 20)) {
            if (fwrite(b.b, 1, b.n, fo) != b.n) die("write error");
            bytes += b.n;
            b.n = 0;
        }
    }
    if (b.n && fwrite(b.b, 1, b.n, fo) != b.n) die("write error");
    bytes += b.n;
    b.n = 0;
    if (fflush(fo) || (fo != stdout && fclose(fo))) die("write error");
    if (holdout) holdout_write(holdout, reveal, first, scale);
    if (expected) {
        FILE *fe = fopen(expected, "wb");
        if (!fe) die("cannot open the expected-counts file");
        for (long k = first; k < first + scale; k++)
            for (size_t c = 0; c < ncusts; c++) {
                if (k == 0) fprintf(fe, "uci-%ld", custs[c].cid);
                else fprintf(fe, "uci-%ld-%ld", custs[c].cid, k);
                fprintf(fe, " %u %u %u\n", custs[c].total, custs[c].orders, custs[c].refunds);
            }
        if (fclose(fe)) die("write error on the expected-counts file");
    }
    if (stats) {
        uint64_t orders = 0, refunds = 0;
        for (size_t c = 0; c < ncusts; c++) orders += custs[c].orders, refunds += custs[c].refunds;
        fprintf(stderr, "uci2segment: %zu customers x %ld copies = %llu customers, %llu events (%llu orders, %llu refunds), %llu bytes\n",
                ncusts, scale, (unsigned long long)ncusts * (unsigned long long)scale, (unsigned long long)n,
                (unsigned long long)orders * (unsigned long long)scale, (unsigned long long)refunds * (unsigned long long)scale,
                (unsigned long long)bytes);
    }
    free(b.b);
    return 0;
}
