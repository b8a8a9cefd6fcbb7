/* store.h -- the embedded store: RocksDB in the data directory, behind a small API.
 *
 * Threads: any thread may call c360_store_get and iterate (RocksDB is thread-safe for reads);
 * only the engine's writer thread builds and commits transactions (c360_txn). A transaction is a
 * RocksDB WriteBatch: write-only (the writer keeps what it needs to read back in its working set,
 * engine/state.h), committed as one atomic write; with sync it is on disk (fsynced WAL) before
 * commit returns, together with every earlier unsynced commit.
 * Background: a compaction filter removes expired dedup entries and, when retention is set,
 * events older than the retention period (their age is read from the key, see keys.h). */
#ifndef C360_STORE_H
#define C360_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "util/strbuf.h"

typedef struct c360_store c360_store;
typedef struct c360_txn c360_txn;
typedef struct c360_iter c360_iter;

typedef struct c360_store_opts {
    int read_only;
    int64_t block_cache_bytes;
    int64_t partitions;        /* used when creating a new store */
    int64_t dedup_window_ms;   /* for the compaction filter */
    int64_t retention_ms;      /* 0 = keep events forever */
    int64_t alert_retention_ms; /* 0 = keep fraud alert records ('F' 'a') forever */
    int low_priority_compaction; /* compaction and flush threads at nice 19 (a server: reads first) */
    int warm_cache;            /* read the main family into the page cache, then the identities and
                                * profiles into the block cache, in the background (serve, load) */
    int no_wal;                /* bulk load: transactions skip the write-ahead log, and a synced
                                * commit flushes the memtables to table files instead; memtables of
                                * both families are flushed together (atomic flush), so after a
                                * crash the store holds a prefix of the commits, as with the log */
} c360_store_opts;

int c360_store_open(c360_store **out, const char *dir, const c360_store_opts *o, char *err, size_t errlen);
void c360_store_close(c360_store *s);
/* 1 once the warming asked for by warm_cache is over (or none was asked for);
 * *bytes (if not NULL) gets the bytes of table files read ahead so far. */
int c360_store_warm_done(c360_store *s, int64_t *bytes);
/* bytes held by the block cache now */
size_t c360_store_cache_usage(c360_store *s);
int c360_store_partitions(const c360_store *s);
/* The 32-byte secret that keys identifier hashes; created with the store. */
const unsigned char *c360_store_secret(const c360_store *s);
/* 1 found (value in *out, replacing its content), 0 absent, -1 error. */
int c360_store_get(c360_store *s, const void *k, size_t kl, strbuf *out);
/* n gets at once (one RocksDB MultiGet per column family: one look at the memtables and the file
 * set, the blocks read in a batch). found[i]: 1 (value in out[i]), 0 absent, -1 error. */
void c360_store_multi_get(c360_store *s, size_t n, const char *const *keys, const size_t *kls, strbuf *out, int *found);
/* A single synced write outside the engine (API keys, settings); 0 or -1 with err. */
int c360_store_put_sync(c360_store *s, const void *k, size_t kl, const void *v, size_t vl, char *err, size_t errlen);
/* The same without fsync (in the WAL: survives a crash of c360, not of the machine). */
int c360_store_put_nosync(c360_store *s, const void *k, size_t kl, const void *v, size_t vl, char *err, size_t errlen);
int64_t c360_store_size_bytes(c360_store *s);
int64_t c360_store_estimate_keys(c360_store *s);
/* memory outside the block cache: the memtables (active, immutable, pinned), and the open table
 * files' index and filter blocks (which grow with the data: they are not in the block cache) */
int64_t c360_store_memtable_bytes(c360_store *s);
int64_t c360_store_table_reader_bytes(c360_store *s);
/* Make every write so far durable in SST files and drop obsolete WAL/SST files; used by erasure
 * so that deleted bytes do not linger. */
int c360_store_flush_compact(c360_store *s, const void *lo, size_t lol, const void *hi, size_t hil);
/* Events with an event time before this are past retention: invisible to reads now, removed by
 * compaction later. INT64_MIN when retention is off. */
int64_t c360_store_event_cutoff(c360_store *s);
/* The same for fraud alert records (alert_retention_ms, by the time they were raised). */
int64_t c360_store_alert_cutoff(c360_store *s);
/* After a failed write (disk full) the store refuses writes; 1 while it does. */
int c360_store_failed(c360_store *s);
/* Reopens a failed store once there is space again (writer thread, between groups; no iterator
 * of the caller may be open). 0 when writes work again, -1 with err otherwise. */
int c360_store_recover(c360_store *s, char *err, size_t errlen);
/* Consistent copy of the whole store into dir (RocksDB checkpoint), while serving. */
int c360_store_checkpoint(c360_store *s, const char *dir, char *err, size_t errlen);

c360_txn *c360_txn_new(c360_store *s);
void c360_txn_free(c360_txn *t);
void c360_txn_put(c360_txn *t, const void *k, size_t kl, const void *v, size_t vl);
void c360_txn_del(c360_txn *t, const void *k, size_t kl);
/* Deletes [lo, hi). Operations are applied in key order at commit, so a caller must not put keys
 * inside the range earlier in the same transaction (the engine commits its group first). */
void c360_txn_del_range(c360_txn *t, const void *lo, size_t lol, const void *hi, size_t hil);
/* Adds delta to the 8-byte big-endian counter at k (absent = 0) without reading it: a RocksDB
 * merge, resolved by reads and compactions. Only for keys written this way. */
void c360_txn_add_u64(c360_txn *t, const void *k, size_t kl, int64_t delta);
/* Counter maps: the value of a key for which c360_key_is_counter_map() holds (store/keys.h) is a
 * map from names (bytes) to u64 counts, encoded as uvarint n, then n times (uvarint length, name
 * bytes, uvarint count), names in strictly increasing bytewise order. c360_txn_add_map adds such a
 * map (the deltas) to the key's map without reading it: RocksDB merges them (names present in
 * both are summed). c360_map_next walks an encoded map. */
void c360_txn_add_map(c360_txn *t, const void *k, size_t kl, const void *map, size_t ml);
typedef struct c360_map_iter { const unsigned char *p, *end; uint64_t left; } c360_map_iter;
void c360_map_iter_init(c360_map_iter *it, const void *map, size_t ml);
/* the next entry: 1 (name, length, count set), 0 at the end, -1 if the encoding is bad */
int c360_map_next(c360_map_iter *it, const char **name, size_t *nl, uint64_t *count);
/* the order of names in a map: bytewise, a prefix first (<0, 0, >0) */
int c360_map_name_cmp(const char *a, size_t al, const char *b, size_t bl);
int c360_txn_count(c360_txn *t);
size_t c360_txn_bytes(c360_txn *t);
void c360_txn_clear(c360_txn *t);
/* 0 or -1 with err; the transaction is cleared either way. */
int c360_txn_commit(c360_txn *t, int sync, char *err, size_t errlen);

/* Iterates [lo, hi) of the committed store. */
c360_iter *c360_iter_new(c360_store *s, const void *lo, size_t lol, const void *hi, size_t hil);
void c360_iter_first(c360_iter *it);
void c360_iter_last(c360_iter *it);
void c360_iter_seek(c360_iter *it, const void *k, size_t kl);       /* first key >= k */
void c360_iter_seek_before(c360_iter *it, const void *k, size_t kl);/* last key < k */
int c360_iter_valid(c360_iter *it);
void c360_iter_next(c360_iter *it);
void c360_iter_prev(c360_iter *it);
const char *c360_iter_key(c360_iter *it, size_t *n);
const char *c360_iter_value(c360_iter *it, size_t *n);
void c360_iter_free(c360_iter *it);

#endif
