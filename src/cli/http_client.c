/* http_client.c -- the CLI's calls to a running server (libcurl): commands such as backup and
 * keys work against a live server with --url, since the server holds the data dir. */
#include "cli/cli.h"
#include "util/strbuf.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    sb_add(ud, p, sz * n);
    return sz * n;
}

int c360_http_call(const char *url, const char *key, const char *method, const char *path, const char *body,
                   long *status, strbuf *resp, char *err, size_t errlen)
{
    strbuf endpoint = STRBUF_INIT, auth = STRBUF_INIT;
    sb_adds(&endpoint, url);
    while (endpoint.len && endpoint.buf[endpoint.len - 1] == '/') sb_truncate(&endpoint, endpoint.len - 1);
    sb_adds(&endpoint, path);
    sb_addf(&auth, "Authorization: Bearer %s", key);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, auth.buf);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, endpoint.buf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    CURLcode cc = curl_easy_perform(h);
    *status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    int rc = 0;
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "cannot reach %s: %s", endpoint.buf, curl_easy_strerror(cc));
        rc = -1;
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    sb_release(&endpoint);
    sb_release(&auth);
    return rc;
}

const char *c360_cli_take_url(int *argc, char **argv)
{
    const char *url = getenv("C360_URL");
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < *argc) {
            url = argv[i + 1];
            memmove(&argv[i], &argv[i + 2], sizeof(char *) * (size_t)(*argc - i - 1));
            *argc -= 2;
            i--;
        }
    }
    return url && *url ? url : NULL;
}
