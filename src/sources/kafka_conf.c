/* kafka_conf.c -- librdkafka configuration from the c360 settings. See kafka_conf.h. */
#include "sources/kafka_conf.h"
#include "core/config.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int c360_kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err, size_t errlen)
{
    char e[256];
    if (rd_kafka_conf_set(conf, name, value, e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property %s: %s", name, e);
        return -1;
    }
    return 0;
}

/* librdkafka's log lines become c360 log lines (text escaped as a JSON string). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    strbuf m = STRBUF_INIT;
    sb_adds(&m, "\"facility\":\"");
    for (const char *p = fac; *p; p++)
        if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) sb_addc(&m, *p);
    sb_adds(&m, "\",\"text\":\"");
    for (const char *p = buf; *p; p++) {
        if (*p == '"' || *p == '\\') sb_addc(&m, '\\');
        if ((unsigned char)*p >= 0x20) sb_addc(&m, *p);
    }
    sb_addc(&m, '"');
    if (level <= 3) LOG_ERROR("kafka", "%s", m.buf);
    else if (level <= 5) LOG_WARN("kafka", "%s", m.buf);
    else LOG_DEBUG("kafka", "%s", m.buf);
    sb_release(&m);
}

rd_kafka_conf_t *c360_kafka_conf(const c360_config *c, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_cb);
    if (c360_kafka_set(conf, "bootstrap.servers", c->kafka_brokers, err, errlen) ||
        c360_kafka_set(conf, "client.id", "c360", err, errlen))
        goto bad;
    /* kafka.properties: "name=value,name=value" */
    const char *p = c->kafka_properties;
    char *item;
    while (c360_list_next(&p, &item)) {
        char *eq = strchr(item, '=');
        int rc = 0;
        if (!eq) {
            snprintf(err, errlen, "kafka.properties: '%s' is not name=value", item);
            rc = -1;
        } else {
            *eq = 0;
            rc = c360_kafka_set(conf, item, eq + 1, err, errlen);
        }
        free(item);
        if (rc) goto bad;
    }
    return conf;
bad:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

void c360_kafka_wait_destroyed(void)
{
    if (rd_kafka_wait_destroyed(5000)) LOG_WARN("kafka: librdkafka threads still running at exit", "%s", "");
}
