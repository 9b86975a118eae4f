/*
 * The shardpack CLI: a thin layer over libshardpack. It parses arguments, draws progress
 * and maps results to exit codes (0 ok, 1 failed, 2 usage or config error); all the work
 * and all the help text about stages come from the library.
 */
#include "shardpack/shardpack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char usage[] =
    "usage: shardpack COMMAND [CONFIG] [options]\n"
    "\n"
    "commands:\n"
    "  build [CONFIG]   scan, plan, build and finish: write shards and manifest.json\n"
    "  scan [CONFIG]    scan the sources only (fills the catalog cache)\n"
    "  plan [CONFIG]    scan and plan only (writes OUTDIR/plan.tsv)\n"
    "  stages           list every stage and its options (--markdown for docs)\n"
    "\n"
    "CONFIG defaults to ./pipeline.ini.\n"
    "\n"
    "options:\n"
    "  -o, --output DIR          output folder (default: [run] output)\n"
    "  -j, --threads N           worker threads (default: all cores)\n"
    "  --set SECTION.KEY=VALUE   override a config value (repeatable)\n"
    "  -q, --quiet               print errors only\n"
    "  -v, --verbose             print more detail\n"
    "  -h, --help                show this help\n"
    "  --version                 show the version\n"
    "\n"
    "exit codes: 0 ok, 1 failed, 2 usage or configuration error\n";

typedef struct progress {
    int tty;
    int quiet;
    struct timespec start, last;
    int phase;
} progress;

static double seconds(struct timespec a, struct timespec b)
{
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static int on_progress(void *user, sp_phase phase, uint64_t done, uint64_t total)
{
    static const char *const names[] = {"scan", "plan", "build", "finish"};
    progress *p = user;
    if (p->quiet) return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((int)phase != p->phase) {
        p->phase = (int)phase;
        p->start = now;
        p->last.tv_sec = 0;
    }
    double el = seconds(p->start, now);
    /* Too early for a meaningful rate until 0.2 s in, unless the phase is already done. */
    double rate = el > 0.2 || (done >= total && el > 0) ? (double)done / el : 0.0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
    int finished = done >= total;
    if (p->tty) {
        int width = 30, fill = total ? (int)((double)done / (double)total * width) : width;
        fprintf(stderr, "\r%-5s [%.*s%*s] %3d%% %llu/%llu %.0f/s ETA %d:%02d ", names[phase],
                fill, "##############################", width - fill, "",
                total ? (int)(100.0 * (double)done / (double)total) : 100,
                (unsigned long long)done, (unsigned long long)total, rate, (int)eta / 60,
                (int)eta % 60);
        if (finished) fputc('\n', stderr);
    } else if (done == 0) {
        p->last = now; /* a phase starting: nothing to report yet */
    } else if (finished || seconds(p->last, now) >= 5.0) {
        /* Logs get a line every few seconds, not a carriage-return storm. */
        if (finished)
            fprintf(stderr, "%s: %llu/%llu done in %.1fs\n", names[phase],
                    (unsigned long long)done, (unsigned long long)total, el);
        else if (rate > 0)
            fprintf(stderr, "%s: %llu/%llu (%.0f/s, ETA %ds)\n", names[phase],
                    (unsigned long long)done, (unsigned long long)total, rate, (int)eta);
        else
            fprintf(stderr, "%s: %llu/%llu\n", names[phase], (unsigned long long)done,
                    (unsigned long long)total);
        p->last = now;
    }
    return 0;
}

static int exit_code(int rc)
{
    if (rc == SP_OK) return 0;
    return rc == SP_E_CONFIG || rc == SP_E_USAGE ? EXIT_USAGE : EXIT_FAILED;
}

static int usage_error(const char **sets, const char *fmt, const char *arg)
{
    free((void *)sets);
    fprintf(stderr, "shardpack: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'shardpack --help'.\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("shardpack %s\n", SP_VERSION_STRING);
        return 0;
    }
    if (!strcmp(cmd, "stages")) {
        int md = argc > 2 && !strcmp(argv[2], "--markdown");
        if (argc > 2 + md) return usage_error(NULL, "stages: unexpected argument '%s'", argv[2 + md]);
        sp_print_stages(stdout, md ? SP_HELP_MARKDOWN : SP_HELP_TEXT);
        return 0;
    }
    int (*phase)(sp_ctx *, sp_pipeline *, sp_summary *) = NULL;
    if (!strcmp(cmd, "build")) phase = sp_run;
    else if (!strcmp(cmd, "scan")) phase = sp_run_scan;
    else if (!strcmp(cmd, "plan")) phase = sp_run_plan;
    else return usage_error(NULL, "unknown command '%s'", cmd);

    const char *config = NULL, *outdir = NULL;
    const char **sets = calloc((size_t)argc, sizeof(char *));
    size_t nsets = 0;
    int threads = 0, quiet = 0, verbose = 0;
    if (!sets) return EXIT_FAILED;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!val) return usage_error(sets, "%s needs a folder", a);
            outdir = val;
            i++;
        } else if (!strcmp(a, "-j") || !strcmp(a, "--threads")) {
            char *end;
            long n = val ? strtol(val, &end, 10) : 0;
            if (!val || *end || n < 1 || n > 4096)
                return usage_error(sets, "%s needs a thread count from 1 to 4096", a);
            threads = (int)n;
            i++;
        } else if (!strncmp(a, "-j", 2) && a[2]) {
            char *end;
            long n = strtol(a + 2, &end, 10);
            if (*end || n < 1 || n > 4096) return usage_error(sets, "bad thread count in '%s'", a);
            threads = (int)n;
        } else if (!strcmp(a, "--set")) {
            if (!val) return usage_error(sets, "%s needs SECTION.KEY=VALUE", a);
            sets[nsets++] = val;
            i++;
        } else if (!strncmp(a, "--set=", 6)) {
            sets[nsets++] = a + 6;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            free((void *)sets);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            return usage_error(sets, "unknown option '%s'", a);
        } else if (!config) {
            config = a;
        } else {
            return usage_error(sets, "unexpected argument '%s'", a);
        }
    }
    if (!config) config = "pipeline.ini";

    sp_ctx *ctx;
    if (sp_ctx_new(&ctx) != SP_OK) return EXIT_FAILED;
    sp_ctx_set_threads(ctx, threads);
    sp_ctx_set_verbosity(ctx, quiet ? SP_LOG_ERROR : verbose ? SP_LOG_DEBUG : SP_LOG_INFO);
    progress prog = {.tty = isatty(2), .quiet = quiet, .phase = -1};
    sp_ctx_set_progress(ctx, on_progress, &prog);

    /* Loading logs every configuration error itself, each with its line. */
    sp_pipeline *pipe = NULL;
    int rc = sp_pipeline_load_file(ctx, config, sets, nsets, &pipe);
    if (rc == SP_OK && outdir) rc = sp_pipeline_set_output(pipe, outdir);
    if (rc == SP_OK) {
        rc = phase(ctx, pipe, NULL);
        if (rc != SP_OK) fprintf(stderr, "shardpack: error: %s\n", sp_errmsg(ctx));
    }
    sp_pipeline_free(&pipe);
    sp_ctx_free(&ctx);
    free((void *)sets);
    return exit_code(rc);
}
