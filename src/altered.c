/*
 * Altered samples: those whose pixels the decoder changed on the way in — a JPEG turned
 * upright by its EXIF orientation, CMYK or YCCK converted to RGB, alpha composited on
 * [run] background or dropped (kept with background = keep: not an alteration), samples deeper or shallower than 8 bits scaled. Each
 * codec's header says what its decode will change (sp_image_info.alterations), the
 * catalog caches it, and the rows here are derived from the catalog at finish time, for
 * the samples some sink wrote: once per sample and reason, never per copy. They go to
 * report.tsv (phase `decode`), manifest.json (`altered`) and the stderr summary.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct sample_ref {
    uint32_t source, sample;
} sample_ref;

static int cmp_ref(const void *a, const void *b)
{
    const sample_ref *x = a, *y = b;
    if (x->source != y->source) return x->source < y->source ? -1 : 1;
    return x->sample < y->sample ? -1 : x->sample > y->sample;
}

static int cmp_skip_ref(const void *key, const void *elem)
{
    const sample_ref *k = key;
    const sp_skip *x = elem;
    sample_ref r = {x->source, x->sample};
    return cmp_ref(k, &r);
}

/* Finish sorted the skips by (source, sample) before anything is reported. */
static bool skipped(const sp_job *run, sample_ref r)
{
    return run->nskips &&
           bsearch(&r, run->skips, run->nskips, sizeof(*run->skips), cmp_skip_ref) != NULL;
}

static const char *const reasons[] = {"exif_rotated", "cmyk_converted", "alpha_composited",
                                      "alpha_dropped", "depth_reduced", "depth_scaled"};

static const char *orientation_text(unsigned o)
{
    switch (o) {
    case 2: return "mirrored left to right";
    case 3: return "turned 180°";
    case 4: return "mirrored top to bottom";
    case 5: return "mirrored across the top-left to bottom-right diagonal";
    case 6: return "turned 90° clockwise";
    case 7: return "mirrored across the top-right to bottom-left diagonal";
    default: return "turned 90° counter-clockwise"; /* 8 */
    }
}

/* The rows of one sample, in the order of `reasons`. */
static size_t rows_of(const sp_job *run, sample_ref r, sp_altered *out)
{
    const sp_image_info *in = &run->catalogs[r.source].samples[r.sample].info;
    size_t k = 0;
    if ((in->alterations & SP_ALTER_ORIENTED) && in->orientation >= 2 && in->orientation <= 8) {
        out[k] = (sp_altered){r.source, r.sample, reasons[0], {0}};
        snprintf(out[k++].detail, sizeof(out->detail), "EXIF orientation %u: %s",
                 in->orientation, orientation_text(in->orientation));
    }
    if (in->alterations & (SP_ALTER_CMYK | SP_ALTER_YCCK)) {
        out[k] = (sp_altered){r.source, r.sample, reasons[1], {0}};
        snprintf(out[k++].detail, sizeof(out->detail), "%s converted to RGB",
                 in->alterations & SP_ALTER_YCCK ? "YCCK" : "CMYK");
    }
    /* With background = keep the alpha goes through untouched: nothing to report. */
    if ((in->alterations & SP_ALTER_ALPHA) && !(run->pipe->limits.background & SP_BG_KEEP)) {
        uint32_t bg = run->pipe->limits.background;
        bool drop = bg & SP_BG_DROP;
        out[k] = (sp_altered){r.source, r.sample, reasons[drop ? 3 : 2], {0}};
        unsigned c[3] = {255, 255, 255};
        if (bg & SP_BG_SET)
            for (int i = 0; i < 3; i++) c[i] = (bg >> (16 - 8 * i)) & 0xff;
        const char *name = c[0] + c[1] + c[2] == 3 * 255 ? "white "
                           : c[0] + c[1] + c[2] == 0 ? "black "
                                                     : "";
        if (drop)
            snprintf(out[k++].detail, sizeof(out->detail), "alpha dropped (background = none)");
        else
            snprintf(out[k++].detail, sizeof(out->detail), "composited on %s(%u,%u,%u)", name,
                     c[0], c[1], c[2]);
    }
    if ((in->alterations & SP_ALTER_DEPTH) && in->maxval && in->maxval != 255) {
        bool deep = in->maxval > 255;
        out[k] = (sp_altered){r.source, r.sample, reasons[deep ? 4 : 5], {0}};
        if (in->maxval == 65535)
            snprintf(out[k++].detail, sizeof(out->detail), "16-bit samples reduced to 8 bits");
        else
            snprintf(out[k++].detail, sizeof(out->detail), "samples of 0..%u %s to 0..255",
                     in->maxval, deep ? "reduced" : "scaled");
    }
    return k;
}

int sp_altered_rows(const sp_job *run, sp_altered **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    /* Every sample a sink writes: its records, and the stand-ins written for failed ones. */
    size_t total = run->nsubsts;
    for (size_t s = 0; s < run->nsinks; s++) total += run->sinks[s].recs.n;
    sample_ref *refs = malloc(sizeof(*refs) * (total ? total : 1));
    if (!refs) return SP_E_NOMEM;
    size_t m = 0;
    for (size_t s = 0; s < run->nsinks; s++)
        for (size_t i = 0; i < run->sinks[s].recs.n; i++) {
            const sp_record *r = &run->sinks[s].recs.v[i];
            if (run->catalogs[r->source].samples[r->sample].info.alterations)
                refs[m++] = (sample_ref){r->source, r->sample};
        }
    for (size_t i = 0; i < run->nsubsts; i++) {
        const sp_subst *t = &run->substs[i];
        if (run->catalogs[t->by_source].samples[t->by_sample].info.alterations)
            refs[m++] = (sample_ref){t->by_source, t->by_sample};
    }
    if (m > 1) qsort(refs, m, sizeof(*refs), cmp_ref);
    size_t u = 0;
    for (size_t i = 0; i < m; i++)
        if ((u == 0 || cmp_ref(&refs[u - 1], &refs[i]) != 0) && !skipped(run, refs[i]))
            refs[u++] = refs[i];
    /* At most one row per reason group (orientation, colour, alpha, depth) per sample. */
    sp_altered *out = malloc(sizeof(*out) * 4 * (u ? u : 1));
    if (!out) {
        free(refs);
        return SP_E_NOMEM;
    }
    for (size_t i = 0; i < u; i++) *n += rows_of(run, refs[i], out + *n);
    free(refs);
    *rows = out;
    return SP_OK;
}

/* "altered": [{"source": ..., "path": ..., ["archive": ...,] "reason": ..., "detail": ...}] */
int sp_altered_json(sp_buf *b, const sp_job *run)
{
    sp_altered *rows;
    size_t n;
    if (sp_altered_rows(run, &rows, &n) != SP_OK) return SP_E_NOMEM;
    sp_buf_puts(b, "  \"altered\": [");
    for (size_t i = 0; i < n; i++) {
        const sp_catalog *cat = &run->catalogs[rows[i].source];
        sp_buf_puts(b, i ? ",\n    {\"source\": " : "\n    {\"source\": ");
        sp_json_str(b, cat->source);
        sp_buf_puts(b, ", \"path\": ");
        sp_json_str(b, cat->samples[rows[i].sample].path);
        if (cat->members) { /* the path is a member of this archive, as in "skipped" */
            sp_buf_puts(b, ", \"archive\": ");
            sp_json_str(b, cat->root);
        }
        sp_buf_printf(b, ", \"reason\": \"%s\", \"detail\": ", rows[i].reason);
        sp_json_str(b, rows[i].detail);
        sp_buf_puts(b, "}");
    }
    sp_buf_puts(b, n ? "\n  ],\n" : "],\n");
    free(rows);
    return SP_OK;
}

/* "altered by reason: exif_rotated 3, alpha_composited 1": the line a person reads. */
void sp_altered_log(sp_job *run)
{
    sp_altered *rows;
    size_t n;
    if (sp_altered_rows(run, &rows, &n) != SP_OK) return;
    sp_buf line = {0};
    for (size_t r = 0; r < SP_ARRAY_LEN(reasons); r++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) k += rows[i].reason == reasons[r];
        if (k) sp_buf_printf(&line, "%s%s %zu", line.len ? ", " : "", reasons[r], k);
    }
    if (line.data)
        sp_log(run->ctx, SP_LOG_INFO, "  altered by reason: %s (listed in manifest.json and "
                                      "report.tsv)", line.data);
    sp_buf_free(&line);
    free(rows);
}
