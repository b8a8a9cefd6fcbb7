/* roles.h -- the roles an API key can have, as one list (name and bit), and what each may do.
 *
 *   ingest     write events only
 *   agent      read profiles (contact data partly masked; reveal on request, audited), add notes,
 *              update consent
 *   fraud      read profiles with payment fingerprints and risk reasons, no contact details
 *   marketing  features, segments and consents, no personal fields
 *   privacy    everything about a subject: export, erase, audit
 *   admin      everything, plus keys, backups and metrics
 */
#ifndef C360_ROLES_H
#define C360_ROLES_H

#define C360_ROLE_LIST(X) \
    X(C360_ROLE_INGEST, "ingest", 0) \
    X(C360_ROLE_AGENT, "agent", 1) \
    X(C360_ROLE_FRAUD, "fraud", 2) \
    X(C360_ROLE_MARKETING, "marketing", 3) \
    X(C360_ROLE_PRIVACY, "privacy", 4) \
    X(C360_ROLE_ADMIN, "admin", 5)

#define C360__ROLE_BIT(e, n, b) e = 1 << b,
typedef enum { C360_ROLE_NONE = 0, C360_ROLE_LIST(C360__ROLE_BIT) } c360_role;
#undef C360__ROLE_BIT

#define C360_ROLES_READ (C360_ROLE_AGENT | C360_ROLE_FRAUD | C360_ROLE_MARKETING | C360_ROLE_PRIVACY | C360_ROLE_ADMIN)
#define C360_ROLES_PERSONAL (C360_ROLE_AGENT | C360_ROLE_FRAUD | C360_ROLE_PRIVACY | C360_ROLE_ADMIN)
#define C360_ROLES_SUBJECT (C360_ROLE_PRIVACY | C360_ROLE_ADMIN)

int c360_role_parse(const char *name);      /* role bit, or 0 if unknown */
const char *c360_role_name(int role);       /* "agent", ...; "none" */

#endif
