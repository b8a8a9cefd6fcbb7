/* kafka_source.h -- the Kafka source: a librdkafka high-level consumer (consumer group over
 * `kafka.topics`) feeding the engine, with exactly-once effects on the store.
 *
 * Offsets: each job handed to the engine carries, in its `extra` keys, the next offset of every
 * partition its messages came from ('O' + topic + 0 + partition, store/keys.h), so the offsets
 * are committed in the same atomic RocksDB write as the events they produced. On assignment
 * the consumer seeks to the stored offset (or to the group's committed offset when that is
 * further ahead: another member applied those messages into its own store); auto-commit is off
 * and offsets are committed to Kafka only after they are durable, for lag visibility. A restart
 * or a kill -9 therefore never loses nor double counts a message.
 *
 * Partition ownership: the members of one consumer group (kafka.group) share the partitions;
 * each member's store holds what arrived on the partitions it owned. Run several instances with
 * the same group to shard (producers key messages by customer so one customer stays in one
 * partition); give each instance its own group to get full replicas. Every message is applied
 * exactly once in exactly one store of a group: on revocation the member finishes its writes
 * in flight and commits their offsets before it lets the partition go.
 *
 * Poison messages (not JSON, no mapping match, invalid event) go to kafka.dlq_topic with the
 * error in headers (c360.error, c360.topic, c360.partition, c360.offset), counted, never a
 * stall. Back-pressure: when the engine answers C360_EBUSY, the assigned partitions are paused
 * and the batch retried; at most a few batches are in flight, so memory stays bounded.
 * /metrics gains c360_kafka_consumer_lag{topic,partition} (high watermark - durable offset). */
#ifndef C360_KAFKA_SOURCE_H
#define C360_KAFKA_SOURCE_H

#include "core/config.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "identity/normalize.h"
#include "store/store.h"

typedef struct c360_kafka_source c360_kafka_source;

typedef struct c360_kafka_deps {
    const c360_config *cfg;
    c360_store *store;
    c360_engine *engine;
    c360_metrics *metrics;
    const c360_id_rules *rules;
} c360_kafka_deps;

/* *out = NULL (and 0) when kafka.topics is empty. -1 with err on bad settings. Sets the metrics
 * lag hook: free the source only after the HTTP server stopped. */
int c360_kafka_source_open(c360_kafka_source **out, const c360_kafka_deps *d, char *err, size_t errlen);
int c360_kafka_source_start(c360_kafka_source *k);
/* Stops consuming, waits for the jobs in flight, commits offsets, closes the consumer (leaving
 * the group). Idempotent. Call before c360_engine_stop. */
void c360_kafka_source_stop(c360_kafka_source *k);
void c360_kafka_source_free(c360_kafka_source *k);

#endif
