/*
 * The shardpack CLI: a thin layer over libshardpack. It parses arguments, draws progress
 * and maps results to exit codes (0 ok, 1 failed, 2 usage or config error); all the work
 * and all the help text about stages come from the library.
 */
#include "cli_mpi.h"
#include "shardpack/reader.h"
#include "shardpack/shardpack.h"

#include <dirent.h>
#include <sys/stat.h>

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
    "  plan [CONFIG] [--dry-run]  scan and plan only (writes OUTDIR/plan.tsv); with\n"
    "                   --dry-run writes nothing and prints the balance report\n"
    "  finish OUT       merge the partial manifests of a build made in parts (--part,\n"
    "                   --shard) into manifest.json and the sink indexes\n"
    "  preview [CONFIG] -o FILE.png [--rows N] [--copies N] [--cell PX] [--sink NAME]\n"
    "                   a contact sheet: a row per sample, a column per augmented copy\n"
    "  check [CONFIG] [--dot]  validate the config and print the stage graph (Graphviz\n"
    "                   with --dot); reads no data\n"
    "  inspect [CONFIG|DATASET]  a dataset doctor: classes and imbalance, formats, sizes,\n"
    "                   corrupt files, exact and near duplicates, predicted shards;\n"
    "                   writes nothing (DATASET: a folder or file, read by [source])\n"
    "  stages           list every stage and its options (--markdown for docs)\n"
    "  verify OUT       check an output against its manifest (checksums, records, indexes)\n"
    "  ls OUT|SHARD     list the records of an output or of one shard\n"
    "  cat SHARD KEY    write one record's image to stdout (or -o FILE)\n"
    "  replay SHARD KEY make one record again from its source (to stdout or -o FILE);\n"
    "                   the bytes equal what the shard stores\n"
    "  readbench OUT [--decode]  read the output as an epoch would; compare with loose files\n"
    "\n"
    "CONFIG defaults to ./pipeline.ini.\n"
    "\n"
    "options:\n"
    "  -o, --output DIR          output folder (default: [run] output)\n"
    "  -j, --threads N           worker threads (default: all cores)\n"
    "  --set SECTION.KEY=VALUE   override a config value (repeatable)\n"
    "  --from-manifest FILE      build, scan, plan or check with the config stored in a\n"
    "                            manifest.json (output: its folder unless -o)\n"
    "  --part I/N                build: only part I of N (0 <= I < N) of the shards, and a\n"
    "                            partial manifest; `finish OUT` merges the parts\n"
    "  --shard NAME              build: only this shard (repeatable), as --list-shards names it\n"
    "  --depfile FILE            plan: write make dependencies of every shard and the manifest\n"
    "  --list-shards             plan: print every shard's name, one a line\n"
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

static int print_records(sp_ctx *ctx, const char *path)
{
    sp_reader *r;
    int rc = sp_reader_open(ctx, path, &r);
    if (rc != SP_OK) return rc;
    sp_record_view rec;
    int k;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    while ((k = sp_reader_next(r, &rec)) == 1)
        printf("%s\t%s\t%lld\t%s\t%llu\t%llu\n", name, rec.key, (long long)rec.label,
               rec.format ? rec.format : "-", (unsigned long long)rec.image_len,
               (unsigned long long)rec.offset);
    sp_reader_free(&r);
    return k < 0 ? k : SP_OK;
}

/* ls: a shard, or every shard file of an output folder in name order. */
static int cmd_ls(sp_ctx *ctx, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "shardpack: error: %s: no such file or folder\n", path);
        return SP_E_USAGE;
    }
    printf("shard\tkey\tlabel\tformat\tbytes\toffset\n");
    if (!S_ISDIR(st.st_mode)) return print_records(ctx, path);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "shardpack: error: %s: cannot list the folder\n", path);
        return SP_E_IO;
    }
    int rc = SP_OK;
    for (int i = 0; i < n; i++) {
        const char *e = names[i]->d_name;
        size_t l = strlen(e);
        bool shard = e[0] != '.' && ((l > 4 && !strcmp(e + l - 4, ".tar")) ||
                                     (l > 11 && !strcmp(e + l - 11, ".images.npy")) ||
                                     (strstr(e, "-of-") && !strchr(e, '.')));
        if (shard && rc == SP_OK) {
            char full[4096];
            snprintf(full, sizeof(full), "%s/%s", path, e);
            rc = print_records(ctx, full);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int cmd_cat(sp_ctx *ctx, const char *shard, const char *key, const char *outfile)
{
    sp_reader *r;
    int rc = sp_reader_open(ctx, shard, &r);
    if (rc != SP_OK) return rc;
    sp_record_view rec;
    int k = sp_reader_find(r, key, &rec);
    if (k == 0) {
        fprintf(stderr, "shardpack: error: %s: no record with key %s\n", shard, key);
        rc = SP_E_USAGE;
    } else if (k < 0) {
        rc = k;
    } else {
        FILE *f = outfile ? fopen(outfile, "wb") : stdout;
        if (!f || fwrite(rec.image, 1, (size_t)rec.image_len, f) != rec.image_len) {
            fprintf(stderr, "shardpack: error: cannot write %s\n", outfile ? outfile : "stdout");
            rc = SP_E_IO;
        }
        if (f && f != stdout && fclose(f) != 0) rc = SP_E_IO;
    }
    sp_reader_free(&r);
    return rc;
}

static int cmd_replay(sp_ctx *ctx, const char *shard, const char *key, const char *outfile)
{
    uint8_t *data;
    size_t len;
    int rc = sp_replay(ctx, shard, key, &data, &len);
    if (rc != SP_OK) return rc;
    FILE *f = outfile ? fopen(outfile, "wb") : stdout;
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "shardpack: error: cannot write %s\n", outfile ? outfile : "stdout");
        rc = SP_E_IO;
    }
    if (f && f != stdout && fclose(f) != 0) rc = SP_E_IO;
    free(data);
    return rc;
}

static void bench_row(const char *what, const sp_bench_row *b)
{
    double s = b->seconds > 0 ? b->seconds : 1e-9;
    printf("| %-24s | %7llu | %9llu | %9.1f | %10.0f | %8.1f |\n", what,
           (unsigned long long)b->files, (unsigned long long)b->records, (double)b->bytes / 1048576.0,
           (double)b->records / s, (double)b->bytes / 1048576.0 / s);
}

static int cmd_readbench(sp_ctx *ctx, const char *outdir, bool decode)
{
    sp_bench_row shards, loose;
    int rc = sp_readbench(ctx, outdir, decode, &shards, &loose);
    if (rc != SP_OK) return rc;
    printf("%s, %s\n\n", outdir, decode ? "reading and decoding every image" : "reading every byte");
    printf("| %-24s | %7s | %9s | %9s | %10s | %8s |\n", "input", "files", "records", "MB",
           "records/s", "MB/s");
    printf("|--------------------------|---------|-----------|-----------|------------|----------|\n");
    bench_row("shards", &shards);
    bench_row("loose files (the source)", &loose);
    if (loose.seconds > 0 && shards.seconds > 0)
        printf("\nshards: %.2fx the records/s of loose files\n",
               ((double)shards.records / shards.seconds) / ((double)loose.records / loose.seconds));
    return SP_OK;
}

/* verify, ls, cat, readbench: commands on a finished output. */
static int output_command(int argc, char **argv)
{
    const char *cmd = argv[1];
    const char *args[2] = {NULL, NULL}, *outfile = NULL;
    int nargs = 0, quiet = 0;
    bool decode = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--decode") && !strcmp(cmd, "readbench")) decode = true;
        else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) quiet = 1;
        else if (!strcmp(argv[i], "-o") && (!strcmp(cmd, "cat") || !strcmp(cmd, "replay")) &&
                 i + 1 < argc)
            outfile = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1]) return usage_error(NULL, "unknown option '%s'", argv[i]);
        else if (nargs < 2) args[nargs++] = argv[i];
        else return usage_error(NULL, "unexpected argument '%s'", argv[i]);
    }
    int want = !strcmp(cmd, "cat") || !strcmp(cmd, "replay") ? 2 : 1;
    if (nargs != want)
        return usage_error(NULL, "%s: wrong number of arguments", cmd);
    sp_ctx *ctx;
    if (sp_ctx_new(&ctx) != SP_OK) return EXIT_FAILED;
    sp_ctx_set_verbosity(ctx, quiet ? SP_LOG_ERROR : SP_LOG_INFO);
    int rc;
    if (!strcmp(cmd, "verify")) rc = sp_verify(ctx, args[0]);
    else if (!strcmp(cmd, "ls")) rc = cmd_ls(ctx, args[0]);
    else if (!strcmp(cmd, "cat")) rc = cmd_cat(ctx, args[0], args[1], outfile);
    else if (!strcmp(cmd, "replay")) rc = cmd_replay(ctx, args[0], args[1], outfile);
    else if (!strcmp(cmd, "finish")) rc = sp_run_finish(ctx, args[0], NULL);
    else rc = cmd_readbench(ctx, args[0], decode);
    if (rc != SP_OK && rc != SP_E_USAGE) fprintf(stderr, "shardpack: error: %s\n", sp_errmsg(ctx));
    sp_ctx_free(&ctx);
    /* A damaged output is a failed check (1), not a usage error. */
    return rc == SP_OK ? 0 : rc == SP_E_USAGE ? EXIT_USAGE : EXIT_FAILED;
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
    if (!strcmp(cmd, "verify") || !strcmp(cmd, "ls") || !strcmp(cmd, "cat") ||
        !strcmp(cmd, "replay") || !strcmp(cmd, "readbench") || !strcmp(cmd, "finish"))
        return output_command(argc, argv);
    int (*phase)(sp_ctx *, sp_pipeline *, sp_summary *) = NULL;
    bool check = !strcmp(cmd, "check"), preview = !strcmp(cmd, "preview");
    bool inspect = !strcmp(cmd, "inspect");
    sp_preview_opts popts = {0};
    /* Under mpirun, every rank runs this; a build splits its shards across them. */
    int mpi_ranks = !strcmp(cmd, "build") ? sp_cli_mpi_init(&argc, &argv) : 1;
    if (!strcmp(cmd, "build")) phase = sp_run;
    else if (!strcmp(cmd, "scan")) phase = sp_run_scan;
    else if (!strcmp(cmd, "plan")) phase = sp_run_plan;
    else if (!check && !preview && !inspect) return usage_error(NULL, "unknown command '%s'", cmd);

    const char *config = NULL, *outdir = NULL, *manifest = NULL, *depfile = NULL;
    bool dot = false, list_shards = false;
    sp_build_opts parts = {0};
    /* --set values, then --shard names: one allocation, freed with the first. */
    const char **sets = calloc((size_t)argc * 2, sizeof(char *));
    const char **shards = sets ? sets + argc : NULL;
    size_t nsets = 0;
    int threads = 0, quiet = 0, verbose = 0;
    if (!sets) return EXIT_FAILED;
    parts.shards = shards;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!val || !val[0]) return usage_error(sets, "%s needs a folder", a);
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
        } else if (!strcmp(a, "--from-manifest")) {
            if (!val) return usage_error(sets, "%s needs a manifest.json", a);
            manifest = val;
            i++;
        } else if (!strcmp(a, "--dot") && check) {
            dot = true;
        } else if (!strcmp(a, "--dry-run") && phase == sp_run_plan) {
            phase = sp_run_plan_dry;
        } else if (!strcmp(a, "--part") && phase == sp_run) {
            unsigned pi, pn;
            int used = 0;
            if (!val || sscanf(val, "%u/%u%n", &pi, &pn, &used) != 2 || val[used] || pn == 0 ||
                pi >= pn || pn > 1000000)
                return usage_error(sets, "--part needs I/N with 0 <= I < N, e.g. 0/4 (got '%s')",
                                   val ? val : "");
            parts.part = pi;
            parts.nparts = pn;
            i++;
        } else if (!strcmp(a, "--shard") && phase == sp_run) {
            if (!val || !val[0])
                return usage_error(sets, "%s needs a shard name (see plan --list-shards)", a);
            shards[parts.nshards++] = val;
            i++;
        } else if (!strcmp(a, "--depfile") && phase == sp_run_plan) {
            if (!val || !val[0]) return usage_error(sets, "%s needs a file name", a);
            depfile = val;
            i++;
        } else if (!strcmp(a, "--list-shards") && phase == sp_run_plan) {
            list_shards = true;
        } else if (preview && (!strcmp(a, "--rows") || !strcmp(a, "--copies") ||
                               !strcmp(a, "--cell"))) {
            char *end;
            long v = val ? strtol(val, &end, 10) : 0;
            if (!val || *end || v < 1 || v > 1024)
                return usage_error(sets, "%s needs a number from 1 to 1024", a);
            *(!strcmp(a, "--rows") ? &popts.rows : !strcmp(a, "--copies") ? &popts.copies
                                                                           : &popts.cell) =
                (uint32_t)v;
            i++;
        } else if (preview && !strcmp(a, "--sink")) {
            if (!val) return usage_error(sets, "%s needs a sink section name", a);
            popts.sink = val;
            i++;
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
    if (manifest && config)
        return usage_error(sets, "give a CONFIG or --from-manifest, not both (%s)", config);
    if (parts.nparts && parts.nshards)
        return usage_error(sets, "give --part or --shard, not both (%s)", "--part");
    /* Under mpirun the ranks are the parts: each running the same --part would write the
     * same shards at once. */
    if (mpi_ranks > 1 && (parts.nparts || parts.nshards)) {
        sp_cli_mpi_finalize();
        return usage_error(sets, "under mpirun the ranks are the parts: drop %s",
                           parts.nparts ? "--part" : "--shard");
    }
    if (!config) config = "pipeline.ini";
    /* preview's -o is the sheet it writes; the output folder stays [run] output. */
    const char *sheet = preview ? outdir : NULL;
    if (preview) outdir = NULL;
    if (preview && !sheet) return usage_error(sets, "%s needs -o FILE.png", cmd);

    sp_ctx *ctx;
    if (sp_ctx_new(&ctx) != SP_OK) return EXIT_FAILED;
    sp_ctx_set_threads(ctx, threads);
    sp_ctx_set_verbosity(ctx, quiet ? SP_LOG_ERROR : verbose ? SP_LOG_DEBUG : SP_LOG_INFO);
    progress prog = {.tty = isatty(2), .quiet = quiet, .phase = -1};
    sp_ctx_set_progress(ctx, on_progress, &prog);

    /* Loading logs every configuration error itself, each with its line. */
    sp_pipeline *pipe = NULL;
    int rc;
    struct stat cst;
    size_t clen = strlen(config);
    if (inspect && !manifest && stat(config, &cst) == 0 &&
        (S_ISDIR(cst.st_mode) || clen < 4 || strcmp(config + clen - 4, ".ini") != 0)) {
        /* A dataset rather than a config: the default source reads it, one tar sink. */
        char *text = malloc(clen + 64);
        if (!text) return EXIT_FAILED;
        snprintf(text, clen + 64, "[source]\npath = %s\n[shards]\ntype = tar\n", config);
        rc = sp_pipeline_load_string(ctx, text, config, sets, nsets, &pipe);
        free(text);
    } else {
        rc = manifest ? sp_pipeline_load_manifest(ctx, manifest, sets, nsets, &pipe)
                      : sp_pipeline_load_file(ctx, config, sets, nsets, &pipe);
    }
    if (rc == SP_OK && outdir) rc = sp_pipeline_set_output(pipe, outdir);
    if (rc == SP_OK && check) {
        rc = sp_pipeline_print(pipe, stdout, dot ? SP_GRAPH_DOT : SP_GRAPH_TEXT);
    } else if (rc == SP_OK && inspect) {
        rc = sp_inspect(ctx, pipe, stdout);
        if (rc != SP_OK) fprintf(stderr, "shardpack: error: %s\n", sp_errmsg(ctx));
    } else if (rc == SP_OK && preview) {
        rc = sp_preview(ctx, pipe, &popts, sheet);
        if (rc != SP_OK) fprintf(stderr, "shardpack: error: %s\n", sp_errmsg(ctx));
        else if (!quiet) fprintf(stderr, "shardpack: wrote %s\n", sheet);
    } else if (rc == SP_OK && phase == sp_run && mpi_ranks > 1 && !parts.nparts &&
               !parts.nshards) {
        rc = sp_cli_mpi_build(ctx, pipe, threads); /* says what failed, rank by rank */
    } else if (rc == SP_OK) {
        if (phase == sp_run && (parts.nparts || parts.nshards))
            rc = sp_run_build(ctx, pipe, &parts, NULL);
        else if (phase == sp_run_plan && (depfile || list_shards))
            rc = sp_run_plan_files(ctx, pipe, depfile, list_shards ? stdout : NULL, NULL);
        else
            rc = phase(ctx, pipe, NULL);
        if (rc != SP_OK) fprintf(stderr, "shardpack: error: %s\n", sp_errmsg(ctx));
    }
    sp_pipeline_free(&pipe);
    sp_ctx_free(&ctx);
    free((void *)sets);
    sp_cli_mpi_finalize();
    return exit_code(rc);
}
