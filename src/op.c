/*
 * Pixel stages called directly (shardpack/stage.h): the same stage code and the same
 * option tables as in a pipeline, on one image at a time. A typed options struct is
 * checked by writing each field out as text and reading it back through the table, so
 * the struct path accepts exactly what a config line would.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct sp_op {
    sp_ctx *ctx;
    const sp_stage_desc *desc;
    void *opts;
    sp_stage stage; /* name, p and apply, as a pipeline's stage instance has them */
    sp_buf params;  /* what the last apply drew, as a JSON object */
    sp_scratch scratch; /* reused by every apply (an op is used by one thread at a time) */
};

static int op_alloc(sp_ctx *ctx, const char *type, sp_op **out)
{
    *out = NULL;
    sp_error_clear(&ctx->err);
    const sp_stage_desc *d = type ? sp_ctx_stage_by_name(ctx, type) : NULL;
    if (!d) return sp_fail(&ctx->err, SP_E_USAGE, "no stage named '%s'", type ? type : "");
    if (d->kind != SP_STAGE_PIXEL)
        return sp_fail(&ctx->err, SP_E_USAGE, "'%s' is a %s stage, not a pixel stage", type,
                       d->kind == SP_STAGE_SINK ? "sink" : "record");
    if (d->link)
        return sp_fail(&ctx->err, SP_E_USAGE, "'%s' groups other sections of a pipeline; call "
                                              "its members, or use it in a pipeline",
                       type);
    sp_op *op = calloc(1, sizeof(*op));
    if (!op) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    op->ctx = ctx;
    op->desc = d;
    op->opts = calloc(1, d->opts_size ? d->opts_size : 1);
    op->stage.name = sp_strdup(d->name);
    op->stage.desc = d;
    op->stage.p = 1.0;
    op->stage.apply = SP_APPLY_ALL; /* a direct call means: do it */
    sp_error e;
    sp_error_clear(&e);
    if (!op->opts || !op->stage.name) {
        sp_op_free(&op);
        return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    }
    if (sp_options_defaults(d->options, op->opts, &e) != SP_OK) {
        sp_op_free(&op);
        return sp_ctx_error(ctx, &e);
    }
    *out = op;
    return SP_OK;
}

int sp_op_new(sp_ctx *ctx, const char *type, const char *const *options, size_t n, sp_op **out)
{
    sp_op *op;
    int rc = op_alloc(ctx, type, &op);
    if (rc != SP_OK) return rc;
    sp_error e;
    sp_error_clear(&e);
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        const char *eq = strchr(options[i], '=');
        char *key = eq ? sp_strndup(options[i], (size_t)(eq - options[i])) : NULL;
        if (!eq) {
            rc = sp_fail(&e, SP_E_CONFIG, "'%s' is not key=value", options[i]);
        } else if (!key) {
            rc = sp_fail(&e, SP_E_NOMEM, "out of memory");
        } else {
            const sp_option *o = sp_option_find(op->desc->options, key);
            void *dst = op->opts;
            if (!o && (op->desc->flags & SP_PIXEL_RANDOM) &&
                (o = sp_option_find(sp_random_options, key)))
                dst = &op->stage;
            rc = o ? sp_option_parse(o, dst, eq + 1, &e)
                   : sp_fail(&e, SP_E_CONFIG, "%s has no option '%s' (see shardpack stages)",
                             op->desc->name, key);
        }
        free(key);
    }
    if (rc == SP_OK) rc = sp_options_check_ranges(op->desc->options, op->opts, &e);
    if (rc != SP_OK) {
        sp_op_free(&op);
        return sp_ctx_error(ctx, &e);
    }
    *out = op;
    return SP_OK;
}

/* Field by field through the text form: out-of-range numbers, unknown enum values and
 * stray flag bits fail exactly as they would in a config. */
static int copy_checked(const sp_option *table, void *dst, const void *src, sp_error *err)
{
    int rc = SP_OK;
    for (const sp_option *o = table; rc == SP_OK && o->name; o++) {
        sp_buf text = {0};
        sp_option_format(o, src, &text);
        if (text.oom) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        if (rc == SP_OK) rc = sp_option_parse(o, dst, text.data ? text.data : "", err);
        if (rc == SP_OK && o->type == SP_OPT_FLAGS &&
            *(const unsigned *)((const char *)src + o->offset) !=
                *(const unsigned *)((const char *)dst + o->offset))
            rc = sp_fail(err, SP_E_CONFIG, "%s holds bits that name no choice", o->name);
        sp_buf_free(&text);
    }
    return rc;
}

int sp_op_new_struct(sp_ctx *ctx, const char *type, const void *opts, size_t opts_size,
                     sp_op **out)
{
    sp_op *op;
    int rc = op_alloc(ctx, type, &op);
    if (rc != SP_OK) return rc;
    if (!opts || opts_size != op->desc->opts_size) {
        size_t want = op->desc->opts_size;
        sp_op_free(&op);
        return sp_fail(&ctx->err, SP_E_USAGE, "%s takes a %zu-byte options struct, not %zu",
                       type, want, opts_size);
    }
    sp_error e;
    sp_error_clear(&e);
    rc = copy_checked(op->desc->options, op->opts, opts, &e);
    if (rc == SP_OK) rc = sp_options_check_ranges(op->desc->options, op->opts, &e);
    if (rc != SP_OK) {
        sp_op_free(&op);
        return sp_ctx_error(ctx, &e);
    }
    *out = op;
    return SP_OK;
}

int sp_op_set_probability(sp_op *op, double p)
{
    if (!op || !(p >= 0.0 && p <= 1.0)) return SP_E_USAGE;
    op->stage.p = p;
    return SP_OK;
}

int sp_op_apply(sp_op *op, sp_image *img, uint64_t seed, const char *key, uint32_t copy)
{
    if (!op || !img || !img->data || !key) return SP_E_USAGE;
    sp_error e;
    sp_error_clear(&e);
    op->params.len = 0;
    sp_buf_puts(&op->params, "{");
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, seed, op->stage.name, key, copy, &op->params);
    pc.scratch = &op->scratch;
    int rc = SP_OK;
    if (sp_pixel_applies(op->desc, op->stage.p, op->stage.apply, &pc))
        rc = op->desc->process(op->opts, img, &pc, &e);
    sp_buf_puts(&op->params, "}");
    if (rc == SP_OK && op->params.oom) rc = sp_fail(&e, SP_E_NOMEM, "out of memory");
    return rc == SP_OK ? rc : sp_ctx_error(op->ctx, &e);
}

const char *sp_op_params(const sp_op *op)
{
    return op && op->params.data ? op->params.data : "{}";
}

void sp_op_free(sp_op **op)
{
    if (!op || !*op) return;
    sp_op *o = *op;
    if (o->opts) sp_options_free(o->desc->options, o->opts);
    free(o->opts);
    free(o->stage.name);
    sp_buf_free(&o->params);
    sp_scratch_free(&o->scratch);
    free(o);
    *op = NULL;
}

int sp_op_defaults(const char *type, void *opts, size_t opts_size)
{
    const sp_stage_desc *d = type ? sp_stage_desc_by_name(type) : NULL;
    if (!d || d->kind != SP_STAGE_PIXEL || !opts || opts_size != d->opts_size) return SP_E_USAGE;
    memset(opts, 0, opts_size);
    return sp_options_defaults(d->options, opts, NULL);
}

void sp_op_defaults_free(const char *type, void *opts)
{
    const sp_stage_desc *d = type ? sp_stage_desc_by_name(type) : NULL;
    if (d && opts) sp_options_free(d->options, opts);
}
