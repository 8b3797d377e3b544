// The one place that includes libcurl (libcurl4-openssl-dev). Only LoopLLM imports this module.
// curl_easy_setopt/getinfo are C-variadic, which Swift cannot call: typed wrappers follow.
#ifndef LOOPAI_CCURL_SHIM_H
#define LOOPAI_CCURL_SHIM_H
#include <curl/curl.h>

static inline CURLcode loop_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode loop_curl_setopt_ptr(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode loop_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
typedef size_t (*loop_curl_write_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode loop_curl_setopt_write(CURL *h, CURLoption o, loop_curl_write_cb cb) { return curl_easy_setopt(h, o, cb); }
static inline CURLcode loop_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode loop_curl_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
#endif
