/* demo_shop.c - deterministic grocery-shop event generator behind `c360 gen-demo`.
 * Owns the product catalogue (with "affinity groups" bought together), the synthetic
 * customers, each customer's session story (anonymous browsing -> identify -> orders),
 * and the NDJSON rendering of Segment-spec events. Every customer and session is a pure
 * function of (seed, index), so the stream is produced day by day: memory is bounded by
 * the day's compact session list (16 bytes/session) plus the events of sessions in flight. */

#include "cli/demo_shop.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define MIN_MS 60000LL
#define SEC_MS 1000LL
#define MAX_SESS 8
#define MAX_CART 24
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ PRNG (splitmix64) */

enum { TAG_SCHED = 0x5c4ed, TAG_PROFILE = 0x9f0f11e, TAG_SESSION = 0x5e5510 };

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Independent stream for (seed, a, b, tag). */
static uint64_t rng_seed(uint64_t seed, uint64_t a, uint64_t b, uint64_t tag)
{
    uint64_t s = seed ^ 0x6a09e667f3bcc908ULL;
    uint64_t h = rng_next(&s);
    s = h ^ (a * 0x9E3779B97F4A7C15ULL);
    h = rng_next(&s);
    s = h ^ (b * 0xC2B2AE3D27D4EB4FULL);
    h = rng_next(&s);
    s = h ^ tag;
    return rng_next(&s);
}

static uint64_t rnd(uint64_t *s, uint64_t n) { return n ? rng_next(s) % n : 0; }

static int chance(uint64_t *s, double p)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0) < p;
}

/* Skewed towards small indices (a few best sellers). */
static uint64_t rnd_skew(uint64_t *s, uint64_t n)
{
    double u = (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
    uint64_t k = (uint64_t)(u * u * (double)n);
    return k < n ? k : n - 1;
}

/* ------------------------------------------------------------------ catalogue data */

enum { C_PRODUCE, C_DAIRY, C_BAKERY, C_PANTRY, C_DRINKS, C_FROZEN, C_HOUSEHOLD, C_SNACKS, C_MEAT, NCAT };
static const char *const cat_name[NCAT] = {"Produce", "Dairy",     "Bakery", "Pantry", "Drinks",
                                           "Frozen",  "Household", "Snacks", "Meat"};
static const char *const cat_slug[NCAT] = {"produce", "dairy",     "bakery", "pantry", "drinks",
                                           "frozen",  "household", "snacks", "meat"};

typedef struct {
    const char *name;
    int cat;
    int cents;
} base_item;

typedef struct {
    const char *name;
    base_item items[7]; /* terminated by name == NULL */
} group_def;

/* Affinity groups: orders tend to contain several items of one group. */
static const group_def groups[] = {
    {"pasta-night",
     {{"Spaghetti", C_PANTRY, 189}, {"Marinara Pasta Sauce", C_PANTRY, 349}, {"Parmesan Cheese", C_DAIRY, 599},
      {"Penne Pasta", C_PANTRY, 179}, {"Basil Pesto", C_PANTRY, 429}, {"Garlic Bread", C_BAKERY, 299}}},
    {"taco-night",
     {{"Tortilla Chips", C_SNACKS, 329}, {"Chunky Salsa", C_PANTRY, 379}, {"Guacamole Dip", C_PRODUCE, 449},
      {"Flour Tortillas", C_BAKERY, 279}, {"Shredded Cheddar", C_DAIRY, 399}, {"Ground Beef 1lb", C_MEAT, 649}}},
    {"breakfast",
     {{"Sourdough Bread", C_BAKERY, 449}, {"Salted Butter", C_DAIRY, 429}, {"Strawberry Jam", C_PANTRY, 329},
      {"Free Range Eggs 12ct", C_DAIRY, 459}, {"Whole Milk 1L", C_DAIRY, 199}, {"Ground Coffee", C_DRINKS, 899}}},
    {"movie-night",
     {{"Butter Popcorn", C_SNACKS, 299}, {"Potato Chips", C_SNACKS, 349}, {"Cola 6-Pack", C_DRINKS, 549},
      {"Milk Chocolate Bar", C_SNACKS, 199}, {"Sour Gummy Candy", C_SNACKS, 259},
      {"Vanilla Ice Cream", C_FROZEN, 499}}},
    {"fresh-salad",
     {{"Baby Spinach", C_PRODUCE, 349}, {"Cherry Tomatoes", C_PRODUCE, 399}, {"Feta Cheese", C_DAIRY, 479},
      {"Cucumber", C_PRODUCE, 99}, {"Avocado", C_PRODUCE, 149}, {"Extra Virgin Olive Oil", C_PANTRY, 999}}},
    {"home-cleaning",
     {{"Laundry Detergent", C_HOUSEHOLD, 1199}, {"Dish Soap", C_HOUSEHOLD, 349},
      {"Paper Towels 6-Roll", C_HOUSEHOLD, 899}, {"Trash Bags", C_HOUSEHOLD, 749},
      {"Kitchen Sponges", C_HOUSEHOLD, 299}}},
    {"bbq",
     {{"Burger Buns", C_BAKERY, 329}, {"Beef Patties 4ct", C_MEAT, 899}, {"Ketchup", C_PANTRY, 279},
      {"Yellow Mustard", C_PANTRY, 199}, {"Hot Dogs", C_MEAT, 499}, {"Charcoal Briquettes", C_HOUSEHOLD, 1299}}},
    {"baking",
     {{"All Purpose Flour", C_PANTRY, 399}, {"Granulated Sugar", C_PANTRY, 349}, {"Chocolate Chips", C_PANTRY, 449},
      {"Baking Soda", C_PANTRY, 129}, {"Vanilla Extract", C_PANTRY, 799}}},
    {"stir-fry",
     {{"Jasmine Rice", C_PANTRY, 599}, {"Soy Sauce", C_PANTRY, 299}, {"Firm Tofu", C_PRODUCE, 249},
      {"Ramen Noodles", C_PANTRY, 149}, {"Toasted Sesame Oil", C_PANTRY, 549},
      {"Frozen Stir Fry Vegetables", C_FROZEN, 379}}},
    {"smoothie",
     {{"Organic Bananas", C_PRODUCE, 79}, {"Greek Yogurt", C_DAIRY, 549}, {"Frozen Mixed Berries", C_FROZEN, 699},
      {"Clover Honey", C_PANTRY, 649}, {"Oat Milk 1L", C_DRINKS, 429}, {"Honey Almond Granola", C_PANTRY, 499}}},
};
#define NGROUPS ((int)NELEM(groups))

/* Products that belong to no group. */
static const base_item fillers[] = {
    {"Gala Apples", C_PRODUCE, 399},       {"Navel Oranges", C_PRODUCE, 449},
    {"Red Grapes", C_PRODUCE, 499},        {"Strawberries", C_PRODUCE, 429},
    {"Blueberries", C_PRODUCE, 549},       {"Carrots", C_PRODUCE, 149},
    {"Broccoli Crowns", C_PRODUCE, 249},   {"Yellow Onions", C_PRODUCE, 199},
    {"Russet Potatoes", C_PRODUCE, 449},   {"Lemons", C_PRODUCE, 99},
    {"Garlic Bulb", C_PRODUCE, 69},        {"Romaine Lettuce", C_PRODUCE, 279},
    {"Low Fat Milk 2L", C_DAIRY, 349},     {"Cheddar Block", C_DAIRY, 499},
    {"Fresh Mozzarella", C_DAIRY, 529},    {"Sour Cream", C_DAIRY, 229},
    {"Cream Cheese", C_DAIRY, 299},        {"Cottage Cheese", C_DAIRY, 389},
    {"Heavy Cream", C_DAIRY, 449},         {"Almond Milk 1L", C_DRINKS, 399},
    {"Whole Wheat Bread", C_BAKERY, 349},  {"Bagels 6ct", C_BAKERY, 429},
    {"Croissants 4ct", C_BAKERY, 549},     {"Blueberry Muffins", C_BAKERY, 499},
    {"Dinner Rolls", C_BAKERY, 319},       {"Cinnamon Rolls", C_BAKERY, 579},
    {"Peanut Butter", C_PANTRY, 399},      {"Canned Black Beans", C_PANTRY, 129},
    {"Canned Tuna", C_PANTRY, 189},        {"Chicken Noodle Soup", C_PANTRY, 229},
    {"Rolled Oats", C_PANTRY, 449},        {"Corn Flakes", C_PANTRY, 389},
    {"Maple Syrup", C_PANTRY, 999},        {"Basmati Rice", C_PANTRY, 649},
    {"Apple Cider Vinegar", C_PANTRY, 379}, {"Sea Salt", C_PANTRY, 249},
    {"Orange Juice 1L", C_DRINKS, 449},    {"Sparkling Water 12-Pack", C_DRINKS, 599},
    {"Green Tea", C_DRINKS, 399},          {"Apple Juice", C_DRINKS, 329},
    {"Lemonade", C_DRINKS, 279},           {"Cold Brew Coffee", C_DRINKS, 499},
    {"Energy Drink", C_DRINKS, 299},       {"Spring Water 24-Pack", C_DRINKS, 699},
    {"Frozen Pizza", C_FROZEN, 649},       {"Frozen Peas", C_FROZEN, 199},
    {"Fish Sticks", C_FROZEN, 549},        {"Frozen Waffles", C_FROZEN, 349},
    {"Chicken Nuggets", C_FROZEN, 799},    {"Mango Sorbet", C_FROZEN, 529},
    {"Toilet Paper 12-Roll", C_HOUSEHOLD, 1299}, {"Hand Soap", C_HOUSEHOLD, 329},
    {"Aluminum Foil", C_HOUSEHOLD, 449},   {"Zip Storage Bags", C_HOUSEHOLD, 399},
    {"Glass Cleaner", C_HOUSEHOLD, 379},   {"LED Light Bulbs", C_HOUSEHOLD, 899},
    {"Salted Pretzels", C_SNACKS, 279},    {"Trail Mix", C_SNACKS, 599},
    {"Rice Cakes", C_SNACKS, 249},         {"Granola Bars", C_SNACKS, 449},
    {"Salted Peanuts", C_SNACKS, 349},     {"Cheese Crackers", C_SNACKS, 299},
    {"Chicken Breast", C_MEAT, 899},       {"Smoked Bacon", C_MEAT, 699},
    {"Pork Chops", C_MEAT, 849},           {"Salmon Fillet", C_MEAT, 1299},
    {"Turkey Slices", C_MEAT, 549},        {"Italian Sausage", C_MEAT, 649},
};

/* Catalogue beyond the base items: variants of the base items (same group). */
static const struct {
    const char *prefix;
    int pct;
} variants[] = {
    {"", 100},           {"Family Size ", 175}, {"Value ", 80},   {"Premium ", 140}, {"Store Brand ", 70},
    {"Fresh Pick ", 110}, {"Deluxe ", 160},      {"Everyday ", 90}, {"Select ", 120},  {"Mini ", 60},
};

/* ------------------------------------------------------------------ customer data */

static const char *const first_names[] = {
    "Ann",    "Ben",   "Carla", "David", "Emma",  "Frank", "Grace", "Henry",  "Isla",  "Jack",
    "Karen",  "Liam",  "Maya",  "Noah",  "Olive", "Paul",  "Quinn", "Rosa",   "Sam",   "Tara",
    "Umar",   "Vera",  "Will",  "Xena",  "Yusuf", "Zoe",   "Alice", "Bruno",  "Chloe", "Diego",
    "Elena",  "Felix", "Gina",  "Hugo",  "Ivy",   "Jonas", "Kira",  "Leo",    "Mia",   "Nina",
    "Oscar",  "Priya", "Ravi",  "Sofia", "Theo",  "Uma",   "Victor", "Wendy",
};
static const char *const last_names[] = {
    "Smith",  "Johnson", "Garcia",  "Brown",  "Miller", "Davis",  "Lopez",  "Wilson", "Moore",
    "Taylor", "Thomas",  "Lee",     "Martin", "Clark",  "Lewis",  "Walker", "Hall",   "Young",
    "King",   "Wright",  "Scott",   "Green",  "Baker",  "Adams",  "Nelson", "Hill",   "Campbell",
    "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Torres", "Parker", "Collins",
    "Edwards", "Stewart", "Morris", "Nguyen", "Murphy", "Rivera", "Cook",   "Rogers", "Morgan",
    "Patel",  "Kim",     "Chen",
};
static const struct {
    const char *name;
    int zip3; /* first three postal-code digits */
} cities[] = {
    {"Portland", 972},  {"Austin", 787},    {"Denver", 802},     {"Boston", 21},      {"Seattle", 981},
    {"Chicago", 606},   {"Atlanta", 303},   {"Phoenix", 850},    {"Madison", 537},    {"Raleigh", 276},
    {"Columbus", 432},  {"Nashville", 372}, {"San Diego", 921},  {"Minneapolis", 554}, {"Pittsburgh", 152},
    {"Sacramento", 958},
};
static const char *const street_names[] = {"Maple", "Oak",   "Pine",    "Cedar", "Elm",    "Lake",
                                           "Hill",  "Park",  "Main",    "Washington", "River", "Sunset",
                                           "Highland", "Forest", "Meadow", "Church"};
static const char *const street_sfx[] = {"St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Way", "Ct"};
static const char *const card_types[] = {"visa", "mastercard", "amex", "discover"};
static const int card_weight[] = {45, 30, 15, 10};
static const char *const ua_desktop = "Mozilla/5.0 (Macintosh; Intel Mac OS X) Safari/17.0";
static const char *const ua_mobile = "Mozilla/5.0 (iPhone; CPU iPhone OS 17) Mobile/15E148";

/* Session start hour weights (UTC), shoppers favour evenings. */
static const int hour_weight[24] = {1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 8, 8, 9, 8, 7, 7, 8, 9, 10, 11, 10, 8, 5, 3};
/* Weights of "this customer would like n sessions", n = 1..MAX_SESS. */
static const int nsess_weight[MAX_SESS] = {10, 15, 20, 18, 14, 10, 7, 6};

#define NPHONE_FMT 6

/* ------------------------------------------------------------------ types */

typedef struct {
    char id[16];
    char name[64];
    int cat;
    int group; /* index into groups[], -1 for none */
    int64_t cents;
} product;

typedef struct {
    int64_t start;
    uint64_t cust; /* 1-based */
    uint32_t k;    /* session index within the customer's story */
} sess_rec;

typedef struct {
    int64_t ts;
    uint64_t seq;
    char *txt; /* event body without the leading '{"messageId":..,' */
    size_t len;
} heap_item;

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

struct c360_demo {
    c360_demo_opts o;
    int64_t period_end;
    product *cat;
    size_t ncat;
    uint32_t *grp_items[NGROUPS];
    size_t grp_n[NGROUPS];
    int nonempty[NGROUPS]; /* group indices that have products */
    int n_nonempty;

    int day;         /* current day index, -1 before the first */
    int64_t day_end; /* events before this are emitted for the current day */
    sess_rec *sched;
    size_t nsched, sched_pos, sched_cap;

    heap_item *heap;
    size_t nheap, heap_cap;
    uint64_t push_seq, msg_seq, order_seq, emitted;

    sbuf scratch;
    int64_t date_day; /* cache for timestamp rendering */
    char date_str[16];
    int failed;
};

typedef struct {
    uint64_t idx;
    char user_id[24];
    const char *first, *last;
    char email[96];
    char phone[32], phone_alt[32];
    const char *city;
    char street[64];
    char postal[8];
    const char *card;
    char anon1[40], anon2[40];
    int ip1, ip2;
    int mobile, second_device, newsletter, addr_in_traits;
    int fav[2];
    uint64_t pick;
} profile;

typedef struct {
    int n;
    int64_t start[MAX_SESS];
} sched_t;

typedef struct {
    uint32_t prod, qty;
} cart_line;

typedef struct {
    c360_demo *d;
    const profile *p;
    uint64_t rng;
    int64_t t;
    const char *anon;
    int ip;
    const char *ua;
    int logged_in;
    int focus, other; /* groups, -1 if none */
    int last_cat;
    cart_line cart[MAX_CART];
    int ncart;
} sess;

/* ------------------------------------------------------------------ string buffer */

static int sb_grow(sbuf *b, size_t extra)
{
    if (b->oom) return -1;
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (sb_grow(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

#define SB_LIT(b, s) sb_put((b), "" s, sizeof(s) - 1)

/* String content: plain printable ASCII without '"' or '\\' (no escaping needed). */
static void sb_raw(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (sb_grow(b, n)) return;
    char *o = b->p + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        assert(c >= 0x20 && c < 0x7f && c != '"' && c != '\\');
        o[i] = (char)c;
    }
    b->len += n;
}

static void sb_str(sbuf *b, const char *s)
{
    SB_LIT(b, "\"");
    sb_raw(b, s);
    SB_LIT(b, "\"");
}

static void sb_u64(sbuf *b, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (sb_grow(b, (size_t)n)) return;
    while (n) b->p[b->len++] = tmp[--n];
}

static void sb_pad(sbuf *b, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width) tmp[n++] = '0';
    if (sb_grow(b, (size_t)n)) return;
    while (n) b->p[b->len++] = tmp[--n];
}

static void sb_money(sbuf *b, int64_t cents)
{
    assert(cents >= 0);
    sb_u64(b, (uint64_t)cents / 100);
    SB_LIT(b, ".");
    sb_pad(b, (uint64_t)cents % 100, 2);
}

/* ------------------------------------------------------------------ calendar */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned dd)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + dd - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *dd)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *dd = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int c360_demo_parse_date(const char *s, int64_t *ms_out)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    unsigned dd = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    if (y < 1970 || m < 1 || m > 12 || dd < 1) return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (dd > dim[m - 1] + (m == 2 && leap)) return -1;
    *ms_out = days_from_civil(y, m, dd) * DAY_MS;
    return 0;
}

/* "2026-10-01T08:15:03.120Z" with quotes. */
static void sb_ts(c360_demo *d, sbuf *b, int64_t ms)
{
    int64_t day = ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
    int64_t rem = ms - day * DAY_MS;
    if (day != d->date_day) {
        int64_t y;
        unsigned m, dd;
        civil_from_days(day, &y, &m, &dd);
        snprintf(d->date_str, sizeof d->date_str, "%04d-%02u-%02u", (int)(y % 10000), m % 100, dd % 100);
        d->date_day = day;
    }
    char t[32];
    memcpy(t, "\"", 1);
    memcpy(t + 1, d->date_str, 10);
    unsigned h = (unsigned)(rem / HOUR_MS), mi = (unsigned)(rem / MIN_MS % 60), se = (unsigned)(rem / SEC_MS % 60),
             ml = (unsigned)(rem % 1000);
    char *o = t + 11;
    *o++ = 'T';
    *o++ = (char)('0' + h / 10), *o++ = (char)('0' + h % 10), *o++ = ':';
    *o++ = (char)('0' + mi / 10), *o++ = (char)('0' + mi % 10), *o++ = ':';
    *o++ = (char)('0' + se / 10), *o++ = (char)('0' + se % 10), *o++ = '.';
    *o++ = (char)('0' + ml / 100), *o++ = (char)('0' + ml / 10 % 10), *o++ = (char)('0' + ml % 10);
    *o++ = 'Z';
    *o++ = '"';
    sb_put(b, t, (size_t)(o - t));
}

/* ------------------------------------------------------------------ heap of pending events */

static int item_less(const heap_item *a, const heap_item *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static void heap_push(c360_demo *d, int64_t ts, const char *txt, size_t len)
{
    if (d->failed) return;
    if (d->nheap == d->heap_cap) {
        size_t cap = d->heap_cap ? d->heap_cap * 2 : 1024;
        heap_item *h = realloc(d->heap, cap * sizeof *h);
        if (!h) {
            d->failed = 1;
            return;
        }
        d->heap = h;
        d->heap_cap = cap;
    }
    char *copy = malloc(len);
    if (!copy) {
        d->failed = 1;
        return;
    }
    memcpy(copy, txt, len);
    heap_item it = {ts, d->push_seq++, copy, len};
    size_t i = d->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!item_less(&it, &d->heap[parent])) break;
        d->heap[i] = d->heap[parent];
        i = parent;
    }
    d->heap[i] = it;
}

static heap_item heap_pop(c360_demo *d)
{
    heap_item top = d->heap[0];
    heap_item last = d->heap[--d->nheap];
    size_t i = 0, n = d->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && item_less(&d->heap[c + 1], &d->heap[c])) c++;
        if (!item_less(&d->heap[c], &last)) break;
        d->heap[i] = d->heap[c];
        i = c;
    }
    if (n) d->heap[i] = last;
    return top;
}

/* ------------------------------------------------------------------ catalogue */

static int build_catalog(c360_demo *d)
{
    size_t nbase_grp = 0;
    for (int g = 0; g < NGROUPS; g++)
        for (int j = 0; groups[g].items[j].name; j++) nbase_grp++;
    size_t nbase = nbase_grp + NELEM(fillers);
    const base_item **order = malloc(nbase * sizeof *order);
    int *order_grp = malloc(nbase * sizeof *order_grp);
    d->ncat = (size_t)d->o.products;
    d->cat = calloc(d->ncat, sizeof *d->cat);
    if (!order || !order_grp || !d->cat) {
        free(order);
        free(order_grp);
        return -1;
    }
    /* Group items interleaved (so a small catalogue still has every group), then fillers. */
    size_t n = 0;
    for (int j = 0; j < 7; j++)
        for (int g = 0; g < NGROUPS; g++)
            if (groups[g].items[j].name) {
                order[n] = &groups[g].items[j];
                order_grp[n++] = g;
            }
    for (size_t f = 0; f < NELEM(fillers); f++) {
        order[n] = &fillers[f];
        order_grp[n++] = -1;
    }
    assert(n == nbase);

    for (size_t i = 0; i < d->ncat; i++) {
        product *p = &d->cat[i];
        const base_item *b = order[i % nbase];
        size_t round = i / nbase, v = round % NELEM(variants), series = round / NELEM(variants);
        snprintf(p->id, sizeof p->id, "sku-%04u", (unsigned)(i + 1));
        if (series)
            snprintf(p->name, sizeof p->name, "%s%s Batch %u", variants[v].prefix, b->name, (unsigned)(series + 1));
        else
            snprintf(p->name, sizeof p->name, "%s%s", variants[v].prefix, b->name);
        p->cat = b->cat;
        p->group = order_grp[i % nbase];
        int64_t c = (int64_t)b->cents * variants[v].pct / 100;
        if (c >= 20) c = c - c % 10 + 9; /* grocery pricing: x.x9 */
        p->cents = c < 19 ? 19 : c;
    }
    free(order);
    free(order_grp);

    for (int g = 0; g < NGROUPS; g++) {
        size_t cnt = 0;
        for (size_t i = 0; i < d->ncat; i++) cnt += d->cat[i].group == g;
        d->grp_n[g] = 0;
        if (!cnt) continue;
        d->grp_items[g] = malloc(cnt * sizeof(uint32_t));
        if (!d->grp_items[g]) return -1;
        for (size_t i = 0; i < d->ncat; i++)
            if (d->cat[i].group == g) d->grp_items[g][d->grp_n[g]++] = (uint32_t)i;
        d->nonempty[d->n_nonempty++] = g;
    }
    return 0;
}

char *c360_demo_catalog_json(const c360_demo *d)
{
    sbuf b = {0};
    SB_LIT(&b, "[");
    for (size_t i = 0; i < d->ncat; i++) {
        const product *p = &d->cat[i];
        if (i) SB_LIT(&b, ",");
        SB_LIT(&b, "{\"product_id\":");
        sb_str(&b, p->id);
        SB_LIT(&b, ",\"name\":");
        sb_str(&b, p->name);
        SB_LIT(&b, ",\"category\":");
        sb_str(&b, cat_name[p->cat]);
        SB_LIT(&b, ",\"price\":");
        sb_money(&b, p->cents);
        SB_LIT(&b, ",\"affinity_group\":");
        if (p->group >= 0)
            sb_str(&b, groups[p->group].name);
        else
            SB_LIT(&b, "null");
        SB_LIT(&b, "}");
    }
    SB_LIT(&b, "]");
    sb_put(&b, "", 1); /* NUL */
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ------------------------------------------------------------------ customers */

static void lower_into(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++) dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
    dst[i] = 0;
}

static void make_uuid(uint64_t *s, char out[40])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t a = rng_next(s), b = rng_next(s);
    a = (a & ~0xF000ULL) | 0x4000ULL;                                 /* version 4 */
    b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;          /* variant 10 */
    int o = 0;
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20) out[o++] = '-';
        uint64_t w = i < 16 ? a : b;
        out[o++] = hex[(w >> (60 - 4 * (i % 16))) & 0xF];
    }
    out[o] = 0;
}

static void format_phone(char *out, size_t cap, int fmt, unsigned area, unsigned ex, unsigned line)
{
    switch (fmt) {
    case 0: snprintf(out, cap, "+1 (%03u) %03u-%04u", area, ex, line); break;
    case 1: snprintf(out, cap, "%03u.%03u.%04u", area, ex, line); break;
    case 2: snprintf(out, cap, "+1%03u%03u%04u", area, ex, line); break;
    case 3: snprintf(out, cap, "+1 %03u %03u %04u", area, ex, line); break;
    case 4: snprintf(out, cap, "(%03u) %03u-%04u", area, ex, line); break;
    default: snprintf(out, cap, "%03u-%03u-%04u", area, ex, line); break;
    }
}

static int pick_weighted(uint64_t *s, const int *w, int n)
{
    int sum = 0;
    for (int i = 0; i < n; i++) sum += w[i];
    int r = (int)rnd(s, (uint64_t)sum);
    for (int i = 0; i < n; i++) {
        if (r < w[i]) return i;
        r -= w[i];
    }
    return n - 1;
}

static void make_profile(const c360_demo *d, uint64_t i, profile *p)
{
    uint64_t s = rng_seed(d->o.seed, i, 0, TAG_PROFILE);
    p->idx = i;
    snprintf(p->user_id, sizeof p->user_id, "u%" PRIu64, i);
    p->first = first_names[rnd(&s, NELEM(first_names))];
    p->last = last_names[rnd(&s, NELEM(last_names))];
    char lf[24], ll[24];
    lower_into(lf, sizeof lf, p->first);
    lower_into(ll, sizeof ll, p->last);
    snprintf(p->email, sizeof p->email, "%s.%s%" PRIu64 "@example.com", lf, ll, i);

    /* Unique per customer: 555-01x-xxxx for the first 100k, then further area codes. */
    uint64_t block = (i - 1) / 100000, within = ((i - 1) % 100000 * 7919 + 4321) % 100000;
    unsigned area = (unsigned)(555 + block);
    if (area > 999) area = 200 + (area - 200) % 800;
    unsigned local = (unsigned)(100000 + within);
    int fmt = (int)rnd(&s, NPHONE_FMT);
    int alt = (fmt + 1 + (int)rnd(&s, NPHONE_FMT - 1)) % NPHONE_FMT;
    format_phone(p->phone, sizeof p->phone, fmt, area, local / 10000, local % 10000);
    format_phone(p->phone_alt, sizeof p->phone_alt, alt, area, local / 10000, local % 10000);

    unsigned ci = (unsigned)rnd(&s, NELEM(cities));
    p->city = cities[ci].name;
    snprintf(p->street, sizeof p->street, "%u %s %s", (unsigned)(1 + rnd(&s, 9899)),
             street_names[rnd(&s, NELEM(street_names))], street_sfx[rnd(&s, NELEM(street_sfx))]);
    snprintf(p->postal, sizeof p->postal, "%03u%02u", (unsigned)cities[ci].zip3 % 1000, (unsigned)rnd(&s, 100));
    p->card = card_types[pick_weighted(&s, card_weight, (int)NELEM(card_weight))];
    make_uuid(&s, p->anon1);
    make_uuid(&s, p->anon2);
    p->ip1 = 1 + (int)rnd(&s, 254);
    p->ip2 = 1 + (int)rnd(&s, 254);
    p->mobile = chance(&s, 0.45);
    p->second_device = chance(&s, 0.12);
    p->newsletter = chance(&s, 0.2);
    p->addr_in_traits = chance(&s, 0.8);
    int ne = d->n_nonempty;
    p->fav[0] = ne ? d->nonempty[rnd(&s, (uint64_t)ne)] : -1;
    p->fav[1] = ne > 1 ? d->nonempty[rnd(&s, (uint64_t)ne)] : p->fav[0];
    if (ne > 1 && p->fav[1] == p->fav[0]) p->fav[1] = d->nonempty[rnd(&s, (uint64_t)ne)];
    p->pick = rng_next(&s);
}

static int64_t time_of_day(uint64_t *s)
{
    return pick_weighted(s, hour_weight, 24) * HOUR_MS + (int64_t)rnd(s, (uint64_t)HOUR_MS);
}

/* Session starts of customer i that begin before `until` (and inside the period). */
static void schedule(const c360_demo *d, uint64_t i, sched_t *sc, int64_t until)
{
    uint64_t s = rng_seed(d->o.seed, i, 0, TAG_SCHED);
    int64_t day = (int64_t)rnd(&s, (uint64_t)d->o.days);
    int64_t t = d->o.start_ms + day * DAY_MS + time_of_day(&s);
    sc->n = 0;
    if (t >= until || t >= d->period_end) return;
    int want = 1 + pick_weighted(&s, nsess_weight, MAX_SESS);
    for (int k = 0; k < want; k++) {
        if (t >= until || t >= d->period_end) break;
        sc->start[sc->n++] = t;
        if (chance(&s, 0.3)) {
            t += 2 * HOUR_MS + (int64_t)rnd(&s, (uint64_t)(8 * HOUR_MS)); /* same or next day */
        } else {
            day = (t - d->o.start_ms) / DAY_MS + 1 + (int64_t)rnd(&s, 6);
            t = d->o.start_ms + day * DAY_MS + time_of_day(&s);
        }
    }
}

/* ------------------------------------------------------------------ events */

static void tick(sess *ss, int64_t lo, int64_t hi) { ss->t += lo + (int64_t)rnd(&ss->rng, (uint64_t)(hi - lo)); }

/* Opens the scratch body: "type", event/name, ids, timestamp, context. */
static sbuf *ev_begin(sess *ss, const char *type, const char *namekey, const char *name)
{
    c360_demo *d = ss->d;
    sbuf *b = &d->scratch;
    b->len = 0;
    SB_LIT(b, "\"type\":");
    sb_str(b, type);
    if (namekey) {
        SB_LIT(b, ",\"");
        sb_raw(b, namekey);
        SB_LIT(b, "\":");
        sb_str(b, name);
    }
    if (ss->logged_in) {
        SB_LIT(b, ",\"userId\":");
        sb_str(b, ss->p->user_id);
    }
    if (ss->anon) {
        SB_LIT(b, ",\"anonymousId\":");
        sb_str(b, ss->anon);
    }
    SB_LIT(b, ",\"timestamp\":");
    sb_ts(d, b, ss->t);
    SB_LIT(b, ",\"context\":{\"ip\":\"203.0.113.");
    sb_u64(b, (uint64_t)ss->ip);
    SB_LIT(b, "\",\"userAgent\":");
    sb_str(b, ss->ua);
    SB_LIT(b, ",\"library\":{\"name\":\"c360-demo\",\"version\":\"1\"}}");
    return b;
}

static void ev_end(sess *ss)
{
    sbuf *b = &ss->d->scratch;
    SB_LIT(b, "}");
    if (b->oom) {
        ss->d->failed = 1;
        return;
    }
    heap_push(ss->d, ss->t, b->p, b->len);
}

static void put_product(sbuf *b, const product *p)
{
    SB_LIT(b, "\"product_id\":");
    sb_str(b, p->id);
    SB_LIT(b, ",\"name\":");
    sb_str(b, p->name);
    SB_LIT(b, ",\"category\":");
    sb_str(b, cat_name[p->cat]);
    SB_LIT(b, ",\"price\":");
    sb_money(b, p->cents);
}

static void put_address(sbuf *b, const char *street, const char *city, const char *postal)
{
    SB_LIT(b, "{\"street\":");
    sb_str(b, street);
    SB_LIT(b, ",\"city\":");
    sb_str(b, city);
    SB_LIT(b, ",\"postal_code\":");
    sb_str(b, postal);
    SB_LIT(b, ",\"country\":\"US\"}");
}

static void ev_page(sess *ss, const char *name, const char *path, const char *title, int cat)
{
    sbuf *b = ev_begin(ss, "page", "name", name);
    SB_LIT(b, ",\"properties\":{\"url\":\"https://shop.example.com");
    sb_raw(b, path);
    SB_LIT(b, "\",\"path\":");
    sb_str(b, path);
    SB_LIT(b, ",\"title\":\"");
    sb_raw(b, title);
    SB_LIT(b, " - Demo Grocer\"");
    if (cat >= 0) {
        SB_LIT(b, ",\"category\":");
        sb_str(b, cat_name[cat]);
    }
    SB_LIT(b, "}");
    ev_end(ss);
}

static void ev_product(sess *ss, const char *event, uint32_t prod, uint32_t qty)
{
    sbuf *b = ev_begin(ss, "track", "event", event);
    SB_LIT(b, ",\"properties\":{");
    put_product(b, &ss->d->cat[prod]);
    if (qty) {
        SB_LIT(b, ",\"quantity\":");
        sb_u64(b, qty);
    }
    SB_LIT(b, "}");
    ev_end(ss);
}

static void ev_identify_full(sess *ss)
{
    const profile *p = ss->p;
    sbuf *b = ev_begin(ss, "identify", NULL, NULL);
    SB_LIT(b, ",\"traits\":{\"email\":");
    sb_str(b, p->email);
    SB_LIT(b, ",\"phone\":");
    sb_str(b, p->phone);
    SB_LIT(b, ",\"name\":\"");
    sb_raw(b, p->first);
    SB_LIT(b, " ");
    sb_raw(b, p->last);
    SB_LIT(b, "\",\"first_name\":");
    sb_str(b, p->first);
    SB_LIT(b, ",\"last_name\":");
    sb_str(b, p->last);
    SB_LIT(b, ",\"city\":");
    sb_str(b, p->city);
    if (p->addr_in_traits) {
        SB_LIT(b, ",\"address\":");
        put_address(b, p->street, p->city, p->postal);
    }
    SB_LIT(b, ",\"created_at\":");
    sb_ts(ss->d, b, ss->t);
    SB_LIT(b, "}");
    ev_end(ss);
}

/* traits with email only (newsletter signup), or email + phone (login on another device). */
static void ev_identify_small(sess *ss, const char *phone)
{
    sbuf *b = ev_begin(ss, "identify", NULL, NULL);
    SB_LIT(b, ",\"traits\":{\"email\":");
    sb_str(b, ss->p->email);
    if (phone) {
        SB_LIT(b, ",\"phone\":");
        sb_str(b, phone);
    }
    SB_LIT(b, "}");
    ev_end(ss);
}

static uint32_t pick_product(sess *ss)
{
    c360_demo *d = ss->d;
    uint64_t r = rnd(&ss->rng, 100);
    int g = r < 65 ? ss->focus : r < 85 ? ss->other : -1;
    if (g >= 0 && d->grp_n[g]) return d->grp_items[g][rnd(&ss->rng, d->grp_n[g])];
    return (uint32_t)rnd_skew(&ss->rng, d->ncat);
}

static void cart_add(sess *ss, uint32_t prod, uint32_t qty)
{
    for (int i = 0; i < ss->ncart; i++)
        if (ss->cart[i].prod == prod) {
            ss->cart[i].qty += qty;
            return;
        }
    if (ss->ncart < MAX_CART) ss->cart[ss->ncart++] = (cart_line){prod, qty};
}

static void page_home(sess *ss) { ev_page(ss, "Home", "/", "Home", -1); }

static void page_category(sess *ss, int cat)
{
    char path[48];
    snprintf(path, sizeof path, "/category/%s", cat_slug[cat]);
    ev_page(ss, "Category", path, cat_name[cat], cat);
    ss->last_cat = cat;
}

/* Landing page plus `views` product views with adds/removes. */
static void browse(sess *ss, int views, int landing)
{
    c360_demo *d = ss->d;
    if (landing) {
        if (chance(&ss->rng, 0.7))
            page_home(ss);
        else
            page_category(ss, d->cat[pick_product(ss)].cat);
        tick(ss, 3 * SEC_MS, 60 * SEC_MS);
    }
    for (int v = 0; v < views; v++) {
        uint32_t prod = pick_product(ss);
        const product *p = &d->cat[prod];
        if (p->cat != ss->last_cat && chance(&ss->rng, 0.3)) {
            page_category(ss, p->cat);
            tick(ss, 2 * SEC_MS, 40 * SEC_MS);
        }
        if (chance(&ss->rng, 0.25)) {
            char path[32];
            snprintf(path, sizeof path, "/product/%s", p->id);
            ev_page(ss, "Product", path, p->name, p->cat);
            tick(ss, 1 * SEC_MS, 5 * SEC_MS);
        }
        ev_product(ss, "Product Viewed", prod, 0);
        tick(ss, 2 * SEC_MS, 45 * SEC_MS);
        int in_focus = p->group >= 0 && p->group == ss->focus;
        if (chance(&ss->rng, in_focus ? 0.6 : 0.25)) {
            uint32_t qty = (uint32_t)(1 + pick_weighted(&ss->rng, (const int[]){70, 20, 10}, 3));
            ev_product(ss, "Product Added", prod, qty);
            cart_add(ss, prod, qty);
            tick(ss, 2 * SEC_MS, 30 * SEC_MS);
        }
        if (ss->ncart > 1 && chance(&ss->rng, 0.07)) {
            int i = (int)rnd(&ss->rng, (uint64_t)ss->ncart);
            ev_product(ss, "Product Removed", ss->cart[i].prod, ss->cart[i].qty);
            ss->cart[i] = ss->cart[--ss->ncart];
            tick(ss, 2 * SEC_MS, 20 * SEC_MS);
        }
        tick(ss, 3 * SEC_MS, 90 * SEC_MS);
    }
}

static void checkout(sess *ss)
{
    c360_demo *d = ss->d;
    const profile *p = ss->p;
    if (!ss->ncart) return;
    ev_page(ss, "Cart", "/cart", "Cart", -1);
    tick(ss, 5 * SEC_MS, 60 * SEC_MS);
    ev_page(ss, "Checkout", "/checkout", "Checkout", -1);
    tick(ss, 20 * SEC_MS, 180 * SEC_MS);

    const char *card = p->card;
    if (chance(&ss->rng, 0.03)) { /* unusual card */
        int c = (int)rnd(&ss->rng, NELEM(card_types) - 1);
        if (card_types[c] == p->card) c = (int)NELEM(card_types) - 1;
        card = card_types[c];
    }
    char street[64], postal[8];
    const char *city = p->city;
    snprintf(street, sizeof street, "%s", p->street);
    snprintf(postal, sizeof postal, "%s", p->postal);
    if (chance(&ss->rng, 0.01)) { /* ship elsewhere (gift, office) */
        unsigned ci = (unsigned)rnd(&ss->rng, NELEM(cities));
        city = cities[ci].name;
        snprintf(street, sizeof street, "%u %s %s", (unsigned)(1 + rnd(&ss->rng, 9899)),
                 street_names[rnd(&ss->rng, NELEM(street_names))], street_sfx[rnd(&ss->rng, NELEM(street_sfx))]);
        snprintf(postal, sizeof postal, "%03u%02u", (unsigned)cities[ci].zip3 % 1000, (unsigned)rnd(&ss->rng, 100));
    }
    int64_t total = 0;
    for (int i = 0; i < ss->ncart; i++) total += d->cat[ss->cart[i].prod].cents * (int64_t)ss->cart[i].qty;
    uint64_t order_no = ++d->order_seq;

    sbuf *b = ev_begin(ss, "track", "event", "Order Completed");
    SB_LIT(b, ",\"properties\":{\"order_id\":\"o-");
    sb_pad(b, order_no, 6);
    SB_LIT(b, "\",\"revenue\":");
    sb_money(b, total);
    SB_LIT(b, ",\"total\":");
    sb_money(b, total);
    SB_LIT(b, ",\"currency\":\"USD\",\"payment_method\":\"card\",\"card_type\":");
    sb_str(b, card);
    SB_LIT(b, ",\"shipping_address\":");
    put_address(b, street, city, postal);
    SB_LIT(b, ",\"products\":[");
    for (int i = 0; i < ss->ncart; i++) {
        const product *pr = &d->cat[ss->cart[i].prod];
        if (i) SB_LIT(b, ",");
        SB_LIT(b, "{");
        put_product(b, pr); /* product_id, name, category, price */
        SB_LIT(b, ",\"quantity\":");
        sb_u64(b, ss->cart[i].qty);
        SB_LIT(b, "}");
    }
    SB_LIT(b, "]}");
    ev_end(ss);
    ss->ncart = 0;

    if (chance(&ss->rng, 0.02)) { /* refunded a day or two later (server-side: userId only) */
        int64_t saved_t = ss->t;
        const char *saved_anon = ss->anon;
        ss->t += DAY_MS + (int64_t)rnd(&ss->rng, (uint64_t)DAY_MS);
        if (ss->t < d->period_end) {
            ss->anon = NULL;
            b = ev_begin(ss, "track", "event", "Order Refunded");
            SB_LIT(b, ",\"properties\":{\"order_id\":\"o-");
            sb_pad(b, order_no, 6);
            SB_LIT(b, "\",\"total\":");
            sb_money(b, total);
            SB_LIT(b, ",\"currency\":\"USD\"}");
            ev_end(ss);
        }
        ss->t = saved_t;
        ss->anon = saved_anon;
    }
    tick(ss, 5 * SEC_MS, 60 * SEC_MS);
}

/* One session of customer r->cust's story; all its events go to the heap. */
static void gen_session(c360_demo *d, const sess_rec *r)
{
    profile p;
    sched_t sc;
    make_profile(d, r->cust, &p);
    schedule(d, r->cust, &sc, INT64_MAX);
    int k = (int)r->k;
    int second_k = p.second_device && sc.n >= 2 ? 1 + (int)(p.pick % (uint64_t)(sc.n - 1)) : -1;

    sess ss;
    memset(&ss, 0, sizeof ss);
    ss.d = d;
    ss.p = &p;
    ss.rng = rng_seed(d->o.seed, r->cust, (uint64_t)k + 1, TAG_SESSION);
    ss.t = r->start;
    ss.last_cat = -1;
    int use_fav0 = chance(&ss.rng, 0.75);
    ss.focus = use_fav0 ? p.fav[0] : p.fav[1];
    ss.other = use_fav0 ? p.fav[1] : p.fav[0];
    if (d->n_nonempty && chance(&ss.rng, 0.15)) ss.focus = d->nonempty[rnd(&ss.rng, (uint64_t)d->n_nonempty)];
    int views = 3 + (int)rnd(&ss.rng, 8);

    if (k == second_k) {
        /* second device: anonymous first, then login linking the new anonymousId */
        ss.anon = p.anon2;
        ss.ip = p.ip2;
        ss.ua = p.mobile ? ua_desktop : ua_mobile;
        browse(&ss, 1 + (int)rnd(&ss.rng, 3), 1);
        ss.logged_in = 1;
        if (p.newsletter && k == 1)
            ev_identify_full(&ss);
        else
            ev_identify_small(&ss, p.phone_alt);
        tick(&ss, 2 * SEC_MS, 20 * SEC_MS);
        browse(&ss, views / 2, 0);
        if (chance(&ss.rng, 0.6)) checkout(&ss);
        return;
    }
    ss.anon = p.anon1;
    ss.ip = p.ip1;
    ss.ua = p.mobile ? ua_mobile : ua_desktop;
    if (k == 0) {
        /* anonymous browsing, then either a newsletter signup (email only) or an account signup */
        browse(&ss, views, 1);
        if (p.newsletter) {
            ev_identify_small(&ss, NULL);
            return;
        }
        ss.logged_in = 1;
        ev_identify_full(&ss);
        tick(&ss, 2 * SEC_MS, 30 * SEC_MS);
        if (chance(&ss.rng, 0.35)) {
            browse(&ss, (int)rnd(&ss.rng, 3), 0);
            checkout(&ss);
        }
        return;
    }
    if (p.newsletter && k == 1) {
        page_home(&ss); /* first login of a newsletter subscriber */
        tick(&ss, 2 * SEC_MS, 20 * SEC_MS);
        ss.logged_in = 1;
        ev_identify_full(&ss);
        tick(&ss, 2 * SEC_MS, 20 * SEC_MS);
        browse(&ss, views, 0);
    } else {
        ss.logged_in = 1;
        browse(&ss, views, 1);
    }
    if (chance(&ss.rng, 0.6)) checkout(&ss);
}

/* ------------------------------------------------------------------ day machinery */

static int rec_cmp(const void *a, const void *b)
{
    const sess_rec *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->cust != y->cust) return x->cust < y->cust ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

static int build_day(c360_demo *d, int day)
{
    int64_t ds = d->o.start_ms + (int64_t)day * DAY_MS, de = ds + DAY_MS;
    d->nsched = d->sched_pos = 0;
    sched_t sc;
    for (uint64_t i = 1; i <= d->o.customers; i++) {
        schedule(d, i, &sc, de);
        for (int k = 0; k < sc.n; k++) {
            if (sc.start[k] < ds) continue;
            if (d->nsched == d->sched_cap) {
                size_t cap = d->sched_cap ? d->sched_cap * 2 : 1024;
                sess_rec *n = realloc(d->sched, cap * sizeof *n);
                if (!n) {
                    d->failed = 1;
                    return -1;
                }
                d->sched = n;
                d->sched_cap = cap;
            }
            d->sched[d->nsched++] = (sess_rec){sc.start[k], i, (uint32_t)k};
        }
    }
    if (d->nsched > 1) qsort(d->sched, d->nsched, sizeof *d->sched, rec_cmp);
    return 0;
}

static int advance_day(c360_demo *d)
{
    if (d->failed || d->day + 1 >= d->o.days) return 0;
    d->day++;
    if (build_day(d, d->day)) return 0;
    d->day_end = d->day + 1 == d->o.days ? INT64_MAX : d->o.start_ms + (int64_t)(d->day + 1) * DAY_MS;
    return 1;
}

/* Generates sessions until the heap top is the next event; 1 if it may be emitted today. */
static int day_ready(c360_demo *d)
{
    if (d->day < 0) return 0;
    while (!d->failed) {
        if (d->sched_pos < d->nsched && (d->nheap == 0 || d->sched[d->sched_pos].start <= d->heap[0].ts)) {
            gen_session(d, &d->sched[d->sched_pos++]);
            continue;
        }
        return d->nheap > 0 && d->heap[0].ts < d->day_end;
    }
    return 0;
}

static void emit_one(c360_demo *d, sbuf *out)
{
    heap_item it = heap_pop(d);
    SB_LIT(out, "{\"messageId\":\"m-");
    sb_u64(out, d->o.seed);
    SB_LIT(out, "-");
    sb_u64(out, ++d->msg_seq);
    SB_LIT(out, "\",");
    sb_put(out, it.txt, it.len);
    SB_LIT(out, "\n");
    free(it.txt);
    d->emitted++;
}

static size_t finish_out(c360_demo *d, sbuf *out, char **buf, size_t *len, size_t n)
{
    *buf = out->p;
    *len = out->oom ? *len : out->len;
    if (out->oom) {
        d->failed = 1;
        return 0;
    }
    return n;
}

size_t c360_demo_next_events(c360_demo *d, size_t max_events, char **buf, size_t *len)
{
    sbuf out = {*buf, *buf ? *len : 0, *buf ? *len : 0, 0};
    size_t n = 0;
    if (!out.p) sb_grow(&out, (max_events < 4096 ? max_events : 4096) * 640); /* typical line < 640 B */
    while (n < max_events && !d->failed) {
        if (day_ready(d)) {
            emit_one(d, &out);
            n++;
        } else if (!advance_day(d)) {
            break;
        }
    }
    return finish_out(d, &out, buf, len, n);
}

size_t c360_demo_next_day(c360_demo *d, char **buf, size_t *len)
{
    sbuf out = {*buf, *buf ? *len : 0, *buf ? *len : 0, 0};
    size_t n = 0;
    while (!d->failed) {
        while (day_ready(d)) {
            emit_one(d, &out);
            n++;
        }
        if (n || !advance_day(d)) break;
    }
    return finish_out(d, &out, buf, len, n);
}

int64_t c360_demo_peek_ms(c360_demo *d)
{
    while (!d->failed) {
        if (day_ready(d)) return d->heap[0].ts;
        if (!advance_day(d)) break;
    }
    return -1;
}

uint64_t c360_demo_events_emitted(const c360_demo *d) { return d->emitted; }
int c360_demo_failed(const c360_demo *d) { return d->failed; }

/* ------------------------------------------------------------------ lifecycle */

void c360_demo_opts_default(c360_demo_opts *o)
{
    o->customers = 1000;
    o->products = 120;
    o->days = 30;
    o->seed = 42;
    o->start_ms = 1790812800000LL; /* 2026-10-01T00:00:00Z */
}

c360_demo *c360_demo_new(const c360_demo_opts *o)
{
    if (!o || o->customers > C360_DEMO_MAX_CUSTOMERS || o->products < 1 || o->products > C360_DEMO_MAX_PRODUCTS ||
        o->days < 1 || o->days > C360_DEMO_MAX_DAYS || o->start_ms < 0 ||
        o->start_ms + (int64_t)o->days * DAY_MS > 253402300800000LL) /* must end by year 9999 */
        return NULL;
    c360_demo *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->o = *o;
    d->period_end = o->start_ms + (int64_t)o->days * DAY_MS;
    d->day = -1;
    d->date_day = INT64_MIN;
    if (build_catalog(d)) {
        c360_demo_free(d);
        return NULL;
    }
    return d;
}

void c360_demo_free(c360_demo *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->nheap; i++) free(d->heap[i].txt);
    free(d->heap);
    free(d->sched);
    free(d->scratch.p);
    for (int g = 0; g < NGROUPS; g++) free(d->grp_items[g]);
    free(d->cat);
    free(d);
}
