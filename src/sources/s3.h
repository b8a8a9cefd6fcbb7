/* s3.h -- reading objects from S3 and S3-compatible stores (MinIO, Ceph, s3rver) for bulk loads:
 * the settings from the standard AWS environment variables, listing a prefix (ListObjectsV2,
 * every page, in key order) and signing requests with AWS Signature V4 through libcurl
 * (CURLOPT_AWS_SIGV4). With AWS_ENDPOINT_URL set, requests use path-style addressing
 * (ENDPOINT/bucket/key), which every S3-compatible store understands; otherwise the virtual-hosted
 * AWS endpoint https://BUCKET.s3.REGION.amazonaws.com. */
#ifndef C360_S3_H
#define C360_S3_H

#include <stdint.h>
#include <curl/curl.h>
#include "util/strbuf.h"

typedef struct c360_s3 {
    char *endpoint;          /* AWS_ENDPOINT_URL(_S3), no trailing '/'; NULL: AWS */
    char *region;            /* AWS_REGION, AWS_DEFAULT_REGION, else us-east-1 */
    char *access_key, *secret_key, *session_token;   /* NULL: unsigned (public) requests */
} c360_s3;

typedef struct c360_s3_object { char *key; uint64_t size; char *etag; } c360_s3_object;

void c360_s3_from_env(c360_s3 *s);
void c360_s3_release(c360_s3 *s);
/* Splits "s3://bucket/prefix" (prefix may be empty). 0, or -1 if not an s3:// URI. */
int c360_s3_parse_uri(const char *uri, strbuf *bucket, strbuf *prefix);
/* Every object under prefix, in key order (keys ending in '/' are skipped). */
int c360_s3_list(const c360_s3 *s, const char *bucket, const char *prefix, c360_s3_object **objs, int *n, char *err, size_t errlen);
void c360_s3_objects_free(c360_s3_object *objs, int n);
/* The GET URL of an object. */
void c360_s3_object_url(const c360_s3 *s, const char *bucket, const char *key, strbuf *url);
/* Adds signing (SigV4 with x-amz-content-sha256 of an empty body) to a GET; *hdrs must be freed
 * with curl_slist_free_all after the transfer. */
void c360_s3_sign(const c360_s3 *s, CURL *h, struct curl_slist **hdrs);

#endif
