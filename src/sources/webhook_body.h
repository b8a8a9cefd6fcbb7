/* webhook_body.h -- what c360 reads of a webhook body: a JSON object as it is, or a form-encoded
 * body (application/x-www-form-urlencoded, as Mailchimp sends) as a flat JSON object keyed by the
 * field names (a=b&c[d]=e -> {"a":"b","c[d]":"e"}); and the built-in mappings ("zendesk",
 * "mailchimp", "mailchimp_consent_revoked", "mailchimp_consent_granted") that turn such records
 * into Segment events (docs/SOURCES.md shows the bodies they expect). Pure functions over
 * untrusted bytes (a fuzzing target); signatures and the config are serving/api_webhooks.c's. */
#ifndef C360_WEBHOOK_BODY_H
#define C360_WEBHOOK_BODY_H

#include <stddef.h>
#include "util/strbuf.h"

/* the `mappings:` YAML of the built-in webhook mappings */
extern const char c360_webhook_builtin_mappings[];

/* Appends the record of body[0..n) (form: form-encoded, else JSON) to rec. 0, or a C360_E* code
 * (empty body, bad form data, invalid UTF-8, not a JSON object) with the reason in err and
 * nothing appended. */
int c360_webhook_record(int form, const char *body, size_t n, strbuf *rec, char *err, size_t errlen);

#endif
