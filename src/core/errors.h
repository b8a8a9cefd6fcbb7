/* errors.h -- the one list of c360 error codes.
 *
 * Contract: functions return 0 on success or a negative C360_E* code; the HTTP layer turns a
 * code into a status and a JSON body {"error": name, "message": text}. The X-macro below is the
 * single source for the enum, the names and the status map. */
#ifndef C360_ERRORS_H
#define C360_ERRORS_H

/*        enum                  name                   http */
#define C360_ERRORS(X)                                         \
    X(C360_OK,                  "ok",                  200)    \
    X(C360_EJSON,               "invalid_json",        400)    \
    X(C360_EUTF8,               "invalid_utf8",        400)    \
    X(C360_EEVENT,              "invalid_event",       400)    \
    X(C360_ENOID,               "missing_identity",    400)    \
    X(C360_ETOOBIG,             "event_too_large",     400)    \
    X(C360_EBATCHBIG,           "batch_too_large",     400)    \
    X(C360_EBATCH,              "invalid_batch",       400)    \
    X(C360_EIDENT,              "invalid_identifier",  400)    \
    X(C360_EPARAM,              "invalid_parameter",   400)    \
    X(C360_EAUTH,               "unauthorized",        401)    \
    X(C360_EFORBIDDEN,          "forbidden",           403)    \
    X(C360_ENOTFOUND,           "not_found",           404)    \
    X(C360_ENOPROFILE,          "profile_not_found",   404)    \
    X(C360_EMETHOD,             "method_not_allowed",  405)    \
    X(C360_ECONFLICT,           "conflict",            409)    \
    X(C360_EBUSY,               "overloaded",          429)    \
    X(C360_EINTERNAL,           "internal",            500)    \
    X(C360_EUNAVAIL,            "unavailable",         503)    \
    X(C360_ESTORE,              "store_error",         503)    \
    X(C360_EBODY,               "invalid_body",        400)    \
    X(C360_EENCODING,           "unsupported_encoding", 415)

#define C360__ENUM(e, n, s) e##_,
enum c360__err_index { C360_ERRORS(C360__ENUM) C360__NERR };
#undef C360__ENUM
#define C360__ENUM(e, n, s) e = -(int)e##_,
typedef enum c360_err { C360_ERRORS(C360__ENUM) } c360_err;
#undef C360__ENUM

const char *c360_err_name(int code);
int c360_err_http(int code);

#endif
