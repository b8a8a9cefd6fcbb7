/* kafka_conf.h -- librdkafka configuration shared by the Kafka source, the dead-letter producer
 * and the sink: bootstrap servers from kafka.brokers, every kafka.properties entry passed
 * through unchanged (security.protocol, sasl.*, ssl.*, ...), and librdkafka's logs routed into
 * c360's JSON log lines. */
#ifndef C360_KAFKA_CONF_H
#define C360_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include "core/config.h"

/* A new configuration, or NULL with a message in err (unknown or invalid property). */
rd_kafka_conf_t *c360_kafka_conf(const c360_config *c, char *err, size_t errlen);
/* Sets one property; -1 with err set if librdkafka refuses it. */
int c360_kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err, size_t errlen);
/* At shutdown, after every client was destroyed: waits (bounded) for librdkafka's threads. */
void c360_kafka_wait_destroyed(void);

#endif
