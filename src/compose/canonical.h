/* compose-go's transform package (Canonical, SetDefaultValues), its
 * validation package and loader.OmitEmpty, on the node tree.  (The typed
 * rendering of compose-go's types is normalize_render.c's.)
 *
 * The first part of this header is what the loader calls; the second part
 * ("shared by canonical*.c") is private to the canonical*.c, defaults.c and
 * validate.c files. */
#ifndef MTK_COMPOSE_CANONICAL_H
#define MTK_COMPOSE_CANONICAL_H

#include <stdbool.h>

#include "compose/node.h"
#include "mtk/err.h"

/* transform.Canonical on a (merged) model, in place: short syntax to long
 * syntax.  Idempotent, and accepts a mix of canonical and short forms, since
 * it runs again after every file is merged.  What it does:
 *  - services.*.build "ctx" -> {context}; build.secrets[] "s" -> {source};
 *    build.provenance/sbom to strings; build.additional_contexts and
 *    build.ssh lists -> maps;
 *  - ports: short specs (strings or integers) -> one {mode: ingress, host_ip?,
 *    target, published?, protocol} per container port (ranges expanded, in
 *    compose-go's order); long syntax kept, `target` cast to an integer and
 *    `published` to a string;
 *  - volumes: short specs -> {type, source?, target (cleaned), read_only?,
 *    bind {propagation?, selinux?, create_host_path: true} | volume {nocopy?}}
 *    (a leading "~" or "./" is kept for path resolution); long syntax kept;
 *  - depends_on list -> map, every entry with condition (service_started)
 *    and required (true); env_file -> [{path, required (true), format?}];
 *    label_file/dns string -> list; extends "svc" -> {service};
 *    networks/models list -> map of nulls; secrets/configs[] "s" -> {source};
 *    devices[] "src[:dst[:perm]]" -> {source, target, permissions (rwm)};
 *    gpus "all" -> [{count: all}]; develop.watch[].ignore/include -> lists;
 *  - the key=value types, list or map -> map with string values:
 *    environment and build.args (a bare KEY is null), labels, build.labels,
 *    deploy.labels, annotations, sysctls, networks.*.labels, volumes.*.labels
 *    (a bare KEY is ""); expose entries -> strings; healthcheck.test string ->
 *    ["CMD-SHELL", s];
 *  - top-level volumes/networks/secrets/configs: `external: {name}` ->
 *    `external: true` + `name`; include[] "path" -> {path: [path]}.
 * Errors: MTK_E_INVALID at the node, "services.web.ports[0]: invalid port ..."
 * (key path first, compose-go's wording after it). */
int mtk_compose_canonical(struct mtk_node *root, struct mtk_err **err);

/* The key=value types of compose-go on map[key], in place (nothing when the
 * key is absent or null): a list of "KEY=VALUE" or a mapping becomes a mapping
 * of strings.  with_equals: MappingWithEquals (environment, build.args): a bare
 * KEY or a null value is null, and a key ending in a space is an error
 * ("environment variable X  is declared with a trailing space"); otherwise
 * Mapping/Labels: a bare KEY or a null value is "".  path names map in
 * messages ("services.web"; "" at the top). */
int mtk_compose_key_values(struct mtk_node *map, const char *key, bool with_equals,
                           const char *path, struct mtk_err **err);

/* loader.OmitEmpty: drops null and "" entries of services.*.dns.  Returns 0. */
int mtk_compose_omit_empty(struct mtk_node *root);

/* transform.SetDefaultValues (after all files are merged): build.context "."
 * when absent, services.*.secrets[].target "/run/secrets/<source>",
 * ports[] protocol tcp / mode ingress, device requests (gpus[],
 * deploy.resources.reservations.devices[]) count "all" when neither count
 * nor device_ids is set, volumes[].bind.create_host_path true.
 * (build.dockerfile "Dockerfile" is Normalize's, not a default.) */
int mtk_compose_defaults(struct mtk_node *root, struct mtk_err **err);

/* validation.Validate: top-level volumes with `external: true` and other
 * attributes, secrets/configs without (or with several of) file /
 * environment / content, ports[].host_ip not an IP address, blank
 * develop.watch[].path, device requests with both count and device_ids;
 * plus every service's healthcheck.test (see mtk_compose_validate_healthcheck). */
int mtk_compose_validate(const struct mtk_node *root, struct mtk_err **err);

/* One service's healthcheck.test must start with "CMD", "CMD-SHELL" or
 * "NONE" (compose-go checks it in checkConsistency, i.e. on enabled
 * services only, and not with --no-consistency).  Message:
 * `healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"`. */
int mtk_compose_validate_healthcheck(const struct mtk_node *service, struct mtk_err **err);

/* ---- shared by canonical*.c, defaults.c and validate.c ---- */

/* Replaces *slot (freeing it) by val. */
void mtk_compose_replace(struct mtk_node **slot, struct mtk_node *val);

int mtk_compose_canon_ports(struct mtk_node *service, const char *path, struct mtk_err **err);
int mtk_compose_canon_volumes(struct mtk_node *service, const char *path, struct mtk_err **err);

#endif
