/* Private interfaces of the registry client shared by registry.c (requests,
 * manifests), registry_auth.c (challenges, tokens), registry_creds.c
 * (config.json, credential helpers, login), registry_blob.c (downloads) and
 * registry_push.c (uploads). */
#ifndef MTK_IMAGE_REGISTRY_INTERNAL_H
#define MTK_IMAGE_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "image/registry.h"
#include "util/strbuf.h"

enum mtk_registry_auth_kind {
  MTK_REGISTRY_AUTH_UNKNOWN = 0, /* not pinged yet */
  MTK_REGISTRY_AUTH_NONE,        /* /v2/ answered 200 */
  MTK_REGISTRY_AUTH_BASIC,       /* WWW-Authenticate: Basic */
  MTK_REGISTRY_AUTH_BEARER,      /* WWW-Authenticate: Bearer realm=...,service=... */
};

/* Credentials of one registry (config.json, a helper or login). */
struct mtk_registry_creds {
  char *username;       /* owned, or NULL */
  char *password;       /* owned, or NULL */
  char *identity_token; /* owned: OAuth2 refresh token, or NULL */
  char *registry_token; /* owned: bearer token sent as is, or NULL */
};

/* A cached bearer token and the scopes it was issued for. */
struct mtk_registry_token {
  char *scopes;                    /* owned: canonical scopes, space separated */
  char *token;                     /* owned */
  double expires;                  /* CLOCK_MONOTONIC seconds */
  struct mtk_registry_token *next; /* owned */
};

struct mtk_registry {
  char *host;                          /* owned: host[:port] requests go to */
  const char *scheme;                  /* static: "https"/"http" once pinged, else NULL */
  bool insecure;                       /* http and unverified TLS allowed */
  char *user_agent;                    /* owned */
  char *auth_config;                   /* owned: explicit config.json path, or NULL */
  char *ca_file;                       /* owned: or NULL */
  int64_t chunk_size;                  /* bytes per PATCH */
  int max_attempts;                    /* attempts without progress */
  int backoff_ms;                      /* first retry delay */
  const volatile sig_atomic_t *cancel; /* borrowed: or NULL */
  CURL *easy;                          /* owned: handle of the synchronous requests */
  CURLSH *share;                       /* owned: DNS, connections and TLS sessions */
  int auth;                            /* enum mtk_registry_auth_kind */
  char *realm;                         /* owned: Bearer realm URL */
  char *service;                       /* owned: Bearer service, or NULL */
  bool creds_loaded;                   /* creds looked up (lazily, on the first challenge) */
  struct mtk_registry_creds creds;
  struct mtk_registry_token *tokens; /* owned: list */
  struct mtk_registry_stats stats;
};

/* ------------------------------------------------------------ one request */

struct mtk_registry_resp {
  long status;            /* HTTP status, 0 before a response */
  char *content_type;     /* owned: without parameters, or NULL */
  char *digest;           /* owned: Docker-Content-Digest, or NULL */
  char *location;         /* owned: Location as sent, or NULL */
  char *range;            /* owned: Range (upload status), or NULL */
  char *content_range;    /* owned: Content-Range, or NULL */
  char *www_auth;         /* owned: every WWW-Authenticate joined with ", ", or NULL */
  int64_t content_length; /* -1 when not sent */
  int retry_after;        /* seconds from Retry-After, -1 when absent */
  int64_t chunk_min;      /* OCI-Chunk-Min-Length, 0 when absent */
  struct mtk_strbuf body; /* the body, up to cap bytes */
  size_t cap;             /* body cap */
  bool too_big;           /* the body went over cap (the transfer was stopped) */
  int curl_code;          /* CURLcode of a failed exchange (set by mtk_registry_request) */
};

struct mtk_registry_req {
  const char *method;        /* "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE" */
  const char *url;           /* absolute */
  const char *scope;         /* auth scopes (space separated), NULL for /v2/ */
  const char *accept;        /* Accept value, or NULL */
  const char *content_type;  /* request Content-Type, or NULL */
  const char *content_range; /* Content-Range, or NULL */
  const void *body;          /* request body from memory, or NULL */
  size_t body_len;           /* its length */
  int fd;                    /* request body read with pread when >= 0 (set -1 otherwise!) */
  int64_t fd_off;            /* first byte */
  int64_t fd_len;            /* byte count */
  size_t cap;                /* response body cap, 0 = MTK_REGISTRY_ERROR_MAX */
  bool retry;                /* repeat on network errors, 429 and 5xx */
  bool follow;               /* follow redirects (blob GET/HEAD) */
};

/* Frees the fields and zeroes p (keeps nothing). */
void mtk_registry_resp_free(struct mtk_registry_resp *p);
/* Feeds one raw header line (a status line starts a new response). */
void mtk_registry_resp_header(struct mtk_registry_resp *p, const char *line, size_t n);

/* Sends q (pinging the registry first when needed), answering auth
 * challenges and retrying as q asks.  Returns 0 with *p filled whatever the
 * status (the caller judges it), negative on transport errors, exhausted
 * retries and auth failures (with the `mtk login` hint). */
int mtk_registry_request(struct mtk_registry *r, const struct mtk_registry_req *q,
                         struct mtk_registry_resp *p, struct mtk_err **err);
/* One exchange without the auth machinery (token servers): authz (or NULL)
 * is sent as is; network errors, 429 and 5xx retried when q->retry. */
int mtk_registry_send(struct mtk_registry *r, const struct mtk_registry_req *q, const char *authz,
                      struct mtk_registry_resp *p, struct mtk_err **err);
/* Sets *err from an unexpected response: the registry's JSON errors
 * ("manifest unknown (MANIFEST_UNKNOWN)"), else "HTTP <status>: <text>". */
int mtk_registry_resp_error(struct mtk_registry *r, const struct mtk_registry_resp *p, int code,
                            struct mtk_err **err);
/* Learns scheme and auth kind with GET /v2/ (once). */
int mtk_registry_ping(struct mtk_registry *r, struct mtk_err **err);

/* "<scheme>://<host>/v2/<repo>/<kind>/<ref>" after validating repo and ref
 * (a digest, or a tag when tag_ok).  NULL with EINVAL otherwise. */
char *mtk_registry_url(struct mtk_registry *r, const char *repo, const char *kind, const char *ref,
                       bool tag_ok, struct mtk_err **err);
/* Resolves a Location (absolute or relative, RFC 3986) against base; refuses
 * schemes other than http(s) and https -> http downgrades.  Owned. */
char *mtk_registry_resolve(const char *base, const char *location, struct mtk_err **err);
/* url without its query and fragment, for messages (upload states and
 * signed blob-storage URLs stay out of logs). Owned. */
char *mtk_registry_url_shown(const char *url);
/* True when a and b have the same scheme, host and port. */
bool mtk_registry_same_origin(const char *a, const char *b);
/* Applies the common options (URL, user agent, TLS verification for url,
 * timeouts, share, error buffer) to h. */
void mtk_registry_setup_easy(struct mtk_registry *r, CURL *h, const char *url, char *errbuf);
/* True for statuses worth another attempt (429, 5xx but 501/505). */
bool mtk_registry_retry_status(long status);
/* True for 301, 302, 303, 307, 308. */
bool mtk_registry_is_redirect(long status);
/* Seconds on CLOCK_MONOTONIC. */
double mtk_registry_now(void);
/* Backoff before attempt n (1-based): backoff_ms * 2^(n-1), at most 5 s. */
int mtk_registry_backoff_ms(const struct mtk_registry *r, int attempt);
/* True for curl results worth another attempt (dropped connections, timeouts). */
bool mtk_registry_transient(CURLcode c);
/* True when the user asked to stop. */
bool mtk_registry_cancelled(const struct mtk_registry *r);
/* Scope of repo: "repository:<repo>:<actions>". Owned. */
char *mtk_registry_scope(const char *repo, const char *actions);

/* mtk_registry_blob_exists with the auth scope given (pushes ask pull,push). */
int mtk_registry_blob_head(struct mtk_registry *r, const char *repo, const char *digest,
                           const char *scope, int64_t *size, struct mtk_err **err);

/* ----------------------------------------------------------------- auth */

/* One parsed challenge of a WWW-Authenticate header. */
struct mtk_registry_challenge {
  char *scheme;  /* owned: "Bearer", "Basic" (as sent) */
  char *realm;   /* owned: or NULL */
  char *service; /* owned: or NULL */
  char *scope;   /* owned: or NULL */
  char *error;   /* owned: "insufficient_scope", "invalid_token", or NULL */
};

/* Parses a WWW-Authenticate value (several challenges, quoted-string escapes,
 * commas inside quotes) into at most max challenges; returns how many. */
size_t mtk_registry_challenges_parse(const char *hdr, struct mtk_registry_challenge *out,
                                     size_t max);
void mtk_registry_challenge_free(struct mtk_registry_challenge *c);
/* Records the auth kind (and realm/service) from a 401's WWW-Authenticate. */
int mtk_registry_auth_learn(struct mtk_registry *r, const char *www_auth, struct mtk_err **err);
/* The Authorization value for a request needing scope, or NULL when none is
 * needed (*out owned).  May fetch a token. */
int mtk_registry_auth_header(struct mtk_registry *r, const char *scope, char **out,
                             struct mtk_err **err);
/* After a 401 to a request for scope (sent_auth: whether it carried
 * Authorization): learns the challenge, drops a rejected token or widens the
 * scope (insufficient_scope).  Returns 0 when a retry is worth it (with
 * *scope_out, owned, the scope to ask next), negative with *err (MTK_E_PULL
 * and the `mtk login HOST` hint) when not. */
int mtk_registry_auth_retry(struct mtk_registry *r, const char *scope, const char *www_auth,
                            bool sent_auth, char **scope_out, struct mtk_err **err);
/* True when the scopes of have (space separated) cover every scope of want. */
bool mtk_registry_scopes_cover(const char *have, const char *want);
/* The union of two scope lists in canonical form (sorted resources, sorted
 * actions). Owned. */
char *mtk_registry_scopes_union(const char *a, const char *b);
void mtk_registry_tokens_free(struct mtk_registry *r);

/* ---------------------------------------------------------- credentials */

/* Looks the credentials of r->host up once (DOCKER_AUTH_CONFIG, then
 * credHelpers / credsStore through docker-credential-<name> get, then auths).
 * No credentials is not an error; a configured helper that is missing or
 * fails is. */
int mtk_registry_creds_load(struct mtk_registry *r, struct mtk_err **err);
void mtk_registry_creds_clear(struct mtk_registry_creds *c);
/* base64 of s (owned). */
char *mtk_registry_base64(const void *s, size_t n);

#endif
