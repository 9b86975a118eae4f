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
