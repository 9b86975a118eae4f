/*
 * The image format registry. Adding a codec is one file and one line here. Probing
 * asks every format to score a bounded peek at the first bytes: content decides, never
 * the file name (PNGs named .jpg are common in scraped datasets).
 */
#include "internal.h"

#include <string.h>

extern const sp_format sp_format_pnm;

static const sp_format *const formats[] = {
    &sp_format_jpeg,
    &sp_format_png,
    &sp_format_pnm,
    &sp_format_raw,
};

const sp_format *const *sp_formats(size_t *count)
{
    *count = SP_ARRAY_LEN(formats);
    return formats;
}

const sp_format *sp_format_by_name(const char *name)
{
    for (size_t i = 0; i < SP_ARRAY_LEN(formats); i++)
        if (strcmp(formats[i]->name, name) == 0) return formats[i];
    return NULL;
}

const sp_format *sp_format_probe(const uint8_t *data, size_t len)
{
    size_t peek = len < SP_PROBE_BYTES ? len : SP_PROBE_BYTES;
    const sp_format *best = NULL;
    int best_score = 0;
    for (size_t i = 0; i < SP_ARRAY_LEN(formats); i++) {
        if (!formats[i]->probe || !formats[i]->decode) continue; /* write-only formats */
        int s = formats[i]->probe(data, peek);
        if (s > best_score) {
            best_score = s;
            best = formats[i];
        }
    }
    return best;
}

const sp_format *sp_ctx_format_by_name(const sp_ctx *ctx, const char *name)
{
    const sp_format *f = sp_format_by_name(name);
    for (size_t i = 0; !f && ctx && i < ctx->nformats; i++)
        if (strcmp(ctx->formats[i]->name, name) == 0) f = ctx->formats[i];
    return f;
}

const sp_format *sp_ctx_format_probe(const sp_ctx *ctx, const uint8_t *data, size_t len)
{
    const sp_format *best = sp_format_probe(data, len);
    size_t peek = len < SP_PROBE_BYTES ? len : SP_PROBE_BYTES;
    int best_score = best ? best->probe(data, peek) : 0;
    for (size_t i = 0; ctx && i < ctx->nformats; i++) {
        int s = ctx->formats[i]->probe(data, peek);
        if (s > best_score) { /* strictly: built-ins win ties */
            best_score = s;
            best = ctx->formats[i];
        }
    }
    return best;
}
