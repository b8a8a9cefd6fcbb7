/* keys.h -- the on-disk key layout of the embedded store. Every key c360 writes is built here.
 *
 * One RocksDB key space, ordered bytewise. Integers are big-endian so they sort numerically.
 * Identifiers never appear in plaintext in a key: they are indexed by a keyed hash
 * (BLAKE2b-128 keyed with the store secret, so hashes cannot be reversed by guessing without it).
 *
 *  prefix  rest of key                               value                          owner
 *  ------  ----------------------------------------  -----------------------------  ---------------
 *  'M'     name (ASCII)                              meta: format, partitions, ...  store.c
 *  'M'     "merges/" day u64 (days since 1970, UTC)  merges applied that day u64    engine/engine.c
 *  'K'     keyhash[16]                               API key record (JSON)          privacy/apikeys.c
 *  'I'     idhash[16]                                pid u64                        identity/resolve.c
 *  'D'     msghash[16]                               received_ms u64 + pid u64      engine/dedup.c
 *  'R'     pid u64                                   surviving pid u64 (merged)     identity/resolve.c
 *  'P'     pid u64 'A'                               profile record (profile/codec) profile/profile.c
 *  'P'     pid u64 'E' ts u64 msghash[8]             stored event JSON              profile/timeline.c
 *  'P'     pid u64 'M' seq u64                       merge/drop record JSON         identity/resolve.c
 *  'P'     pid u64 'C' ts u64 msghash[8] idx u8      consent change JSON            privacy/consent.c
 *  'P'     pid u64 'X'                               feature state of the last      features/rebuild_live.c
 *                                                    rebuild (served once it is complete)
 *  'S'     idhash[16]                                erased_at u64 (suppression)    privacy/erase.c
 *  'F' 'C' product                                   co-purchase counts: a counter  features/recs.c
 *                                                    map {product: count} (store.h)
 *  'F' 'c' product 0 product                         co-purchase count u64 (stores  features/recs.c
 *                                                    before counter maps; read only)
 *  'F' 'p' product                                   orders with the product u64    features/recs.c
 *  'F' 'n' product                                   ts u64 + catalogue JSON        features/recs.c
 *  'F' 's' segment name                              segment expression (text)      features/segments.c
 *  'F' 'm' segment name 0 pid u64                    member since: ts u64           features/segments.c
 *  'F' 'a' raised_ms u64 pid u64                     fraud alert: score, reasons    features/notices.c
 *  'F' 'g'                                           rebuild generation u64         features/rebuild_live.c
 *  'O'     topic (UTF-8) 0x00 partition u32          next offset u64 (Kafka source) sources/kafka_source.c
 *  'L'     BLAKE2b-128(object URI \n version)       finished-object marker (JSON)  cli/cmd_load.c
 *  'W'     replication slot name (ASCII, <= 63)      commit LSN u64 of the last     sources/pg_replication.c
 *                                                    applied transaction (PostgreSQL source)
 *
 * pid: the customer's internal id. Its top 16 bits are the partition (hash of the first
 * identifier that created the profile, mod `partitions`), the low 48 bits a sequence number.
 * So 'P' + partition[2] is the contiguous range of one partition's customers, and
 * 'P' + pid[8] the contiguous range of everything personal about one customer: erasure is
 * one range delete, and a Kafka partition's state can be shipped as one key range.
 * ts in event keys is event time in ms plus 2^63 (so negative times still sort), which makes
 * the timeline a reverse range scan and lets the retention filter read the age from the key.
 * Physically, event keys live in their own RocksDB column family and all others in the default
 * one (store.c); the order above is the one every iterator shows.
 */
#ifndef C360_KEYS_H
#define C360_KEYS_H

#include <stdint.h>
#include <string.h>
#include "util/strbuf.h"

#define C360_K_META    'M'
#define C360_K_IDENT   'I'
#define C360_K_DEDUP   'D'
#define C360_K_REDIR   'R'
#define C360_K_PROFILE 'P'
#define C360_SUB_RECORD 'A'
#define C360_SUB_EVENT  'E'
#define C360_SUB_MERGE  'M'
#define C360_SUB_CONSENT 'C'
#define C360_SUB_SHADOW  'X'
#define C360_K_SUPPRESS 'S'
#define C360_K_LOAD    'L'   /* bulk-load resume markers (cli/cmd_load.c) */
#define C360_K_PGLSN   'W'   /* PostgreSQL source: applied commit LSN per slot */
#define C360_PG_SLOT_MAX 63  /* PostgreSQL's NAMEDATALEN - 1 */

#define C360_PID_PART(pid) ((unsigned)((pid) >> 48))
#define C360_TS_BIAS ((uint64_t)1 << 63)

/* fixed-size keys live in small stack buffers */
typedef struct { unsigned char b[32]; size_t n; } c360_key;

static inline void c360_key_ident(c360_key *k, const unsigned char h[16])
{
    k->b[0] = C360_K_IDENT; memcpy(k->b + 1, h, 16); k->n = 17;
}
static inline void c360_key_dedup(c360_key *k, const unsigned char h[16])
{
    k->b[0] = C360_K_DEDUP; memcpy(k->b + 1, h, 16); k->n = 17;
}
static inline void c360_key_merges_day(c360_key *k, int64_t day)
{
    memcpy(k->b, "Mmerges/", 8); c360_put_u64be(k->b + 8, (uint64_t)day); k->n = 16;
}
static inline void c360_key_shadow(c360_key *k, uint64_t pid)
{
    k->b[0] = C360_K_PROFILE; c360_put_u64be(k->b + 1, pid); k->b[9] = C360_SUB_SHADOW; k->n = 10;
}
static inline void c360_key_redirect(c360_key *k, uint64_t pid)
{
    k->b[0] = C360_K_REDIR; c360_put_u64be(k->b + 1, pid); k->n = 9;
}
static inline void c360_key_record(c360_key *k, uint64_t pid)
{
    k->b[0] = C360_K_PROFILE; c360_put_u64be(k->b + 1, pid); k->b[9] = C360_SUB_RECORD; k->n = 10;
}
static inline void c360_key_event(c360_key *k, uint64_t pid, int64_t ts, const unsigned char h8[8])
{
    k->b[0] = C360_K_PROFILE; c360_put_u64be(k->b + 1, pid); k->b[9] = C360_SUB_EVENT;
    c360_put_u64be(k->b + 10, (uint64_t)ts + C360_TS_BIAS); memcpy(k->b + 18, h8, 8); k->n = 26;
}
static inline void c360_key_merge(c360_key *k, uint64_t pid, uint64_t seq)
{
    k->b[0] = C360_K_PROFILE; c360_put_u64be(k->b + 1, pid); k->b[9] = C360_SUB_MERGE;
    c360_put_u64be(k->b + 10, seq); k->n = 18;
}
/* 'W' + slot: buf holds at least 1 + C360_PG_SLOT_MAX bytes; returns the key length (0 if the
 * slot name is too long). */
static inline size_t c360_key_pg_lsn(unsigned char *buf, const char *slot)
{
    size_t n = strlen(slot);
    if (n > C360_PG_SLOT_MAX) return 0;
    buf[0] = C360_K_PGLSN; memcpy(buf + 1, slot, n); return n + 1;
}
/* [lo, hi) bounds of a customer's range, or of one sub-range (sub = 0: the whole customer). */
static inline void c360_key_range(c360_key *lo, c360_key *hi, uint64_t pid, char sub)
{
    lo->b[0] = hi->b[0] = C360_K_PROFILE;
    c360_put_u64be(lo->b + 1, pid); c360_put_u64be(hi->b + 1, pid);
    if (sub) { lo->b[9] = (unsigned char)sub; hi->b[9] = (unsigned char)(sub + 1); lo->n = hi->n = 10; }
    else { c360_put_u64be(hi->b + 1, pid + 1); lo->n = hi->n = 9; }
}

/* keys whose values are counter maps (merged by the store's merge operator, see store.h) */
static inline int c360_key_is_counter_map(const char *k, size_t kl) { return kl >= 2 && k[0] == 'F' && k[1] == 'C'; }
/* a recent-alerts record: 'F' 'a' raised_ms (+ bias, so the index sorts by time) pid */
#define C360_KEY_ALERT_LEN 18
static inline void c360_key_alert(unsigned char k[C360_KEY_ALERT_LEN], int64_t raised_ms, uint64_t pid)
{
    k[0] = 'F';
    k[1] = 'a';
    c360_put_u64be(k + 2, (uint64_t)raised_ms + C360_TS_BIAS);
    c360_put_u64be(k + 10, pid);
}
/* 1 and the record's time in *raised_ms if k is a recent-alerts record, else 0 */
static inline int c360_key_alert_time(const char *k, size_t kl, int64_t *raised_ms)
{
    if (kl != C360_KEY_ALERT_LEN || k[0] != 'F' || k[1] != 'a') return 0;
    *raised_ms = (int64_t)(c360_get_u64be((const unsigned char *)k + 2) - C360_TS_BIAS);
    return 1;
}
/* stored events: kept in their own column family (store.c) */
static inline int c360_key_is_event(const char *k, size_t kl)
{
    return kl == 26 && k[0] == C360_K_PROFILE && k[9] == C360_SUB_EVENT;
}

#endif
