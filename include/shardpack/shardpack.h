/*
 * shardpack — turn a raw labeled image dataset into clean, shuffled, packed shards.
 *
 * The public API is a handful of verbs on two opaque handles:
 *
 *   sp_ctx       the run context: threads, verbosity, callbacks, the last error.
 *   sp_pipeline  a parsed and validated pipeline.ini (the stage graph).
 *
 * A run has four phases (see docs/design.md): scan → plan → build → finish. sp_run() does
 * all four; the phase functions exist so the CLI (and embedders) can run them alone.
 *
 * Ownership: every object returned through a `T **out` parameter is owned by the caller
 * and released with the matching `_free(T **)`, which NULLs the pointer. Strings returned
 * as `const char *` are borrowed from the handle and valid until the next call on it.
 *
 * Errors: functions return an sp_status (0 = SP_OK, negative = error). The context keeps
 * the last error with its location; sp_errmsg(ctx) formats it.
 */
#ifndef SHARDPACK_H
#define SHARDPACK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SP_VERSION_STRING "0.1.0"
#define SP_VERSION_MAJOR 0
#define SP_VERSION_MINOR 1
#define SP_VERSION_PATCH 0

/* Result codes. Sample-level codes (SP_E_FORMAT, SP_E_CORRUPT, SP_E_LIMIT, SP_E_MAX_*)
 * reject one sample and let a run go on; the others fail the operation. sp_severity() tells
 * which. */
typedef enum sp_status {
    SP_OK = 0,
    SP_E_NOMEM = -1,     /* out of memory */
    SP_E_IO = -2,        /* a read, write, fsync or rename failed */
    SP_E_CONFIG = -3,    /* invalid pipeline configuration */
    SP_E_USAGE = -4,     /* invalid argument to an API call or the CLI */
    SP_E_FORMAT = -5,    /* not a recognised image format */
    SP_E_CORRUPT = -6,   /* recognised but undecodable (truncated, bad data) */
    SP_E_LIMIT = -7,     /* a limit for untrusted input was hit */
    SP_E_CHANGED = -8,   /* a source changed between scan and build */
    SP_E_CANCELLED = -9, /* a callback asked to stop */
    SP_E_INTERNAL = -10, /* a bug: please report it */
    SP_E_NOLABEL = -11,  /* a sample with no class */
    /* Dropped by a clean stage (not errors: on_error = fail does not stop on them). */
    SP_E_DUPLICATE = -20,      /* the same bytes as an earlier sample */
    SP_E_NEAR_DUPLICATE = -21, /* a perceptual near-copy of an earlier sample */
    SP_E_TOO_SMALL = -22,      /* under the clean stage's min_width / min_height */
    SP_E_TOO_LARGE = -23,      /* over its max_width / max_height */
    SP_E_ASPECT = -24,         /* over its max_aspect */
    SP_E_UNDERSAMPLED = -25,   /* cut by a balance stage's undersampling, written by no sink */
    SP_E_UNSAFE = -12,   /* an archive member or manifest path that escapes its root, or a
                          * link or device in an archive (never followed) */
    SP_E_BADROW = -13,   /* a manifest row that cannot be read (missing field, bad quote,
                          * unknown label) */
    /* A [run] limit for untrusted input was hit: one code per option, named after it, so
     * the reason says which setting to raise. SP_E_LIMIT stays for bounds no option sets
     * (memory, a codec's own maximum, arithmetic overflow). */
    SP_E_MAX_PIXELS = -30,         /* width x height over max_pixels */
    SP_E_MAX_DIMENSION = -31,      /* width or height over max_dimension */
    SP_E_MAX_FILE_BYTES = -32,     /* a file, archive member or IDX data over max_file_bytes */
    SP_E_MAX_SCANS = -33,          /* a progressive JPEG with more scans than max_scans */
    SP_E_MAX_MEMBERS = -34,        /* an archive with more entries than max_members */
    SP_E_MAX_NESTING = -35,        /* archives nested deeper than max_nesting */
    SP_E_MAX_LINE_BYTES = -36,     /* a CSV/TSV row longer than max_line_bytes */
    SP_E_MAX_RATIO = -37,          /* an archive unpacking past max_ratio (a zip bomb) */
    SP_E_MAX_UNPACKED_BYTES = -38, /* archive members in memory over max_unpacked_bytes */
} sp_status;

typedef enum sp_severity {
    SP_SEV_OK = 0,
    SP_SEV_SAMPLE = 1, /* one sample rejected; the run goes on unless on_error = fail */
    SP_SEV_FAILED = 2, /* the operation failed */
} sp_severity;

/* Stable short name of a code, e.g. "corrupt". Used as the `reason` in manifests. */
const char *sp_strerror(int code);
sp_severity sp_severity_of(int code);

/* An error with its location. Any field but code/msg may be empty (0 / ""). */
typedef struct sp_error {
    int code;
    int line;          /* config line, 1-based, 0 if none */
    char path[1024];   /* file the error is about */
    char member[256];  /* archive member or record key */
    char msg[1024];    /* what went wrong, one line */
} sp_error;

/* Formats "path: member: line N: msg" with the empty parts left out. Returns buf. */
const char *sp_error_format(const sp_error *err, char *buf, size_t size);

/* ---- context ------------------------------------------------------------------------ */

typedef struct sp_ctx sp_ctx;

typedef enum sp_log_level { SP_LOG_ERROR = 0, SP_LOG_WARN = 1, SP_LOG_INFO = 2, SP_LOG_DEBUG = 3 } sp_log_level;

typedef enum sp_phase { SP_PHASE_SCAN = 0, SP_PHASE_PLAN, SP_PHASE_BUILD, SP_PHASE_FINISH } sp_phase;

/* Called with every message at or below the context's verbosity. */
typedef void (*sp_log_fn)(void *user, sp_log_level level, const char *msg);
/* Called from the thread that runs the phase (never from worker threads), at least once
 * per shard and per few hundred items. Return non-zero to cancel the run. */
typedef int (*sp_progress_fn)(void *user, sp_phase phase, uint64_t done, uint64_t total);

int sp_ctx_new(sp_ctx **out);
void sp_ctx_free(sp_ctx **ctx);
void sp_ctx_set_threads(sp_ctx *ctx, int threads); /* 0 = all cores (the default) */
void sp_ctx_set_verbosity(sp_ctx *ctx, sp_log_level max_level); /* default SP_LOG_INFO */
void sp_ctx_set_log(sp_ctx *ctx, sp_log_fn fn, void *user);     /* default: stderr */
void sp_ctx_set_progress(sp_ctx *ctx, sp_progress_fn fn, void *user);

/* The last error; borrowed, valid until the next call on ctx. */
const sp_error *sp_last_error(const sp_ctx *ctx);
const char *sp_errmsg(sp_ctx *ctx);

/* ---- pipeline ----------------------------------------------------------------------- */

typedef struct sp_pipeline sp_pipeline;

/* Parses and validates a pipeline. `overrides` holds n "SECTION.KEY=VALUE" strings applied
 * on top of the file (a missing section is created). Every problem is logged at
 * SP_LOG_ERROR with file:line; the return is SP_E_CONFIG if there was any. */
int sp_pipeline_load_file(sp_ctx *ctx, const char *path, const char *const *overrides,
                          size_t n, sp_pipeline **out);
int sp_pipeline_load_string(sp_ctx *ctx, const char *text, const char *name,
                            const char *const *overrides, size_t n, sp_pipeline **out);
/* The pipeline a finished build ran: manifest.json stores the effective config, and the
 * output folder becomes the manifest's folder (change it with sp_pipeline_set_output).
 * Relative paths in it resolve from the current folder, as they did for the build. */
int sp_pipeline_load_manifest(sp_ctx *ctx, const char *path, const char *const *overrides,
                              size_t n, sp_pipeline **out);
void sp_pipeline_free(sp_pipeline **pipe);

/* The output folder: the CLI's -o, else [run] output. */
int sp_pipeline_set_output(sp_pipeline *pipe, const char *dir);
const char *sp_pipeline_output(const sp_pipeline *pipe);

/* Prints the stage graph: SP_GRAPH_TEXT lists every stage with its inputs, outputs and
 * the options that differ from their defaults, then every sink with the paths that reach
 * it and the pixel chain on each; SP_GRAPH_DOT writes the same graph for Graphviz. */
typedef enum sp_graph_style { SP_GRAPH_TEXT = 0, SP_GRAPH_DOT = 1 } sp_graph_style;
int sp_pipeline_print(const sp_pipeline *pipe, void *file /* FILE * */, sp_graph_style style);

/* ---- phases ------------------------------------------------------------------------- */

typedef struct sp_summary {
    uint64_t samples_found;   /* files seen by the sources */
    uint64_t samples_skipped; /* rejected at scan or build */
    uint64_t samples_cached;  /* catalog entries reused from the cache */
    uint64_t records_planned;
    uint64_t records_written;
    uint64_t shards_written;
    uint64_t bytes_written;
} sp_summary;

/* Each phase runs the ones before it when needed: plan scans, build plans. The phases
 * write into the output folder: scan the catalog cache (.shardpack/), plan plan.tsv,
 * build the shards, finish manifest.json. */
int sp_run_scan(sp_ctx *ctx, sp_pipeline *pipe, sp_summary *summary);
int sp_run_plan(sp_ctx *ctx, sp_pipeline *pipe, sp_summary *summary);
int sp_run(sp_ctx *ctx, sp_pipeline *pipe, sp_summary *summary);
/* Scan and plan, writing nothing (no catalog cache, no plan.tsv, no output folder), and
 * log the plan's report: per split, class counts before and after balancing, copies per
 * source, dropped samples. */
int sp_run_plan_dry(sp_ctx *ctx, sp_pipeline *pipe, sp_summary *summary);

/* Builds that survive and scale (docs/scale-out.md). Every build resumes: a shard whose
 * stamp (OUTDIR/.shardpack/stamps/) matches the hash of its plan slice is kept, the rest
 * are rebuilt. A build can also write only some shards: part `part` of `nparts` (shards
 * dealt round robin in plan order), or the shards named in `shards` (as `shardpack plan
 * --list-shards` prints them). Such a partial build writes no manifest but a partial one
 * (OUTDIR/.shardpack/parts/); sp_run_finish merges them once every shard exists. */
typedef struct sp_build_opts {
    uint32_t part, nparts; /* nparts = 0: not split into parts */
    const char *const *shards;
    size_t nshards;
} sp_build_opts;
int sp_run_build(sp_ctx *ctx, sp_pipeline *pipe, const sp_build_opts *opts, sp_summary *summary);
/* The manifest and sink indexes of an output built in parts: the config comes from the
 * partial manifests (which must agree), the plan is made again (from the catalog cache),
 * and every shard must have a current stamp. */
int sp_run_finish(sp_ctx *ctx, const char *outdir, sp_summary *summary);
/* Plans, then for make: writes a dependency file (each shard on the config and its
 * records' input files, the manifest on the config, every input and every shard) if
 * `depfile`, and prints every shard's name, one a line, to `list` (a FILE *) if given. */
int sp_run_plan_files(sp_ctx *ctx, sp_pipeline *pipe, const char *depfile, void *list,
                      sp_summary *summary);

/* Makes one record of a finished output again from its source: the output's manifest
 * gives the config, the shard's file name the sink, the key the record. *out gets what
 * the shard stores for the record's image (the encoded image; the pixel rows for npy),
 * malloc'd; the bytes equal the stored ones when sources and shardpack are unchanged. */
int sp_replay(sp_ctx *ctx, const char *shard_path, const char *key, uint8_t **out,
              size_t *len);

/* A dataset doctor: scans the pipeline's sources (decoding every image and hashing it
 * perceptually, whatever the config asks) and prints to `file` samples per class and the
 * imbalance, formats and size distribution, corrupt and rejected files, exact- and
 * near-duplicate groups, and the shards each sink would get. Builds nothing and writes
 * nothing but a temporary catalog, removed before it returns. */
int sp_inspect(sp_ctx *ctx, sp_pipeline *pipe, void *file /* FILE * */);

/* A contact sheet of what a pipeline does, before a long build: a row per source sample
 * (classes in turn), a column per copy (0 = plain, 1.. = what the branch's random stages
 * make of the copies a balance stage asks for), labelled with class and file. Zeros
 * mean defaults: 8 rows, 6 copies, 128-pixel cells, the first sink. */
typedef struct sp_preview_opts {
    uint32_t rows, copies, cell;
    const char *sink;
} sp_preview_opts;
int sp_preview(sp_ctx *ctx, sp_pipeline *pipe, const sp_preview_opts *opts, const char *png);

/* ---- stage and format tables (help, docs) ------------------------------------------- */

/* Writes every stage with its options, from the option tables, as text or markdown. */
typedef enum sp_help_style { SP_HELP_TEXT = 0, SP_HELP_MARKDOWN = 1 } sp_help_style;
int sp_print_stages(void *file /* FILE * */, sp_help_style style);

#ifdef __cplusplus
}
#endif
#endif
