/* webhook_sink.h -- the outbound webhook: fraud alerts POSTed as JSON to `fraud.webhook_url`,
 * after the group that raised them is durable, so a receiver never hears of an alert that a
 * crash could take back.
 *
 * Like the Kafka sink (sink.h) `c360 serve` opens it and hands it to the engine; every function
 * is a cheap no-op on a NULL one. Notes taken on the writer thread while a group is
 * applied (c360_whsink_note) are handed to the delivery thread by c360_whsink_committed, or
 * forgotten by c360_whsink_discard when the group is abandoned.
 *
 * Delivery: one POST per alert, `Content-Type: application/json`, header
 * `X-C360-Signature: sha256=<hex HMAC-SHA256 of the body>` when a secret is set (the same
 * scheme c360 checks on inbound webhooks). A 2xx answer is a delivery; anything else is retried
 * with exponential backoff (0.5 s doubling, 6 attempts), then dropped and counted. The queue is
 * bounded (10,000 alerts): when full the oldest is dropped and counted, never the writer blocked.
 * Delivery is at least once: a receiver deduplicates by `alert_id`. */
#ifndef C360_WEBHOOK_SINK_H
#define C360_WEBHOOK_SINK_H

#include <stddef.h>
#include <stdint.h>

typedef struct c360_whsink c360_whsink;

/* url must be http:// or https://; secret may be NULL or empty (no signature). 0 or -1 with err. */
int c360_whsink_open(c360_whsink **out, const char *url, const char *secret, char *err, size_t errlen);
/* Stops the thread after one attempt (5 s at most each) for every alert still queued. Close it
 * after the engine has stopped. */
void c360_whsink_close(c360_whsink *w);

/* Writer thread only. */
void c360_whsink_note(c360_whsink *w, const char *json);
void c360_whsink_committed(c360_whsink *w);
void c360_whsink_discard(c360_whsink *w);

/* Any thread: counters for /metrics (all 0 for NULL). */
void c360_whsink_counts(c360_whsink *w, uint64_t *delivered, uint64_t *failed, uint64_t *dropped, uint64_t *queued);

#endif
