/* consent.h -- consent and communication preferences per channel (email, sms, phone, push) and
 * purpose (marketing, analytics, personalisation), with their history.
 *
 * Changes arrive as events, so they are ordered, deduplicated and in the timeline like any other:
 *   track "Consent Updated"  properties {"channel"|"purpose": K, "granted": bool, "source": S}
 *                            or properties {"consents": {K: bool, ...}, "source": S}
 *   identify                 traits.consent {K: bool, ...}
 *   any event                context.consent.categoryPreferences {Category: bool} (Segment's
 *                            consent management; categories become purposes, lower-cased)
 * PUT /v1/profiles/{type}:{value}/consent turns its body into such a track event.
 * The current state lives in the profile record (last write wins by event time, a refusal wins
 * ties); every change is kept as 'P' pid 'C' ... with time, source and the previous value. */
#ifndef C360_CONSENT_H
#define C360_CONSENT_H

#include "profile/profile.h"
#include "sources/event.h"
#include "store/store.h"

/* writer thread: applies the consent changes ev carries to p; history goes into txn. */
void c360_consent_apply(c360_txn *txn, c360_profile *p, const c360_event *ev);
/* Appends the history of pid as a JSON array, oldest first. */
void c360_consent_history(c360_store *s, uint64_t pid, strbuf *out);
/* Normalises a consent key (lower-case; "personalization" -> "personalisation"); -1 if invalid. */
int c360_consent_key(const char *in, size_t n, char out[33]);

#endif
