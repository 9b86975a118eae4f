/*
 * Preview: a contact sheet of what a pipeline does to its samples, before a long build.
 * A row per source sample (classes taken in turn, so every class shows), a column per
 * copy: column 0 is copy 0 (the sample as the branch stores it), columns 1.. are the
 * copies a balance stage would ask for, with whatever the branch's random stages draw
 * for them. Each image is fitted into a square cell; each row is labelled with its class
 * and file. Nothing is written but the PNG.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define PAD 6
#define LABEL_H 12 /* one line of the 5x7 font with room around it */

typedef struct pick {
    sp_record rec;
    int32_t label;
} pick;

/* Up to `rows` distinct samples of the sink, classes in turn (first class's first sample,
 * second class's first, ..., then every class's second), in plan order within a class.
 * One pass over the records keeps each class's first `rows` plain samples; the rows are
 * then dealt from those lists. */
static size_t pick_rows(const sp_job *run, const sp_sink_plan *sp, size_t rows, pick *out)
{
    pick *kept = calloc(run->nclasses * rows + 1, sizeof(pick));
    size_t *nkept = calloc(run->nclasses + 1, sizeof(size_t));
    size_t n = 0;
    if (kept && nkept) {
        for (size_t i = 0; i < sp->recs.n; i++) {
            const sp_record *r = &sp->recs.v[i];
            int32_t c = run->catalogs[r->source].to_global[sp_run_sample(run, r)->label];
            if (r->copy != 0 || nkept[c] == rows) continue;
            kept[(size_t)c * rows + nkept[c]++] = (pick){*r, c};
        }
        for (size_t round = 0; round < rows && n < rows; round++)
            for (size_t c = 0; c < run->nclasses && n < rows; c++)
                if (round < nkept[c]) out[n++] = kept[c * rows + round];
    }
    free(kept);
    free(nkept);
    return n;
}

/* Fits img into a cell x cell square at (x, y) of the sheet, centred, aspect kept. */
static int place(sp_image *sheet, const sp_image *img, uint32_t x, uint32_t y, uint32_t cell,
                 sp_error *err)
{
    uint64_t w = cell, h = cell;
    if (img->width >= img->height)
        h = (uint64_t)cell * img->height / img->width;
    else
        w = (uint64_t)cell * img->width / img->height;
    w = w ? w : 1;
    h = h ? h : 1;
    sp_image fit = {0};
    int rc = sp_resample(img, (uint32_t)w, (uint32_t)h, SP_FILTER_AREA, &fit, err);
    if (rc != SP_OK) return rc;
    uint32_t ox = x + (cell - (uint32_t)w) / 2, oy = y + (cell - (uint32_t)h) / 2;
    for (uint32_t r = 0; r < fit.height; r++)
        for (uint32_t c = 0; c < fit.width; c++) {
            const uint8_t *s = fit.data + (size_t)r * fit.stride + (size_t)c * fit.channels;
            uint8_t *d = sheet->data + (size_t)(oy + r) * sheet->stride + (size_t)(ox + c) * 3;
            const uint8_t rgb[3] = {s[0], fit.channels >= 3 ? s[1] : s[0],
                                    fit.channels >= 3 ? s[2] : s[0]};
            /* Alpha (background = keep) over a checkerboard, as image editors show it, so
             * transparency is visible rather than silently a colour. */
            unsigned a = fit.channels == 4 ? s[3] : fit.channels == 2 ? s[1] : 255;
            unsigned bg = ((r / 8) ^ (c / 8)) & 1 ? 153 : 204;
            for (int k = 0; k < 3; k++) d[k] = (uint8_t)((rgb[k] * a + bg * (255 - a) + 127) / 255);
        }
    sp_image_release(&fit);
    return SP_OK;
}

static const sp_sink_plan *find_sink(const sp_job *run, const char *name)
{
    for (size_t s = 0; s < run->nsinks; s++)
        if (!name || !strcmp(run->pipe->stages[run->sinks[s].stage].name, name))
            return &run->sinks[s];
    return NULL;
}

static int draw_sheet(sp_ctx *ctx, const sp_job *run, const sp_sink_plan *sp,
                      const sp_preview_opts *o, sp_image *sheet)
{
    pick *rows = calloc(o->rows, sizeof(pick));
    if (!rows) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    size_t n = pick_rows(run, sp, o->rows, rows);
    int rc = n ? SP_OK : sp_fail(&ctx->err, SP_E_USAGE, "the sink has no records to show");
    uint32_t row_h = LABEL_H + o->cell + PAD;
    uint64_t W = (uint64_t)PAD + (uint64_t)o->copies * (o->cell + PAD);
    uint64_t H = (uint64_t)LABEL_H + n * row_h + PAD;
    if (rc == SP_OK && (W > 16384 || H > 16384))
        rc = sp_fail(&ctx->err, SP_E_USAGE, "a %llux%llu sheet is too large: fewer rows, copies "
                                            "or a smaller cell",
                     (unsigned long long)W, (unsigned long long)H);
    if (rc == SP_OK && sp_image_alloc(sheet, (uint32_t)W, (uint32_t)H, 3) != SP_OK)
        rc = sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    if (rc == SP_OK) memset(sheet->data, 40, sheet->stride * sheet->height);
    static const uint8_t white[3] = {235, 235, 235}, grey[3] = {150, 150, 150};
    for (uint32_t k = 0; rc == SP_OK && k < o->copies; k++) {
        char head[32];
        snprintf(head, sizeof(head), k ? "copy %u" : "copy 0 (plain)", k);
        sp_draw_text(sheet, PAD + k * (o->cell + PAD), 3, 1, head, grey);
    }
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        uint32_t y = LABEL_H + (uint32_t)i * row_h;
        char label[300];
        snprintf(label, sizeof(label), "%s  %s", run->classes[rows[i].label],
                 sp_run_sample(run, &rows[i].rec)->path);
        sp_draw_text(sheet, PAD, y + 2, 1, label, white);
        for (uint32_t k = 0; rc == SP_OK && k < o->copies; k++) {
            sp_record r = rows[i].rec;
            r.copy = k;
            sp_image img = {0};
            sp_error err;
            sp_error_clear(&err);
            rc = sp_build_pixels(run, &r, &img, &err);
            if (rc == SP_OK)
                rc = place(sheet, &img, PAD + k * (o->cell + PAD), y + LABEL_H, o->cell, &err);
            else if (sp_severity_of(rc) == SP_SEV_SAMPLE)
                rc = SP_OK; /* a bad sample leaves its cell empty; the build reports it */
            sp_image_release(&img);
            if (rc != SP_OK) {
                sp_error_set_path(&err, sp_run_sample(run, &r)->path);
                sp_ctx_error(ctx, &err);
            }
        }
    }
    free(rows);
    return rc;
}

int sp_preview(sp_ctx *ctx, sp_pipeline *pipe, const sp_preview_opts *opts, const char *png)
{
    sp_preview_opts o = opts ? *opts : (sp_preview_opts){0};
    if (!o.rows) o.rows = 8;
    if (!o.copies) o.copies = 6;
    if (!o.cell) o.cell = 128;
    if (o.rows > 256 || o.copies > 64 || o.cell < 16 || o.cell > 1024)
        return sp_fail(&ctx->err, SP_E_USAGE, "preview: rows 1..256, copies 1..64, cell 16..1024");
    sp_job run;
    int rc = sp_job_plan(ctx, pipe, &run);
    const sp_sink_plan *sp = rc == SP_OK ? find_sink(&run, o.sink) : NULL;
    if (rc == SP_OK && !sp) rc = sp_fail(&ctx->err, SP_E_USAGE, "no sink named '%s'", o.sink);
    sp_image sheet = {0};
    if (rc == SP_OK) rc = draw_sheet(ctx, &run, sp, &o, &sheet);
    uint8_t *data = NULL;
    size_t len = 0;
    sp_error err;
    sp_error_clear(&err);
    sp_encode_opts enc;
    sp_encode_defaults(&enc);
    if (rc == SP_OK) rc = sp_format_png.encode(&sheet, &enc, &data, &len, &err);
    if (rc == SP_OK) rc = sp_write_file_atomic(png, data, len, &err);
    if (rc != SP_OK && err.code) sp_ctx_error(ctx, &err);
    free(data);
    sp_image_release(&sheet);
    sp_job_free(&run);
    return rc;
}
