/* errors.c -- names and HTTP statuses for the codes in errors.h. */
#include "core/errors.h"

#define C360__ROW(e, n, s) {n, s},
static const struct { const char *name; int http; } rows[] = { C360_ERRORS(C360__ROW) };
#undef C360__ROW

const char *c360_err_name(int code)
{
    int i = -code;
    return (i >= 0 && i < C360__NERR) ? rows[i].name : "internal";
}

int c360_err_http(int code)
{
    int i = -code;
    return (i >= 0 && i < C360__NERR) ? rows[i].http : 500;
}
