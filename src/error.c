/*
 * Result codes and the error object. Codes have stable short names because they are the
 * `reason` field of manifests and reports: scripts match on them.
 */
#include "internal.h"

#include <string.h>

static const struct {
    int code;
    const char *name;
    sp_severity severity;
} codes[] = {
    {SP_OK, "ok", SP_SEV_OK},
    {SP_E_NOMEM, "out_of_memory", SP_SEV_FAILED},
    {SP_E_IO, "io_error", SP_SEV_FAILED}, /* a sample that cannot be read is only skipped */
    {SP_E_CONFIG, "config_error", SP_SEV_FAILED},
    {SP_E_USAGE, "usage_error", SP_SEV_FAILED},
    {SP_E_FORMAT, "unknown_format", SP_SEV_SAMPLE},
    {SP_E_CORRUPT, "corrupt", SP_SEV_SAMPLE},
    {SP_E_LIMIT, "limit_exceeded", SP_SEV_SAMPLE},
    {SP_E_CHANGED, "changed_since_scan", SP_SEV_SAMPLE},
    {SP_E_CANCELLED, "cancelled", SP_SEV_FAILED},
    {SP_E_INTERNAL, "internal_error", SP_SEV_FAILED},
    {SP_E_NOLABEL, "no_label", SP_SEV_SAMPLE},
    {SP_E_DUPLICATE, "duplicate", SP_SEV_SAMPLE},
    {SP_E_NEAR_DUPLICATE, "near_duplicate", SP_SEV_SAMPLE},
    {SP_E_TOO_SMALL, "too_small", SP_SEV_SAMPLE},
    {SP_E_TOO_LARGE, "too_large", SP_SEV_SAMPLE},
    {SP_E_ASPECT, "bad_aspect", SP_SEV_SAMPLE},
    {SP_E_UNDERSAMPLED, "undersampled", SP_SEV_SAMPLE},
    {SP_E_UNSAFE, "unsafe_member", SP_SEV_SAMPLE},
    {SP_E_BADROW, "bad_row", SP_SEV_SAMPLE},
    /* Each [run] limit's reason is its option's name (test_options checks they match). */
    {SP_E_MAX_PIXELS, "max_pixels", SP_SEV_SAMPLE},
    {SP_E_MAX_DIMENSION, "max_dimension", SP_SEV_SAMPLE},
    {SP_E_MAX_FILE_BYTES, "max_file_bytes", SP_SEV_SAMPLE},
    {SP_E_MAX_SCANS, "max_scans", SP_SEV_SAMPLE},
    {SP_E_MAX_MEMBERS, "max_members", SP_SEV_SAMPLE},
    {SP_E_MAX_NESTING, "max_nesting", SP_SEV_SAMPLE},
    {SP_E_MAX_LINE_BYTES, "max_line_bytes", SP_SEV_SAMPLE},
    {SP_E_MAX_RATIO, "max_ratio", SP_SEV_SAMPLE},
    {SP_E_MAX_UNPACKED_BYTES, "max_unpacked_bytes", SP_SEV_SAMPLE},
};

bool sp_is_limit(int code)
{
    static const int limits[] = {SP_E_LIMIT, SP_RUN_LIMIT_CODES};
    for (size_t i = 0; i < SP_ARRAY_LEN(limits); i++)
        if (limits[i] == code) return true;
    return false;
}

/* Every reason a sample can be dropped for, in the order summaries list them. One list,
 * so a new reason cannot be counted in one summary and forgotten in another (unit_options
 * checks every sample-level code is here). */
static const int reasons[] = {SP_E_FORMAT,    SP_E_CORRUPT,   SP_E_LIMIT,     SP_RUN_LIMIT_CODES,
                              SP_E_CHANGED,   SP_E_NOLABEL,   SP_E_IO,        SP_E_UNSAFE,
                              SP_E_BADROW,    SP_E_DUPLICATE, SP_E_NEAR_DUPLICATE,
                              SP_E_TOO_SMALL, SP_E_TOO_LARGE, SP_E_ASPECT, SP_E_UNDERSAMPLED};

const int *sp_reason_codes(size_t *n)
{
    *n = SP_ARRAY_LEN(reasons);
    return reasons;
}

const char *sp_strerror(int code)
{
    for (size_t i = 0; i < SP_ARRAY_LEN(codes); i++)
        if (codes[i].code == code) return codes[i].name;
    return "unknown_error";
}

sp_severity sp_severity_of(int code)
{
    for (size_t i = 0; i < SP_ARRAY_LEN(codes); i++)
        if (codes[i].code == code) return codes[i].severity;
    return SP_SEV_FAILED;
}

int sp_fail(sp_error *err, int code, const char *fmt, ...)
{
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void sp_error_clear(sp_error *err)
{
    memset(err, 0, sizeof(*err));
}

void sp_error_set_path(sp_error *err, const char *path)
{
    if (err) snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
}

void sp_error_set_member(sp_error *err, const char *member)
{
    if (err) snprintf(err->member, sizeof(err->member), "%s", member ? member : "");
}

const char *sp_error_format(const sp_error *err, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
#define PUT(...)                                                                              \
    do {                                                                                       \
        if (n < size) {                                                                        \
            int k = snprintf(buf + n, size - n, __VA_ARGS__);                                  \
            if (k > 0) n += (size_t)k;                                                         \
        }                                                                                      \
    } while (0)
    if (err->path[0]) PUT("%s%s", err->path, err->line ? "" : ": ");
    if (err->line) PUT(":%d: ", err->line);
    if (err->member[0]) PUT("%s: ", err->member);
    PUT("%s", err->msg[0] ? err->msg : sp_strerror(err->code));
#undef PUT
    return buf;
}
