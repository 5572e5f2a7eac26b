/* Registry auth: WWW-Authenticate challenges (RFC 7235 / RFC 6750), Basic
 * credentials, and the Bearer token flow of the distribution token spec
 * (GET <realm>?service=&scope=...; OAuth2 POST with an identity token),
 * with tokens cached per scope set until they expire and re-requested with a
 * wider scope on `insufficient_scope` (IMAGES.md §2.4).  Credentials go to a
 * token realm only over https, or to a loopback/insecure realm on the
 * registry's own host (SECURITY.md §2.10). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/registry_internal.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define TOKEN_MIN_TTL 60
#define TOKEN_MARGIN 10
#define MAX_SCOPES 32

/* ---------------------------------------------------------- challenges */

static bool tchar(char c)
{
  return isalnum((unsigned char) c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* A token at s; returns its end. */
static const char *token_end(const char *s)
{
  while (tchar(*s))
    s++;
  return s;
}

/* Reads a token or quoted-string value at s into *out (owned); returns the end. */
static const char *read_value(const char *s, char **out)
{
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  if (*s == '"') {
    for (s++; *s && *s != '"'; s++) {
      if (*s == '\\' && s[1])
        s++;
      mtk_strbuf_addc(&sb, *s);
    }
    if (*s == '"')
      s++;
  } else {
    const char *e = s;
    while (*e && *e != ',' && *e != ' ' && *e != '\t')
      e++;
    mtk_strbuf_add(&sb, s, (size_t) (e - s));
    s = e;
  }
  *out = mtk_strbuf_steal(&sb);
  return s;
}

/* True when s starts an auth-param ("name=" but not token68 padding "=="). */
static bool at_param(const char *s)
{
  const char *e = token_end(s);
  if (e == s)
    return false;
  e = skip_ws(e);
  return e[0] == '=' && e[1] != '=';
}

static void set_param(struct mtk_registry_challenge *c, const char *name, size_t n, char *v)
{
  char **slot = NULL;
  if (n == 5 && strncasecmp(name, "realm", 5) == 0)
    slot = &c->realm;
  else if (n == 7 && strncasecmp(name, "service", 7) == 0)
    slot = &c->service;
  else if (n == 5 && strncasecmp(name, "scope", 5) == 0)
    slot = &c->scope;
  else if (n == 5 && strncasecmp(name, "error", 5) == 0)
    slot = &c->error;
  if (slot && !*slot)
    *slot = v;
  else
    free(v);
}

/* Parses the params of one challenge (after its scheme) starting at s;
 * returns where the next challenge starts. */
static const char *parse_params(const char *s, struct mtk_registry_challenge *c)
{
  s = skip_ws(s);
  /* token68 ("Negotiate abc==") directly after the scheme: not ours, skipped. */
  if (*s && *s != ',' && !at_param(s))
    while (*s && *s != ',')
      s++;
  for (;;) {
    s = skip_ws(s);
    while (*s == ',')
      s = skip_ws(s + 1);
    if (!at_param(s))
      return s; /* the next scheme, or the end */
    const char *name = s, *ne = token_end(s);
    s = skip_ws(skip_ws(ne) + 1);
    char *v = NULL;
    s = read_value(s, &v);
    set_param(c, name, (size_t) (ne - name), v);
  }
}

size_t mtk_registry_challenges_parse(const char *hdr, struct mtk_registry_challenge *out,
                                     size_t max)
{
  size_t n = 0;
  const char *s = hdr ? hdr : "";
  while (*s && n < max) {
    s = skip_ws(s);
    while (*s == ',' || *s == ' ')
      s++;
    const char *e = token_end(s);
    if (e == s) {
      if (*s)
        s++;
      continue;
    }
    struct mtk_registry_challenge *c = &out[n++];
    memset(c, 0, sizeof(*c));
    c->scheme = mtk_xstrndup(s, (size_t) (e - s));
    s = parse_params(e, c);
  }
  return n;
}

void mtk_registry_challenge_free(struct mtk_registry_challenge *c)
{
  free(c->scheme);
  free(c->realm);
  free(c->service);
  free(c->scope);
  free(c->error);
  memset(c, 0, sizeof(*c));
}

/* The Bearer challenge of www_auth if any, else the Basic one; index or -1. */
static int pick(struct mtk_registry_challenge *cs, size_t n)
{
  int basic = -1;
  for (size_t i = 0; i < n; i++) {
    if (strcasecmp(cs[i].scheme, "Bearer") == 0 && cs[i].realm)
      return (int) i;
    if (strcasecmp(cs[i].scheme, "Basic") == 0 && basic < 0)
      basic = (int) i;
  }
  return basic;
}

/* -------------------------------------------------------------- scopes */

struct scope_item {
  char *resource; /* "repository:team/lab" */
  char *actions;  /* "pull,push", sorted */
};

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

static int cmp_item(const void *a, const void *b)
{
  return strcmp(((const struct scope_item *) a)->resource,
                ((const struct scope_item *) b)->resource);
}

/* Merges the comma-separated actions of b into a's set (sorted, unique). */
static char *merge_actions(const char *a, const char *b)
{
  char *list[64];
  size_t n = 0;
  mtk_autofree char *all = mtk_xasprintf("%s,%s", a ? a : "", b ? b : "");
  char *save = NULL;
  for (char *t = strtok_r(all, ",", &save); t && n < 64; t = strtok_r(NULL, ",", &save)) {
    bool dup = false;
    for (size_t i = 0; i < n; i++)
      dup = dup || strcmp(list[i], t) == 0;
    if (!dup)
      list[n++] = t;
  }
  qsort(list, n, sizeof(list[0]), cmp_str);
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    if (i)
      mtk_strbuf_addc(&sb, ',');
    mtk_strbuf_adds(&sb, list[i]);
  }
  return mtk_strbuf_steal(&sb);
}

/* Splits a space-separated scope list into items merged by resource. */
static size_t scopes_split(const char *s, struct scope_item *items, size_t max)
{
  size_t n = 0;
  mtk_autofree char *copy = mtk_xstrdup(s ? s : "");
  char *save = NULL;
  for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
    /* "type[(class)]:name:actions": the name may hold a ':' (host:port), so
     * the actions follow the last one. */
    char *last = strrchr(t, ':');
    if (!last || last == t || !strchr(t, ':') || strchr(t, ':') == last)
      continue;
    *last = '\0';
    size_t i = 0;
    while (i < n && strcmp(items[i].resource, t) != 0)
      i++;
    if (i == n) {
      if (n == max)
        continue;
      items[n].resource = mtk_xstrdup(t);
      items[n++].actions = mtk_xstrdup("");
    }
    char *merged = merge_actions(items[i].actions, last + 1);
    free(items[i].actions);
    items[i].actions = merged;
  }
  qsort(items, n, sizeof(items[0]), cmp_item);
  return n;
}

static void items_free(struct scope_item *items, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(items[i].resource);
    free(items[i].actions);
  }
}

char *mtk_registry_scopes_union(const char *a, const char *b)
{
  struct scope_item items[MAX_SCOPES];
  mtk_autofree char *both = mtk_xasprintf("%s %s", a ? a : "", b ? b : "");
  size_t n = scopes_split(both, items, MAX_SCOPES);
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < n; i++)
    mtk_strbuf_addf(&sb, "%s%s:%s", i ? " " : "", items[i].resource, items[i].actions);
  items_free(items, n);
  return mtk_strbuf_steal(&sb);
}

static bool action_in(const char *actions, const char *a, size_t n)
{
  for (const char *p = actions; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t) (e - p) : strlen(p);
    if ((len == n && strncmp(p, a, n) == 0) || (len == 1 && *p == '*'))
      return true;
    p += len + (e ? 1 : 0);
  }
  return false;
}

bool mtk_registry_scopes_cover(const char *have, const char *want)
{
  struct scope_item h[MAX_SCOPES], w[MAX_SCOPES];
  size_t nh = scopes_split(have, h, MAX_SCOPES), nw = scopes_split(want, w, MAX_SCOPES);
  bool ok = true;
  for (size_t i = 0; ok && i < nw; i++) {
    size_t j = 0;
    while (j < nh && strcmp(h[j].resource, w[i].resource) != 0)
      j++;
    if (j == nh) {
      ok = false;
      break;
    }
    for (const char *p = w[i].actions; ok && *p;) {
      const char *e = strchr(p, ',');
      size_t len = e ? (size_t) (e - p) : strlen(p);
      ok = action_in(h[j].actions, p, len);
      p += len + (e ? 1 : 0);
    }
  }
  items_free(h, nh);
  items_free(w, nw);
  return ok;
}

/* -------------------------------------------------------------- tokens */

void mtk_registry_tokens_free(struct mtk_registry *r)
{
  while (r->tokens) {
    struct mtk_registry_token *t = r->tokens;
    r->tokens = t->next;
    free(t->scopes);
    free(t->token);
    free(t);
  }
}

/* Drops the cached tokens that cover scope (the registry refused them). */
static void tokens_drop(struct mtk_registry *r, const char *scope)
{
  for (struct mtk_registry_token **pp = &r->tokens; *pp;) {
    struct mtk_registry_token *t = *pp;
    if (mtk_registry_scopes_cover(t->scopes, scope)) {
      *pp = t->next;
      free(t->scopes);
      free(t->token);
      free(t);
    } else {
      pp = &t->next;
    }
  }
}

char *mtk_registry_base64(const void *s, size_t n)
{
  char *out = mtk_xmalloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *) out, s, (int) n);
  return out;
}

static char *basic_value(const struct mtk_registry_creds *c)
{
  mtk_autofree char *up = mtk_xasprintf("%s:%s", c->username, c->password);
  mtk_autofree char *b = mtk_registry_base64(up, strlen(up));
  return mtk_xasprintf("Basic %s", b);
}

/* Credentials may go to the realm: over https, or to a loopback host, or to
 * the registry's own host when the user marked it insecure. */
static bool realm_trusted(struct mtk_registry *r, const char *realm)
{
  if (strncasecmp(realm, "https://", 8) == 0)
    return true;
  CURLU *u = curl_url();
  char *host = NULL;
  bool ok = false;
  if (u && curl_url_set(u, CURLUPART_URL, realm, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    ok = strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
         strcmp(host, "[::1]") == 0;
    if (!ok && r->insecure) {
      mtk_autofree char *own = mtk_xasprintf("http://%s/", r->host);
      ok = mtk_registry_same_origin(realm, own);
    }
  }
  curl_free(host);
  curl_url_cleanup(u);
  return ok;
}

static void add_query(CURLU *u, const char *key, const char *val)
{
  mtk_autofree char *kv = mtk_xasprintf("%s=%s", key, val);
  curl_url_set(u, CURLUPART_QUERY, kv, CURLU_APPENDQUERY | CURLU_URLENCODE);
}

static char *token_url(struct mtk_registry *r, const char *scopes, bool with_account,
                       struct mtk_err **err)
{
  CURLU *u = curl_url();
  char *url = NULL;
  if (!u || curl_url_set(u, CURLUPART_URL, r->realm, 0) != CURLUE_OK) {
    curl_url_cleanup(u);
    mtk_err_set(err, MTK_E_PULL, "invalid token realm \"%.200s\" from %s", r->realm, r->host);
    return NULL;
  }
  if (r->service)
    add_query(u, "service", r->service);
  mtk_autofree char *copy = mtk_xstrdup(scopes ? scopes : "");
  char *save = NULL;
  for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
    add_query(u, "scope", t);
  if (with_account)
    add_query(u, "account", r->creds.username);
  curl_url_get(u, CURLUPART_URL, &url, 0);
  char *ret = mtk_xstrdup(url);
  curl_free(url);
  curl_url_cleanup(u);
  return ret;
}

static char *form_escape(const char *s)
{
  char *e = curl_easy_escape(NULL, s ? s : "", 0);
  char *ret = mtk_xstrdup(e);
  curl_free(e);
  return ret;
}

/* OAuth2 refresh-token grant (distribution docs/spec/auth/oauth.md) for
 * identity tokens saved by `docker login`. */
static char *oauth_form(struct mtk_registry *r, const char *scopes)
{
  mtk_autofree char *rt = form_escape(r->creds.identity_token);
  mtk_autofree char *svc = form_escape(r->service);
  mtk_autofree char *sc = form_escape(scopes);
  return mtk_xasprintf("grant_type=refresh_token&refresh_token=%s&service=%s&scope=%s"
                       "&client_id=mtk",
                       rt, svc, sc);
}

static bool token_clean(const char *t)
{
  for (; *t; t++)
    if ((unsigned char) *t <= 0x20 || (unsigned char) *t >= 0x7f)
      return false;
  return true;
}

static int parse_token(struct mtk_registry *r, const struct mtk_registry_resp *p, char **token,
                       int *ttl, struct mtk_err **err)
{
  json_error_t je;
  json_t *doc = json_loadb(p->body.buf ? p->body.buf : "", p->body.len, 0, &je);
  const char *t = json_string_value(json_object_get(doc, "token"));
  if (!t || !*t)
    t = json_string_value(json_object_get(doc, "access_token"));
  if (!t || !*t || !token_clean(t)) {
    json_decref(doc);
    return mtk_err_set(err, MTK_E_PULL, "token server %.200s for %s sent no usable token", r->realm,
                       r->host);
  }
  json_t *exp = json_object_get(doc, "expires_in");
  *ttl = json_is_integer(exp) ? (int) json_integer_value(exp) : TOKEN_MIN_TTL;
  if (*ttl < TOKEN_MIN_TTL)
    *ttl = TOKEN_MIN_TTL;
  *token = mtk_xstrdup(t);
  json_decref(doc);
  return 0;
}

/* Fetches a token for scopes (canonical) and caches it. */
static int token_fetch(struct mtk_registry *r, const char *scopes, char **out, struct mtk_err **err)
{
  if (mtk_registry_creds_load(r, err) < 0)
    return -1;
  const struct mtk_registry_creds *c = &r->creds;
  bool trusted = realm_trusted(r, r->realm);
  bool basic = trusted && c->username && c->password;
  bool oauth = trusted && c->identity_token && r->service;
  mtk_autofree char *form = oauth ? oauth_form(r, scopes) : NULL;
  mtk_autofree char *url = oauth ? mtk_xstrdup(r->realm) : token_url(r, scopes, basic, err);
  mtk_autofree char *authz = basic && !oauth ? basic_value(c) : NULL;
  if (!url)
    return -1;
  struct mtk_registry_req q = {.method = oauth ? "POST" : "GET",
                               .url = url,
                               .fd = -1,
                               .cap = MTK_REGISTRY_TOKEN_MAX,
                               .retry = true};
  if (oauth) {
    q.body = form;
    q.body_len = strlen(form);
    q.content_type = "application/x-www-form-urlencoded";
  }
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  r->stats.token_fetches++;
  int ret = mtk_registry_send(r, &q, authz, &p, err);
  if (ret == 0 && p.status != 200) {
    mtk_registry_resp_error(r, &p, MTK_E_PULL, err);
    if (p.status == 401 && (basic || oauth))
      mtk_err_wrap(err, "unauthorized: incorrect username or password (token server)");
    else
      mtk_err_wrap(err, "token server %s", r->realm);
    ret = -1;
  }
  int ttl = 0;
  char *tok = NULL;
  if (ret == 0)
    ret = parse_token(r, &p, &tok, &ttl, err);
  mtk_registry_resp_free(&p);
  if (ret < 0)
    return -1;
  struct mtk_registry_token *t = mtk_xcalloc(1, sizeof(*t));
  t->scopes = mtk_xstrdup(scopes);
  t->token = tok;
  t->expires = mtk_registry_now() + ttl;
  t->next = r->tokens;
  r->tokens = t;
  *out = mtk_xasprintf("Bearer %s", tok);
  return 0;
}

/* -------------------------------------------------------------- public */

int mtk_registry_auth_learn(struct mtk_registry *r, const char *www_auth, struct mtk_err **err)
{
  struct mtk_registry_challenge cs[8];
  size_t n = mtk_registry_challenges_parse(www_auth, cs, 8);
  int i = pick(cs, n);
  r->auth = MTK_REGISTRY_AUTH_NONE;
  if (i >= 0 && strcasecmp(cs[i].scheme, "Basic") == 0) {
    r->auth = MTK_REGISTRY_AUTH_BASIC;
  } else if (i >= 0) {
    r->auth = MTK_REGISTRY_AUTH_BEARER;
    if (!r->realm || strcmp(r->realm, cs[i].realm) != 0)
      mtk_registry_tokens_free(r);
    free(r->realm);
    free(r->service);
    r->realm = mtk_steal_ptr(&cs[i].realm);
    r->service = mtk_steal_ptr(&cs[i].service);
  }
  for (size_t k = 0; k < n; k++)
    mtk_registry_challenge_free(&cs[k]);
  (void) err;
  return 0;
}

int mtk_registry_auth_header(struct mtk_registry *r, const char *scope, char **out,
                             struct mtk_err **err)
{
  *out = NULL;
  if (r->auth != MTK_REGISTRY_AUTH_BASIC && r->auth != MTK_REGISTRY_AUTH_BEARER)
    return 0;
  if (mtk_registry_creds_load(r, err) < 0)
    return -1;
  if (r->auth == MTK_REGISTRY_AUTH_BASIC) {
    if (r->creds.username && r->creds.password)
      *out = basic_value(&r->creds);
    return 0;
  }
  if (r->creds.registry_token) {
    *out = mtk_xasprintf("Bearer %s", r->creds.registry_token);
    return 0;
  }
  mtk_autofree char *want = mtk_registry_scopes_union(scope, NULL);
  double now = mtk_registry_now();
  for (struct mtk_registry_token *t = r->tokens; t; t = t->next)
    if (t->expires - TOKEN_MARGIN > now && mtk_registry_scopes_cover(t->scopes, want)) {
      *out = mtk_xasprintf("Bearer %s", t->token);
      return 0;
    }
  return token_fetch(r, want, out, err);
}

static int unauthorized(struct mtk_registry *r, const char *what, struct mtk_err **err)
{
  mtk_err_set(err, MTK_E_PULL, "unauthorized: %s", what);
  if (strcmp(r->host, "registry-1.docker.io") == 0)
    mtk_err_hint(err, "log in with `mtk login`");
  else
    mtk_err_hint(err, "log in with `mtk login %s`", r->host);
  return -1;
}

static int retry_basic(struct mtk_registry *r, const char *scope, bool sent_auth, char **scope_out,
                       struct mtk_err **err)
{
  bool was_basic = r->auth == MTK_REGISTRY_AUTH_BASIC;
  r->auth = MTK_REGISTRY_AUTH_BASIC;
  if (mtk_registry_creds_load(r, err) < 0)
    return -1;
  if (!r->creds.username || !r->creds.password)
    return unauthorized(r, "authentication required", err);
  if (sent_auth && was_basic)
    return unauthorized(r, "incorrect username or password", err);
  *scope_out = scope ? mtk_xstrdup(scope) : NULL;
  return 0;
}

static int retry_bearer(struct mtk_registry *r, struct mtk_registry_challenge *c, const char *scope,
                        bool sent_auth, char **scope_out, struct mtk_err **err)
{
  bool was_bearer = r->auth == MTK_REGISTRY_AUTH_BEARER;
  if (!r->realm || strcmp(r->realm, c->realm) != 0) {
    mtk_registry_tokens_free(r);
    free(r->realm);
    r->realm = mtk_steal_ptr(&c->realm);
  }
  free(r->service);
  r->service = mtk_steal_ptr(&c->service);
  r->auth = MTK_REGISTRY_AUTH_BEARER;
  mtk_autofree char *had = mtk_registry_scopes_union(scope, NULL);
  char *want = mtk_registry_scopes_union(scope, c->scope);
  if (sent_auth && was_bearer && strcmp(had, want) == 0) {
    bool denied = c->error && strcmp(c->error, "insufficient_scope") == 0;
    if (denied || r->creds.registry_token) {
      free(want);
      return unauthorized(r,
                          denied ? "requested access to the resource is denied"
                                 : "the registry refused the token",
                          err);
    }
    /* invalid_token (expired, revoked): ask for a fresh one. */
    tokens_drop(r, want);
  }
  *scope_out = want;
  return 0;
}

int mtk_registry_auth_retry(struct mtk_registry *r, const char *scope, const char *www_auth,
                            bool sent_auth, char **scope_out, struct mtk_err **err)
{
  struct mtk_registry_challenge cs[8];
  size_t n = mtk_registry_challenges_parse(www_auth, cs, 8);
  int i = pick(cs, n), ret;
  *scope_out = NULL;
  if (i < 0)
    ret = unauthorized(r, "authentication required (no supported WWW-Authenticate challenge)", err);
  else if (strcasecmp(cs[i].scheme, "Basic") == 0)
    ret = retry_basic(r, scope, sent_auth, scope_out, err);
  else
    ret = retry_bearer(r, &cs[i], scope, sent_auth, scope_out, err);
  for (size_t k = 0; k < n; k++)
    mtk_registry_challenge_free(&cs[k]);
  return ret;
}
