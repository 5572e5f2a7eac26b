/* Value parsers of the compose model, with the exact syntax and rendering of
 * the Go libraries compose-go relies on: durations (go-str2duration, Go's
 * time.Duration.String), byte sizes (types.UnitBytes / go-units RAMInBytes),
 * Go's float formatting, port specs (go-connections nat.ParsePortSpec as
 * types.ParsePortConfig uses it) and volume specs (format.ParseVolume). */
#ifndef MTK_COMPOSE_VALUES_H
#define MTK_COMPOSE_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtk/err.h"
#include "util/gostr.h"

/* A duration as compose-go reads it (str2duration.ParseDuration: Go's
 * time.ParseDuration plus the units "d" and "w"): "90s", "1m30s", "1.5h",
 * "-2d", "0".  Error texts are Go's ("time: invalid duration \"x\"",
 * "time: missing unit in duration \"10\"", "time: unknown unit ..."). */
int mtk_duration_parse(const char *s, int64_t *ns, struct mtk_err **err);
/* Go's time.Duration.String(): "1m30s", "1h0m0s", "500ms", "0s", "1.5s",
 * "1µs", "-2s".  Owned. */
char *mtk_duration_format(int64_t ns);

/* A byte size as types.UnitBytes parses a string: a plain decimal integer
 * (strconv.ParseInt, sign allowed), else go-units RAMInBytes ("2gb", "4G",
 * "512m", "1.5g", "10 KiB": binary multiples, case-insensitive, optional
 * "b"/"ib").  Errors: "invalid size: '...'", "invalid suffix: '...'",
 * strconv's "strconv.ParseFloat: parsing \"...\": invalid syntax". */
int mtk_bytes_parse(const char *s, int64_t *out, struct mtk_err **err);

/* Go's fmt.Sprint of a float64 (%v: shortest digits, exponent form below
 * 1e-4 or from 1e+06 on: "2.5", "1e+06", "1e-05", "+Inf", "NaN").  Owned. */
char *mtk_compose_go_float(double v);
/* float32(v) as Go prints it with the shortest digits, read back as a double
 * (cpus 0.1 stays 0.1, not 0.10000000149011612). */
double mtk_compose_go_float32(double v);
/* strconv.ParseFloat(s, 64) syntax (no surrounding space, no '_' in decimal
 * numbers, hexadecimal only with a 'p' exponent, inf/infinity/nan); false
 * when invalid or out of range. */
bool mtk_compose_parse_float(const char *s, double *out);
/* strconv.ParseInt(s, 10, 64) (optional sign, decimal digits only). */
bool mtk_compose_parse_int(const char *s, int64_t *out);
/* compose-go's toBoolean: true/false in any case, and y/yes/on, n/no/off. */
bool mtk_compose_parse_bool(const char *s, bool *out);
/* Go's strconv.ParseBool: 1, t, T, TRUE, true, True / 0, f, F, FALSE, false, False.  The
   old name of mtk_go_parse_bool (util/gostr.h), for the callers not yet switched. */
static inline bool mtk_compose_strconv_parse_bool(const char *s, bool *out)
{
  return mtk_go_parse_bool(s, out);
}
/* Go's net.ParseIP(s) != nil (IPv4 dotted quad without leading zeros, or IPv6). */
bool mtk_compose_ip_valid(const char *s);

/* One published port, as types.ParsePortConfig yields it. */
struct mtk_port_spec {
  char *host_ip;   /* owned: "" when none */
  uint32_t target; /* container port */
  char *published; /* owned: host port or host range, "" when none */
  char *protocol;  /* owned: lower-case ("tcp" when not given) */
};

/* Parses a short port spec ("[ip:][host[-host]:]container[-container][/proto]",
 * IPv6 host IPs in brackets) into *n entries, one per container port, in the
 * order compose-go emits them (sorted as the strings "PORT/proto").  Errors
 * carry go-connections' text ("Invalid containerPort: x", "Invalid proto: x",
 * "Invalid ip address: x", "Invalid ranges specified for container and host
 * Ports: a and b", ...). */
int mtk_compose_port_parse(const char *spec, struct mtk_port_spec **out, size_t *n,
                           struct mtk_err **err);
void mtk_compose_port_specs_free(struct mtk_port_spec *p, size_t n);

/* One service volume as format.ParseVolume yields it from the short syntax. */
struct mtk_volume_spec {
  char *type;            /* owned: "bind" or "volume" */
  char *source;          /* owned: "" for an anonymous volume */
  char *target;          /* owned: as written (not cleaned) */
  bool read_only;        /* "ro" option */
  bool has_bind;         /* a bind section is present */
  char *propagation;     /* owned: bind propagation option or NULL */
  char *selinux;         /* owned: "z" / "Z" or NULL */
  bool create_host_path; /* bind sources: always true for the short syntax */
  bool has_volume;       /* a volume section is present */
  bool nocopy;           /* "nocopy" option */
};

/* Parses "[source:]target[:options]" ("${...}" may contain ':'; a one-letter
 * Windows drive is kept in the path).  Errors: "invalid empty volume spec",
 * "invalid spec: SPEC: too many colons", "... empty section between colons". */
int mtk_compose_volume_parse(const char *spec, struct mtk_volume_spec *out, struct mtk_err **err);
void mtk_compose_volume_spec_clear(struct mtk_volume_spec *v);

#endif
