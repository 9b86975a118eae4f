/*
 * Option tables. One table per stage drives parsing, defaults, validation, `shardpack
 * stages`, the generated reference and the manifest: nothing else parses option strings.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const sp_option *sp_option_find(const sp_option *table, const char *name)
{
    for (const sp_option *o = table; o && o->name; o++)
        if (strcmp(o->name, name) == 0) return o;
    return NULL;
}

const char *sp_opt_type_name(sp_opt_type t)
{
    switch (t) {
    case SP_OPT_INT: return "int";
    case SP_OPT_DOUBLE: return "float";
    case SP_OPT_BOOL: return "bool";
    case SP_OPT_STRING: return "string";
    case SP_OPT_ENUM: return "enum";
    case SP_OPT_SIZE: return "size";
    case SP_OPT_FLAGS: return "list";
    }
    return "?";
}

static bool has_range(const sp_option *o)
{
    return o->min <= o->max;
}

/* A bound as a person writes it: 9007199254740991, not 9.00719925474099e+15. */
static void bound_text(double v, char *buf, size_t size)
{
    if (v == floor(v) && fabs(v) < 1e18)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.15g", v);
}

static int range_error(const sp_option *o, const char *value, sp_error *err)
{
    char lo[32], hi[32];
    bound_text(o->min, lo, sizeof(lo));
    bound_text(o->max, hi, sizeof(hi));
    return sp_fail(err, SP_E_CONFIG, "%s = %s is out of range [%s, %s]", o->name, value, lo, hi);
}

static void choices_list(const sp_option *o, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const sp_enum_choice *c = o->choices; c && c->name && n < size; c++) {
        int k = snprintf(buf + n, size - n, "%s%s", n ? ", " : "", c->name);
        if (k > 0) n += (size_t)k;
    }
}

static int parse_size(const char *s, uint64_t *out)
{
    errno = 0;
    char *end;
    if (*s < '0' || *s > '9') return -1; /* strtoull takes " -5" as 2^64 - 5 */
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: return -1;
    }
    if (*end && end[1] != '\0' && !((end[1] == 'B' || end[1] == 'b') && end[2] == '\0'))
        return -1;
    if (shift && v > (UINT64_MAX >> shift)) return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int sp_option_parse(const sp_option *o, void *opts, const char *value, sp_error *err)
{
    char *field = (char *)opts + o->offset;
    char *end;
    switch (o->type) {
    case SP_OPT_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end)
            return sp_fail(err, SP_E_CONFIG, "%s = %s is not an integer", o->name, value);
        if (has_range(o) && ((double)v < o->min || (double)v > o->max))
            return range_error(o, value, err);
        *(int64_t *)field = v;
        return SP_OK;
    }
    case SP_OPT_DOUBLE: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return sp_fail(err, SP_E_CONFIG, "%s = %s is not a number", o->name, value);
        if (has_range(o) && (v < o->min || v > o->max)) return range_error(o, value, err);
        *(double *)field = v;
        return SP_OK;
    }
    case SP_OPT_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(value, yes[i]) == 0) {
                *(bool *)field = true;
                return SP_OK;
            }
            if (strcasecmp(value, no[i]) == 0) {
                *(bool *)field = false;
                return SP_OK;
            }
        }
        return sp_fail(err, SP_E_CONFIG, "%s = %s is not a boolean (expected true or false)",
                       o->name, value);
    }
    case SP_OPT_STRING: {
        if ((o->flags & SP_OPT_REQUIRED) && value[0] == '\0')
            return sp_fail(err, SP_E_CONFIG, "%s must not be empty", o->name);
        char *s = sp_strdup(value);
        if (!s) return sp_fail(err, SP_E_NOMEM, "out of memory");
        free(*(char **)field);
        *(char **)field = s;
        return SP_OK;
    }
    case SP_OPT_ENUM:
        for (const sp_enum_choice *c = o->choices; c && c->name; c++) {
            if (strcmp(c->name, value) == 0) {
                *(int *)field = c->value;
                return SP_OK;
            }
        }
        {
            char list[512];
            choices_list(o, list, sizeof(list));
            return sp_fail(err, SP_E_CONFIG, "%s = %s is not valid (expected one of: %s)",
                           o->name, value, list);
        }
    case SP_OPT_FLAGS: {
        unsigned bits = 0;
        const char *p = value;
        while (*p) {
            while (*p == ' ' || *p == ',') p++;
            size_t n = strcspn(p, ", ");
            if (n == 0) break;
            const sp_enum_choice *hit = NULL;
            for (const sp_enum_choice *c = o->choices; c && c->name; c++)
                if (strlen(c->name) == n && strncmp(c->name, p, n) == 0) hit = c;
            if (!hit) {
                char list[512];
                choices_list(o, list, sizeof(list));
                return sp_fail(err, SP_E_CONFIG,
                               "%s: '%.*s' is not valid (expected a comma-separated list of: %s)",
                               o->name, (int)n, p, list);
            }
            bits |= (unsigned)hit->value;
            p += n;
        }
        *(unsigned *)field = bits;
        return SP_OK;
    }
    case SP_OPT_SIZE: {
        uint64_t v;
        if (parse_size(value, &v) != 0)
            return sp_fail(err, SP_E_CONFIG,
                           "%s = %s is not a size (expected bytes, optionally with K, M, G "
                           "or T)",
                           o->name, value);
        if (has_range(o) && ((double)v < o->min || (double)v > o->max))
            return range_error(o, value, err);
        *(uint64_t *)field = v;
        return SP_OK;
    }
    }
    return sp_fail(err, SP_E_INTERNAL, "option %s has an unknown type", o->name);
}

int sp_options_defaults(const sp_option *table, void *opts, sp_error *err)
{
    for (const sp_option *o = table; o && o->name; o++) {
        if (!o->def) continue;
        int rc = sp_option_parse(o, opts, o->def, err);
        if (rc != SP_OK) return rc;
    }
    return SP_OK;
}

void sp_options_free(const sp_option *table, void *opts)
{
    if (!opts) return;
    for (const sp_option *o = table; o && o->name; o++) {
        if (o->type != SP_OPT_STRING) continue;
        char **field = (char **)((char *)opts + o->offset);
        free(*field);
        *field = NULL;
    }
}

void sp_option_format(const sp_option *o, const void *opts, sp_buf *out)
{
    const char *field = (const char *)opts + o->offset;
    switch (o->type) {
    case SP_OPT_INT: sp_buf_printf(out, "%lld", (long long)*(const int64_t *)field); break;
    case SP_OPT_DOUBLE: {
        /* The shortest text that reads back as the same double: 0.1, not 0.10000000000000001. */
        double v = *(const double *)field;
        char tmp[32];
        if (v == floor(v) && fabs(v) < 1e15) {
            snprintf(tmp, sizeof(tmp), "%.0f", v); /* 2500, not 2.5e+03 */
            sp_buf_puts(out, tmp);
            break;
        }
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
            if (strtod(tmp, NULL) == v) break;
        }
        sp_buf_puts(out, tmp);
        break;
    }
    case SP_OPT_BOOL: sp_buf_puts(out, *(const bool *)field ? "true" : "false"); break;
    case SP_OPT_STRING: {
        const char *s = *(char *const *)field;
        sp_buf_puts(out, s ? s : "");
        break;
    }
    case SP_OPT_ENUM:
        for (const sp_enum_choice *c = o->choices; c && c->name; c++)
            if (c->value == *(const int *)field) sp_buf_puts(out, c->name);
        break;
    case SP_OPT_SIZE:
        sp_buf_printf(out, "%llu", (unsigned long long)*(const uint64_t *)field);
        break;
    case SP_OPT_FLAGS: {
        bool first = true;
        for (const sp_enum_choice *c = o->choices; c && c->name; c++)
            if (*(const unsigned *)field & (unsigned)c->value) {
                sp_buf_puts(out, first ? "" : ",");
                sp_buf_puts(out, c->name);
                first = false;
            }
        break;
    }
    }
}

const sp_option *sp_option_reversed(const sp_option *table, const sp_option *lo, const void *opts)
{
    size_t n = strlen(lo->name);
    if (n < 5 || strcmp(lo->name + n - 4, "_min") != 0) return NULL;
    char want[80];
    snprintf(want, sizeof(want), "%.*s_max", (int)(n - 4), lo->name);
    const sp_option *hi = sp_option_find(table, want);
    if (!hi || hi->type != lo->type) return NULL;
    const char *a = (const char *)opts + lo->offset, *b = (const char *)opts + hi->offset;
    bool bad = lo->type == SP_OPT_DOUBLE ? *(const double *)a > *(const double *)b
               : lo->type == SP_OPT_INT  ? *(const int64_t *)a > *(const int64_t *)b
                                         : false;
    return bad ? hi : NULL;
}

int sp_options_check_ranges(const sp_option *table, const void *opts, sp_error *err)
{
    for (const sp_option *lo = table; lo && lo->name; lo++) {
        const sp_option *hi = sp_option_reversed(table, lo, opts);
        if (!hi) continue;
        sp_buf x = {0}, y = {0};
        sp_option_format(lo, opts, &x);
        sp_option_format(hi, opts, &y);
        int rc = sp_fail(err, SP_E_CONFIG, "%s = %s is more than %s = %s", lo->name,
                         x.data ? x.data : "", hi->name, y.data ? y.data : "");
        sp_buf_free(&x);
        sp_buf_free(&y);
        return rc;
    }
    return SP_OK;
}
