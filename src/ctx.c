/*
 * The run context. Everything a run needs that is not the pipeline hangs off it; there is
 * no global mutable state, so two contexts can run in one process.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void log_stderr(void *user, sp_log_level level, const char *msg)
{
    (void)user;
    static const char *const tags[] = {"error", "warning", "info", "debug"};
    if (level <= SP_LOG_WARN)
        fprintf(stderr, "shardpack: %s: %s\n", tags[level], msg);
    else
        fprintf(stderr, "%s\n", msg);
}

int sp_ctx_new(sp_ctx **out)
{
    sp_ctx *c = calloc(1, sizeof(*c));
    if (!c) return SP_E_NOMEM;
    c->verbosity = SP_LOG_INFO;
    c->log = log_stderr;
    *out = c;
    return SP_OK;
}

void sp_ctx_free(sp_ctx **ctx)
{
    if (!ctx || !*ctx) return;
    for (size_t i = 0; i < (*ctx)->nstages; i++) free((*ctx)->stages[i]);
    free((*ctx)->stages);
    free((*ctx)->formats);
    free(*ctx);
    *ctx = NULL;
}

void sp_ctx_set_threads(sp_ctx *ctx, int threads)
{
    ctx->threads = threads > 0 ? threads : 0;
}

void sp_ctx_set_verbosity(sp_ctx *ctx, sp_log_level max_level)
{
    ctx->verbosity = max_level;
}

void sp_ctx_set_log(sp_ctx *ctx, sp_log_fn fn, void *user)
{
    ctx->log = fn ? fn : log_stderr;
    ctx->log_user = user;
}

void sp_ctx_set_progress(sp_ctx *ctx, sp_progress_fn fn, void *user)
{
    ctx->progress = fn;
    ctx->progress_user = user;
}

int sp_ctx_threads(const sp_ctx *ctx)
{
    if (ctx->threads > 0) return ctx->threads;
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

const sp_error *sp_last_error(const sp_ctx *ctx)
{
    return &ctx->err;
}

const char *sp_errmsg(sp_ctx *ctx)
{
    return sp_error_format(&ctx->err, ctx->errbuf, sizeof(ctx->errbuf));
}

int sp_ctx_error(sp_ctx *ctx, const sp_error *err)
{
    if (err != &ctx->err) ctx->err = *err;
    return err->code;
}

void sp_log(sp_ctx *ctx, sp_log_level level, const char *fmt, ...)
{
    if (level > ctx->verbosity || !ctx->log) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_user, level, msg);
}

int sp_progress(sp_ctx *ctx, sp_phase phase, uint64_t done, uint64_t total)
{
    if (ctx->progress && ctx->progress(ctx->progress_user, phase, done, total))
        return sp_fail(&ctx->err, SP_E_CANCELLED, "cancelled by the progress callback");
    return SP_OK;
}

/* A table is checked once, here, so a bad default fails the registration, not a run. */
static int check_table(sp_ctx *ctx, const char *what, const sp_option *table, size_t opts_size)
{
    void *opts = calloc(1, opts_size ? opts_size : 1);
    if (!opts) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    sp_error e;
    sp_error_clear(&e);
    int rc = SP_OK;
    for (const sp_option *o = table; rc == SP_OK && o && o->name; o++)
        if (o->offset >= opts_size)
            rc = sp_fail(&e, SP_E_USAGE, "%s: option '%s' lies outside the options struct",
                         what, o->name);
    if (rc == SP_OK && sp_options_defaults(table, opts, &e) != SP_OK)
        rc = sp_fail(&e, SP_E_USAGE, "%s: bad default: %s", what, e.msg);
    sp_options_free(table, opts);
    free(opts);
    return rc == SP_OK ? rc : sp_ctx_error(ctx, &e);
}

static bool valid_stage_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return false;
    return true;
}

int sp_ctx_register_stage(sp_ctx *ctx, const sp_pixel_stage *stage)
{
    sp_error_clear(&ctx->err);
    if (!stage || !stage->process || !valid_stage_name(stage->name))
        return sp_fail(&ctx->err, SP_E_USAGE,
                       "a pixel stage needs a process function and a name of a-z, 0-9 and '_'");
    if (sp_ctx_stage_by_name(ctx, stage->name) || !strcmp(stage->name, "run"))
        return sp_fail(&ctx->err, SP_E_USAGE, "a stage named '%s' exists already", stage->name);
    if (stage->flags & ~SP_PIXEL_RANDOM)
        return sp_fail(&ctx->err, SP_E_USAGE, "stage '%s': unknown flags", stage->name);
    int rc = check_table(ctx, stage->name, stage->options, stage->opts_size);
    if (rc != SP_OK) return rc;
    /* One allocation per stage: pipelines point at them, so they never move. */
    sp_stage_desc **v = realloc(ctx->stages, (ctx->nstages + 1) * sizeof(*v));
    if (!v) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    ctx->stages = v;
    sp_stage_desc *d = calloc(1, sizeof(*d));
    if (!d) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    v[ctx->nstages++] = d;
    d->name = stage->name;
    d->help = stage->help ? stage->help : "";
    d->kind = SP_STAGE_PIXEL;
    d->flags = stage->flags;
    d->opts_size = stage->opts_size;
    d->options = stage->options;
    d->process = stage->process;
    d->out_size = stage->out_size;
    return SP_OK;
}

int sp_ctx_register_format(sp_ctx *ctx, const sp_format *format)
{
    sp_error_clear(&ctx->err);
    if (!format || !format->name || !format->probe || !format->header || !format->decode)
        return sp_fail(&ctx->err, SP_E_USAGE, "a format needs a name, probe, header and decode");
    if (sp_ctx_format_by_name(ctx, format->name))
        return sp_fail(&ctx->err, SP_E_USAGE, "a format named '%s' exists already", format->name);
    const sp_format **v = realloc(ctx->formats, (ctx->nformats + 1) * sizeof(*v));
    if (!v) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    ctx->formats = v;
    v[ctx->nformats++] = format;
    return SP_OK;
}
