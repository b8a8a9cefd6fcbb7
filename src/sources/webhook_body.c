/* webhook_body.c -- a webhook body as a record for the mappings (see webhook_body.h), and the
 * built-in mappings of the help-desk and email-list sources. Split from serving/api_webhooks.c
 * so that what reads untrusted webhook bytes is a pure function the fuzzer can drive. */
#include "sources/webhook_body.h"
#include "core/errors.h"
#include "serving/url.h"
#include "util/json.h"

#include <stdio.h>
#include <string.h>

/* Built-in mappings (docs/SOURCES.md shows the bodies they expect). `zendesk` reads the body a
 * Zendesk trigger sends (its JSON is written by the admin, with the requester's email);
 * `zendesk_ticket_events` and `zendesk_user_events` read Zendesk's own event payloads
 * (`zen:event-type:...` with a `detail` object: tickets name only the requester's Zendesk id, user
 * events link that id to the email or external_id). A Zendesk user's external_id is the id the
 * company's own systems know the customer by (what Segment's Zendesk destination writes there): it
 * becomes the event's userId, so tickets join the profile the shop's own events built.
 * Form-encoded bodies become a flat object keyed by the field names, so Mailchimp's data[email] is
 * the path `data[email]`. */
const char c360_webhook_builtin_mappings[] =
    "mappings:\n"
    "  zendesk:\n"
    "    filters:\n"
    "      - {not: {field: detail, exists: true}}\n"
    "    event:\n"
    "      field: type\n"
    "      values:\n"
    "        ticket.created: Ticket Created\n"
    "        ticket.updated: Ticket Updated\n"
    "        ticket.solved: Ticket Solved\n"
    "        zen:event-type:ticket.created: Ticket Created\n"
    "        zen:event-type:ticket.updated: Ticket Updated\n"
    "        zen:event-type:ticket.solved: Ticket Solved\n"
    "    identifiers: {user_id: ticket.requester.external_id, email: ticket.requester.email,\n"
    "                  zendesk_user_id: ticket.requester.id}\n"
    "    time: {field: time, required: false}\n"
    "    message_id: {field: id, prefix: 'zendesk-'}\n"
    "    properties:\n"
    "      ticket_id: {field: ticket.id, as: string}\n"
    "      subject: ticket.subject\n"
    "      status: ticket.status\n"
    "      priority: ticket.priority\n"
    "    constants:\n"
    "      context.integration.name: zendesk\n"
    "  zendesk_ticket_events:\n"
    "    filters:\n"
    "      - {field: detail.requester_id, exists: true}\n"
    "      - {field: detail.id, exists: true}\n"
    "    event:\n"
    "      field: type\n"
    "      values:\n"
    "        zen:event-type:ticket.created: Ticket Created\n"
    "        zen:event-type:ticket.soft_deleted: Ticket Deleted\n"
    "        zen:event-type:ticket.permanently_deleted: Ticket Deleted\n"
    "        zen:event-type:ticket.marked_as_spam: Ticket Deleted\n"
    "      default: Ticket Updated\n"
    "    identifiers: {zendesk_user_id: detail.requester_id}\n"
    "    time: {field: time, required: false}\n"
    "    message_id: {field: id, prefix: 'zendesk-'}\n"
    "    properties:\n"
    "      ticket_id: {field: detail.id, as: string}\n"
    "      subject: detail.subject\n"
    "      status: detail.status\n"
    "      priority: detail.priority\n"
    "      zendesk_event: type\n"
    "    constants:\n"
    "      context.integration.name: zendesk\n"
    "  zendesk_user_events:\n"
    "    filters:\n"
    "      - {field: detail.id, exists: true}\n"
    "      - {not: {field: detail.requester_id, exists: true}}\n"
    "      - any:\n"
    "          - {field: detail.email, exists: true}\n"
    "          - all:\n"
    "              - {field: type, prefix: 'zen:event-type:user.'}\n"
    "              - {field: detail.external_id, exists: true}\n"
    "              - {not: {field: detail.external_id, equals: ''}}\n"
    "    type: identify\n"
    "    identifiers: {user_id: detail.external_id, email: detail.email, zendesk_user_id: detail.id}\n"
    "    time: {field: time, required: false}\n"
    "    message_id: {field: id, prefix: 'zendesk-'}\n"
    "    constants:\n"
    "      context.integration.name: zendesk\n"
    "  mailchimp:\n"
    "    filters:\n"
    "      - {field: type, in: [subscribe, unsubscribe, profile, cleaned, campaign, open, click]}\n"
    "    event:\n"
    "      field: type\n"
    "      values:\n"
    "        subscribe: Email Subscribed\n"
    "        unsubscribe: Email Unsubscribed\n"
    "        profile: Email Profile Updated\n"
    "        cleaned: Email Address Cleaned\n"
    "        campaign: Email Campaign Sent\n"
    "        open: Email Opened\n"
    "        click: Email Link Clicked\n"
    "    identifiers: {email: 'data[email]'}\n"
    "    time: {field: fired_at, format: '%Y-%m-%d %H:%M:%S', required: false}\n"
    "    properties:\n"
    "      list_id: 'data[list_id]'\n"
    "      campaign_id: 'data[campaign_id]'\n"
    "      reason: 'data[reason]'\n"
    "      action: 'data[action]'\n"
    "      url: 'data[url]'\n"
    "      subject: 'data[subject]'\n"
    "      first_name: 'data[merges][FNAME]'\n"
    "      last_name: 'data[merges][LNAME]'\n"
    "    constants:\n"
    "      context.integration.name: mailchimp\n"
    "  mailchimp_consent_revoked:\n"
    "    filters:\n"
    "      - {field: type, in: [unsubscribe, cleaned]}\n"
    "    event: Consent Updated\n"
    "    identifiers: {email: 'data[email]'}\n"
    "    time: {field: fired_at, format: '%Y-%m-%d %H:%M:%S', required: false}\n"
    "    constants:\n"
    "      properties.channel: email\n"
    "      properties.granted: false\n"
    "      properties.source: mailchimp\n"
    "  mailchimp_consent_granted:\n"
    "    filters:\n"
    "      - {field: type, equals: subscribe}\n"
    "    event: Consent Updated\n"
    "    identifiers: {email: 'data[email]'}\n"
    "    time: {field: fired_at, format: '%Y-%m-%d %H:%M:%S', required: false}\n"
    "    constants:\n"
    "      properties.channel: email\n"
    "      properties.granted: true\n"
    "      properties.source: mailchimp\n";

/* a=b&c[d]=e -> {"a":"b","c[d]":"e"}; -1 on a bad escape */
static int form_to_json(const char *s, size_t n, strbuf *out)
{
    sb_addc(out, '{');
    int first = 1;
    size_t i = 0;
    strbuf k = STRBUF_INIT, v = STRBUF_INIT;
    int rc = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && s[e] != '&') e++;
        if (e > i) {
            const char *eq = memchr(s + i, '=', e - i);
            size_t kl = eq ? (size_t)(eq - (s + i)) : e - i;
            sb_reset(&k);
            sb_reset(&v);
            if (c360_url_decode(s + i, kl, 1, &k) || (eq && c360_url_decode(eq + 1, (size_t)(s + e - eq - 1), 1, &v)) || !k.len) {
                rc = -1;
                break;
            }
            size_t bad;
            if (!c360_utf8_valid(k.buf, k.len, &bad) || !c360_utf8_valid(v.buf, v.len, &bad)) { rc = -1; break; }
            if (!first) sb_addc(out, ',');
            first = 0;
            c360_json_put_str(out, k.buf, k.len);
            sb_addc(out, ':');
            c360_json_put_str(out, v.buf, v.len);
        }
        i = e + 1;
    }
    sb_addc(out, '}');
    sb_release(&k);
    sb_release(&v);
    return rc;
}

int c360_webhook_record(int form, const char *body, size_t n, strbuf *rec, char *err, size_t errlen)
{
    if (!n) {
        snprintf(err, errlen, "the body is empty");
        return C360_EJSON;
    }
    if (form) {
        size_t start = rec->len;
        if (form_to_json(body, n, rec)) {
            sb_truncate(rec, start);
            snprintf(err, errlen, "the body is not valid form data (application/x-www-form-urlencoded, UTF-8)");
            return C360_EEVENT;
        }
        return 0;
    }
    size_t bad;
    if (!c360_utf8_valid(body, n, &bad)) {
        snprintf(err, errlen, "body is not valid UTF-8 (byte %zu)", bad);
        return C360_EUTF8;
    }
    c360_json j;
    c360_json_init(&j);
    char jerr[256];
    int jr = c360_json_parse(&j, body, n, jerr, sizeof jerr);
    int obj = jr == 0 && j.tok[0].type == CJ_OBJECT;
    c360_json_release(&j);
    if (!obj) {
        snprintf(err, errlen, "%s", jr ? jerr : "body must be a JSON object");
        return C360_EJSON;
    }
    sb_add(rec, body, n);
    return 0;
}
