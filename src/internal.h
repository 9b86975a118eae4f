/*
 * Internal declarations shared by src/, stages/ and formats/. Not installed.
 */
#ifndef SP_INTERNAL_H
#define SP_INTERNAL_H

#include "shardpack/image.h"
#include "shardpack/shardpack.h"
#include "shardpack/ops.h"
#include "shardpack/stage.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define SP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SP_PRINTF(a, b)
#endif

#define SP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors (src/error.c) ---------------------------------------------------------- */

/* Sets err (if non-NULL) and returns code, so callers can `return sp_fail(...)`. */
int sp_fail(sp_error *err, int code, const char *fmt, ...) SP_PRINTF(3, 4);
void sp_error_clear(sp_error *err);
void sp_error_set_path(sp_error *err, const char *path);
void sp_error_set_member(sp_error *err, const char *member);
/* The codes of the [run] limits, each named after its option, in the option table's
 * order; and whether a code is one of them or SP_E_LIMIT (a bound no option sets). */
#define SP_RUN_LIMIT_CODES                                                                    \
    SP_E_MAX_PIXELS, SP_E_MAX_FILE_BYTES, SP_E_MAX_DIMENSION, SP_E_MAX_SCANS,                 \
        SP_E_MAX_MEMBERS, SP_E_MAX_NESTING, SP_E_MAX_LINE_BYTES, SP_E_MAX_RATIO,              \
        SP_E_MAX_UNPACKED_BYTES
bool sp_is_limit(int code);
/* Every code a sample can be dropped with (the sample-level ones and SP_E_IO), in the order
 * summaries list them. */
const int *sp_reason_codes(size_t *n);

/* ---- context (src/ctx.c) ----------------------------------------------------------- */

struct sp_ctx {
    int threads;
    sp_log_level verbosity;
    sp_log_fn log;
    void *log_user;
    sp_progress_fn progress;
    void *progress_user;
    sp_error err;
    char errbuf[2400];
    /* Registered by the embedding program (shardpack/stage.h). */
    struct sp_stage_desc **stages; /* wrappers around the registered sp_pixel_stage */
    size_t nstages;
    const sp_format **formats;
    size_t nformats;
};

void sp_log(sp_ctx *ctx, sp_log_level level, const char *fmt, ...) SP_PRINTF(3, 4);
/* Stores err as the context's last error and returns its code. */
int sp_ctx_error(sp_ctx *ctx, const sp_error *err);
int sp_ctx_threads(const sp_ctx *ctx);
/* Returns SP_E_CANCELLED if the progress callback asked to stop. */
int sp_progress(sp_ctx *ctx, sp_phase phase, uint64_t done, uint64_t total);

/* ---- growable buffer (src/buf.c) --------------------------------------------------- */

typedef struct sp_buf {
    char *data;
    size_t len, cap;
    bool oom; /* sticky: an append failed; checked once at the end */
} sp_buf;

void sp_buf_append(sp_buf *b, const void *data, size_t n);
void sp_buf_puts(sp_buf *b, const char *s);
void sp_buf_printf(sp_buf *b, const char *fmt, ...) SP_PRINTF(2, 3);
void sp_buf_free(sp_buf *b);
/* A TSV field: tab, newline, CR and backslash escaped as \t \n \r \\ so a row stays one
 * line (file names may hold any of them). */
void sp_tsv_field(sp_buf *b, const char *s);
/* s for a terminal: as sp_tsv_field, and other control bytes as \xNN, so a file name
 * cannot break a log line or send escape sequences. */
void sp_printable(sp_buf *b, const char *s);
/* The field back from its first n bytes; malloc'd. */
char *sp_tsv_unescape(const char *s, size_t n);
/* JSON helpers: a quoted, escaped string. */
void sp_json_str(sp_buf *b, const char *s);

/* ---- files (src/fsutil.c) ---------------------------------------------------------- */

/* mkdir -p */
int sp_mkdirs(const char *path, sp_error *err);
/* Reads a whole file, refusing files larger than max_bytes. *out is malloc'd. */
int sp_read_file(const char *path, uint64_t max_bytes, uint8_t **out, size_t *len,
                 sp_error *err);
/* sp_read_file for an untrusted input file: one over the [run] max_file_bytes is rejected
 * as SP_E_MAX_FILE_BYTES (sp_read_file's own bound is SP_E_LIMIT: no option sets it). */
int sp_read_input(const char *path, uint64_t max_file_bytes, uint8_t **out, size_t *len,
                  sp_error *err);
/* Writes data atomically: temporary name in the same folder, fsync, rename, fsync dir. */
int sp_write_file_atomic(const char *path, const void *data, size_t len, sp_error *err);
/* Renames tmp to final and fsyncs the folder (after the caller fsynced the file). */
int sp_commit_file(const char *tmp, const char *final, sp_error *err);
int sp_fsync_dir_of(const char *path, sp_error *err);
/* A whole file mapped read-only (empty files map to base = NULL, size = 0). */
typedef struct sp_mapped {
    const uint8_t *base;
    uint64_t size;
} sp_mapped;
int sp_map_file(const char *path, sp_mapped *m, sp_error *err);
void sp_unmap(sp_mapped *m);
/* The folder part of a path ("." without one, "/" for a file at the root); malloc'd. */
char *sp_path_dir(const char *path);
/* a + "/" + b in a new malloc'd string */
char *sp_path_join(const char *a, const char *b);
char *sp_strdup(const char *s);
char *sp_strndup(const char *s, size_t n);

/* ---- hashing and random numbers (src/rng.c) ---------------------------------------- */

typedef struct sp_hash128 {
    uint64_t hi, lo;
} sp_hash128;

sp_hash128 sp_hash_bytes(const void *data, size_t len);
/* 32 lowercase hex digits + NUL */
void sp_hash_hex(sp_hash128 h, char out[33]);
int sp_hash_parse(const char *hex, sp_hash128 *out);

/* A counter-based random stream: draw i is a pure function of (key, i). Streams are keyed by
 * (seed, stage instance, record key, copy), so a draw never depends on thread count or on
 * which other records exist. */
typedef struct sp_rng {
    uint64_t k0, k1;
    uint64_t counter;
} sp_rng;

sp_rng sp_rng_for(uint64_t seed, const char *stage, const char *record_key, uint32_t copy);
uint64_t sp_rng_u64(sp_rng *r);
double sp_rng_uniform(sp_rng *r); /* [0, 1) with 53 bits */

/* ---- option tables (src/options.c) ------------------------------------------------- */

/* The table types (sp_option, sp_opt_type, sp_enum_choice) are public: shardpack/stage.h. */

const sp_option *sp_option_find(const sp_option *table, const char *name);
/* Parses `value` into the field of `opts` described by `o`. On error returns SP_E_CONFIG
 * with a message that names the option and the accepted values. */
int sp_option_parse(const sp_option *o, void *opts, const char *value, sp_error *err);
/* Every pair NAME_min / NAME_max of a table is a range. If `lo` is a NAME_min whose
 * NAME_max in opts is smaller, returns that NAME_max option; else NULL. */
const sp_option *sp_option_reversed(const sp_option *table, const sp_option *lo,
                                    const void *opts);
/* SP_E_CONFIG naming the first reversed pair, if any. */
int sp_options_check_ranges(const sp_option *table, const void *opts, sp_error *err);
/* Sets every option to its default. */
int sp_options_defaults(const sp_option *table, void *opts, sp_error *err);
/* Frees the strings held by opts. */
void sp_options_free(const sp_option *table, void *opts);
/* Canonical text of an option's current value, for the manifest. */
void sp_option_format(const sp_option *o, const void *opts, sp_buf *out);
const char *sp_opt_type_name(sp_opt_type t);

/* ---- encoder settings (the encode stage's options) ---------------------------------- */

typedef enum sp_subsampling { SP_SUB_444, SP_SUB_422, SP_SUB_420 } sp_subsampling;
extern const sp_enum_choice sp_subsampling_choices[]; /* stages/encode.c */

typedef struct sp_encode_opts {
    int format;       /* SP_ENC_* */
    int64_t quality;  /* JPEG 1..100 */
    int subsampling;  /* JPEG chroma subsampling, sp_subsampling */
    bool optimize;    /* JPEG: optimised Huffman tables instead of the standard ones */
    bool progressive; /* JPEG: progressive instead of baseline */
    int64_t png_level; /* PNG zlib level 0..9 */
    int png_filter;    /* PNG row filter, SP_PNG_FILTER_* */
} sp_encode_opts;

enum { SP_ENC_JPEG, SP_ENC_PNG, SP_ENC_RAW };
enum { SP_PNG_FILTER_ALL, SP_PNG_FILTER_NONE, SP_PNG_FILTER_SUB, SP_PNG_FILTER_UP,
       SP_PNG_FILTER_AVG, SP_PNG_FILTER_PAETH };

/* The settings a chain without an encode stage uses: baseline JPEG, quality 90, 4:2:0. */
void sp_encode_defaults(sp_encode_opts *o);

/* ---- formats (formats/) ------------------------------------------------------------ */

/* sp_format, sp_image_info and sp_limits are public: shardpack/stage.h. */

extern const sp_format sp_format_jpeg;
extern const sp_format sp_format_png;
extern const sp_format sp_format_raw; /* pixels as they are: H × W × C bytes, row-major */

const sp_format *sp_format_by_name(const char *name);
/* The built-in formats only. */
const sp_format *sp_format_probe(const uint8_t *data, size_t len);
const sp_format *const *sp_formats(size_t *count);
/* Built-ins and the context's registered formats. */
const sp_format *sp_ctx_format_probe(const sp_ctx *ctx, const uint8_t *data, size_t len);
const sp_format *sp_ctx_format_by_name(const sp_ctx *ctx, const char *name);

/* ---- tar writer (formats/tar.c) ---------------------------------------------------- */

#define SP_TAR_MTIME 946684800 /* 2000-01-01T00:00:00Z: fixed, so shards are reproducible */
#define SP_TAR_MODE 0444

/* Fills a 512-byte USTAR header for a regular file. Fails if the name does not fit. */
int sp_tar_header(const char *name, uint64_t size, uint8_t out[512], sp_error *err);

typedef struct sp_tar_writer sp_tar_writer;
int sp_tar_open(const char *path, sp_tar_writer **out, sp_error *err);
int sp_tar_add(sp_tar_writer *w, const char *name, const void *data, size_t len,
               sp_error *err);
/* Bytes written so far: where the next member's header goes. */
uint64_t sp_tar_offset(const sp_tar_writer *w);
/* Writes the end-of-archive blocks, fsyncs and closes. Reports the archive's size. */
int sp_tar_finish(sp_tar_writer *w, uint64_t *bytes, sp_error *err);
void sp_tar_abort(sp_tar_writer **w); /* closes and removes the file */

typedef struct sp_tar_member {
    char name[257];
    char type; /* '0' regular file */
    uint64_t header_offset, data_offset, size;
} sp_tar_member;
/* Parses the member header at *pos of an archive in memory, checking its checksum and
 * bounds, and advances *pos past the member's data. 1 = a member, 0 = end of archive. */
int sp_tar_read_member(const uint8_t *base, uint64_t size, uint64_t *pos, sp_tar_member *m,
                       sp_error *err);
void sp_tar_free(sp_tar_writer **w);

/* ---- resampling (src/resample.c) --------------------------------------------------- */

/* sp_filter is public: shardpack/ops.h. */

extern const sp_enum_choice sp_filter_choices[];

/* Resizes src into a new image of dst_w × dst_h. Antialiased when shrinking: the filter's
 * support is widened by the scale factor, as Pillow does. */
int sp_resample(const sp_image *src, uint32_t dst_w, uint32_t dst_h, sp_filter filter,
                sp_image *dst, sp_error *err);

/* ---- catalog (src/catalog.c) ------------------------------------------------------- */

typedef struct sp_sample {
    char *path;       /* relative to the source root, '/'-separated */
    int32_t label;    /* index into the catalog's classes; -1 if none */
    uint64_t size;    /* bytes */
    int64_t mtime_ns; /* from stat */
    int64_t ctime_ns; /* changes on every write, even when mtime is set back */
    uint64_t inode;
    const sp_format *format; /* NULL if unknown */
    sp_image_info info;
    sp_hash128 hash; /* XXH3-128 of the file's bytes */
    int status;      /* SP_OK or the code that rejected it */
    char *detail;    /* why it was rejected, or NULL */
    bool cached;     /* taken from the catalog cache */
    uint64_t offset; /* where a source that packs samples into one file finds it */
    /* The split the input itself assigns (a train/ val/ folder layout, a manifest's split
     * column): SP_SPLIT_*, SP_SPLIT_NONE when the input says nothing. */
    uint8_t split_hint;
    /* 64-bit perceptual (DCT) hash of the decoded pixels, when the scan computed one. */
    bool has_phash;
    uint64_t phash;
    /* Near-duplicate cluster: 0 for none; samples (of any source) with the same nonzero id
     * are near-duplicates of each other. Set at plan time by the clean stage; the split
     * stage keeps a cluster in one split so near-copies never leak from train into val. */
    uint32_t cluster;
    bool decoded; /* a full decode succeeded at scan (the clean stage's verify = decode) */
} sp_sample;

typedef struct sp_catalog {
    char *source;  /* stage instance name */
    char *root;    /* the source's path */
    char **classes;
    size_t nclasses;
    sp_sample *samples; /* sorted by path */
    size_t nsamples;
    int32_t *to_global; /* local class index -> index into the run's classes */
    const struct sp_stage_desc *desc; /* the source stage's type */
    void *state;                      /* the source's own data (see desc->read), or NULL */
    /* The samples are members of one container file, root (an archive): reports name the
     * archive as the file and the sample's path as the member. */
    bool members;
    void (*state_free)(void *state);
} sp_catalog;

/* A sample's bytes: the file ROOT/path, or what the source's read gives. Checks the size
 * against the limits; *data is malloc'd. Safe from worker threads. */
int sp_sample_read(const sp_catalog *cat, const sp_sample *s, const sp_limits *lim,
                   uint8_t **data, size_t *len, sp_error *err);

void sp_catalog_free(sp_catalog *cat);
/* Catalog cache: one file per source under OUTDIR/.shardpack/. */
int sp_catalog_cache_load(const sp_ctx *ctx, const char *cache_path, const char *key,
                          sp_catalog *cache, sp_error *err);
int sp_catalog_cache_save(const char *cache_path, const char *key, const sp_catalog *cat,
                          sp_error *err);

/* ---- the stage graph (src/graph.c, stages/) ----------------------------------------- */

typedef enum sp_stage_kind {
    SP_STAGE_SOURCE, /* enumerates samples (scan) */
    SP_STAGE_RECORD, /* acts on the record list (plan) */
    SP_STAGE_PIXEL,  /* acts on one image (build) */
    SP_STAGE_SINK,   /* writes shards (plan assigns, build writes) */
} sp_stage_kind;

typedef struct sp_stage_desc sp_stage_desc;
typedef struct sp_stage sp_stage;
typedef struct sp_plan sp_plan;
typedef struct sp_record sp_record;
typedef struct sp_job sp_job;

/* One record of the plan: an output sample. */
struct sp_record {
    uint32_t source; /* index into run->catalogs */
    uint32_t sample; /* index into that catalog's samples */
    uint32_t copy;   /* 0 = the plain sample */
    uint32_t chain;  /* index into run->chains: the pixel stages on the record's path */
    uint64_t order;  /* sort key drawn by shuffle */
    uint32_t shard;  /* index into the sink's shards */
    uint8_t split;   /* SP_SPLIT_*: set by a split stage */
    char key[24];    /* output key: no dots, short enough for USTAR */
};

enum { SP_SPLIT_NONE = 0, SP_SPLIT_TRAIN, SP_SPLIT_VAL, SP_SPLIT_TEST };
extern const char *const sp_split_names[]; /* indexed by SP_SPLIT_*; [0] is "" */

/* The pixel stages a record passes on its way from source to sink. Records share chains:
 * each is interned once per run, as its parent chain plus one stage. */
typedef struct sp_chain {
    int parent, stage; /* -1, -1 for the empty chain */
    int *stages;       /* every stage, source side first */
    size_t n;
    sp_encode_opts encode; /* the settings of its last encode stage, else the defaults */
    uint32_t out_w, out_h; /* its output size when that does not depend on the input */
} sp_chain;

typedef struct sp_recvec {
    sp_record *v;
    size_t n, cap;
} sp_recvec;

int sp_recvec_push(sp_recvec *rv, const sp_record *r);
void sp_recvec_free(sp_recvec *rv);

/* What a stage sees while it works. */
typedef struct sp_stage_env {
    sp_job *run;
    const sp_stage *stage;
    uint64_t seed;
} sp_stage_env;

struct sp_region; /* where a decoded part of an image sits: crop-aware decoding, below */
struct sp_stage_desc {
    const char *name;
    const char *help;
    sp_stage_kind kind;
    unsigned flags; /* PIXEL: SP_PIXEL_RANDOM; RECORD: SP_RECORD_COPIES */
    size_t opts_size;
    const sp_option *options;
    /* SOURCE: enumerate every sample under opts into cat (paths, sizes, mtimes, labels).
     * Headers and hashes are filled in by the scan phase, in parallel. */
    int (*enumerate)(const sp_stage_env *env, const void *opts, sp_catalog *cat,
                     sp_error *err);
    /* SOURCE (optional): the bytes of one sample, for sources whose samples are not files
     * under cat->root (records of an IDX or CIFAR file, archive members). NULL reads
     * ROOT/path. Runs on worker threads during scan and build: it may only read cat. */
    int (*read)(const sp_catalog *cat, const sp_sample *s, const sp_limits *lim,
                uint8_t **data, size_t *len, sp_error *err);
    /* RECORD: transform the record list in place. */
    int (*plan)(const sp_stage_env *env, const void *opts, sp_recvec *recs, sp_error *err);
    /* PIXEL: transform one image (see sp_pixel_stage in shardpack/stage.h). */
    int (*process)(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err);
    /* PIXEL (optional): the output size for an input size, for planning estimates. */
    void (*out_size)(const void *opts, uint32_t *w, uint32_t *h);
    /* PIXEL (optional), for shrink-on-load: what process gives for a src_w x src_h image,
     * computed from img, a reduced version of it the decoder made more cheaply (JPEG DCT
     * scaling). Output sizes must follow from src_w x src_h, never from img. */
    int (*process_scaled)(const void *opts, uint32_t src_w, uint32_t src_h, sp_image *img,
                          sp_pixel_ctx *pc, sp_error *err);
    /* SINK: how its shards are written. */
    const struct sp_sink_ops *sink;
    /* PIXEL groups (one_of, some_of, sequence): their `stages` option names member
     * sections, which the loader resolves and hands over here, once per options struct
     * (the stage's own and each class's). */
    int (*link)(void *opts, const struct sp_stage *const *members, size_t n, sp_error *err);
    /* Optional: checks that need several options at once (val + test <= 1). Runs when the
     * config is loaded; the message is reported at the section's line. */
    int (*validate)(const void *opts, sp_error *err);
    /* RECORD stages with several outputs: their names (NULL-terminated), and the plan
     * callback that routes the input into one record list per port. */
    const char *const *ports;
    int (*route)(const sp_stage_env *env, const void *opts, const sp_recvec *in,
                 sp_recvec *outs, sp_error *err);
    /* PIXEL (optional), for crop-aware decoding (src/region.c): the box (x, y, w, h) of a
     * src_w x src_h image that process reads, drawn from pc exactly as process draws it
     * (the caller hands a copy of the stream, without notes), and in need[] the size the
     * stage resizes the box to (0, 0 when it keeps the box's pixels), so the decoder may
     * also scale down (with shrink_on_load). False when process reads outside the image
     * (padding) or cannot be served from a box. */
    bool (*region)(const void *opts, uint32_t src_w, uint32_t src_h, sp_pixel_ctx *pc,
                   uint32_t box[4], uint32_t need[2]);
    /* PIXEL (with region): what process gives for the src_w x src_h image, computed from
     * img, a part of it holding the box, placed as `at` says (at->scale < 8 only when
     * need[] was set); draws and notes as process does. */
    int (*process_region)(const void *opts, uint32_t src_w, uint32_t src_h,
                          const struct sp_region *at, sp_image *img, sp_pixel_ctx *pc,
                          sp_error *err);
};

/* A stage instance: one section of pipeline.ini. */
/* An edge of the graph: an upstream stage and which of its outputs (0 for a stage with
 * one output; an index into desc->ports for one with several). */
typedef struct sp_port_ref {
    int stage;
    int port;
} sp_port_ref;

struct sp_stage {
    char *name;
    const sp_stage_desc *desc;
    void *opts;          /* desc->opts_size bytes, parsed from the section */
    sp_port_ref *inputs; /* upstream outputs, merged in this order; none for sources */
    size_t ninputs;
    int line;            /* where the section starts */
    int input_line;      /* where `input =` is, or the section's line */
    double p;            /* random pixel stages: probability of applying */
    int apply;           /* random pixel stages: SP_APPLY_* */
    int member_of;       /* a group's member (not in the flow): the group's index, else -1 */
    /* Pixel stages: per-class values (`key@class = value`), each a whole copy of the
     * options with the class's values on top; `name` is the class. */
    struct sp_stage *variants;
    size_t nvariants;
};
/* The stage's options for records of class `cls`: a variant's, or its own. */
const sp_stage *sp_stage_for_class(const sp_stage *st, const char *cls);

/* A record stage that makes copies (copy >= 1) of samples. */
#define SP_RECORD_COPIES 0x100u

/* The graph as text or Graphviz (src/graph.c), and the warnings about its shape that are
 * not errors: a random stage that can never act, because nothing before it makes copies. */
void sp_graph_warnings(sp_ctx *ctx, const sp_pipeline *p);

/* The built-in stages. */
const sp_stage_desc *sp_stage_desc_by_name(const char *name);
const sp_stage_desc *const *sp_stage_descs(size_t *count);
/* Built-ins, then the context's registered stages. */
const sp_stage_desc *sp_ctx_stage_by_name(const sp_ctx *ctx, const char *name);

/* The per-record state a pixel stage draws from (shardpack/stage.h). */
struct sp_pixel_ctx {
    sp_rng rng;
    uint64_t seed;   /* for the streams of a group's members */
    const char *cls; /* the record's class, for members' per-class values */
    uint32_t copy;
    const char *key;
    sp_buf *notes; /* the stage's parameters as JSON members, or NULL */
    bool noted;    /* a member is in notes already (the next needs a comma) */
    /* The worker thread's scratch memory (resampling tables, intermediate images), or
     * NULL (then a stage allocates what it needs). Set by the build, passed to members. */
    struct sp_scratch *scratch;
};
/* The stream of (seed, stage instance, sample key, copy). */
void sp_pixel_ctx_init(sp_pixel_ctx *pc, uint64_t seed, const char *stage, const char *key,
                       uint32_t copy, sp_buf *notes);

/* Runs one member of a group on img as the group's part: its own stream (keyed by its
 * own name), its p and per-class values; its drawn values noted under its name. */
int sp_pixel_run_member(sp_pixel_ctx *group, const struct sp_stage *member, sp_image *img,
                        sp_error *err);

/* An integer uniform over [lo, hi) (hi > lo), as torch.randint draws: the floor of a
 * 53-bit uniform, one draw. */
int64_t sp_px_int(sp_pixel_ctx *pc, int64_t lo, int64_t hi);

/* What `apply` a random stage has. */
enum { SP_APPLY_COPIES = 0, SP_APPLY_ALL = 1 };
/* Whether a random stage with probability p and apply mode acts on this record: the first
 * draw of its stream decides. Deterministic stages always act. */
bool sp_pixel_applies(const sp_stage_desc *d, double p, int apply, sp_pixel_ctx *pc);

/* [run]: the one section that is not a stage. */
typedef enum sp_on_error { SP_ON_ERROR_SKIP = 0, SP_ON_ERROR_FAIL = 1 } sp_on_error;
typedef struct sp_run_opts {
    int64_t seed;
    char *output;
    int on_error;
    int64_t max_pixels;
    uint64_t max_file_bytes;
    int64_t max_dimension;
    int64_t max_scans;
    bool shrink_on_load;
    char *background; /* see sp_background_parse */
    int64_t max_members;
    int64_t max_nesting;
    uint64_t max_line_bytes;
    int64_t max_ratio;
    uint64_t max_unpacked_bytes;
    bool crop_on_load;
} sp_run_opts;
extern const sp_option sp_run_options[];

struct sp_pipeline {
    char *name; /* config file name, for messages */
    sp_run_opts run;
    sp_stage *stages;
    size_t nstages;
    char *output_override;
    sp_limits limits;
};

/* ---- the run (src/scan.c, plan.c, build.c, finish.c) -------------------------------- */

typedef struct sp_skip {
    uint32_t source, sample;
    const char *phase; /* "scan" or "build" */
    int code;
    char *detail;
} sp_skip;

#define SP_MAX_SIDECARS 2 /* per shard, besides its block sums */

/* One output shard. */
typedef struct sp_shard {
    uint32_t sink; /* stage index */
    uint32_t index;
    char *path;    /* relative to the output folder */
    size_t first, count; /* slice of the sink's records */
    uint64_t records_written;
    uint64_t bytes;
    sp_hash128 hash;
    char *sidecars[SP_MAX_SIDECARS + 1]; /* files written beside it (index, labels, sums) */
    uint64_t sidecar_bytes[SP_MAX_SIDECARS + 1];
    sp_hash128 sidecar_hash[SP_MAX_SIDECARS + 1];
    size_t nsidecars;
} sp_shard;

/* The records one sink writes. */
typedef struct sp_sink_plan {
    int stage; /* the sink's stage index */
    sp_recvec recs;
    sp_shard *shards;
    size_t nshards;
    char *sink_file; /* written by finish_sink, or NULL */
    uint64_t *counts_out; /* per run class: records written (NULL until the build) */
} sp_sink_plan;

/* A record whose sample proved undecodable in the build, written from another sample of
 * its class instead (src/build.c), so corruption never unbalances the output. */
typedef struct sp_subst {
    uint32_t sink;           /* index into run->sinks */
    uint32_t source, sample; /* the bad sample */
    uint32_t copy;                 /* the planned record's copy number */
    uint32_t by_source, by_sample; /* what was written instead */
    uint32_t by_copy;              /* the stand-in's copy number */
} sp_subst;

struct sp_job {
    sp_ctx *ctx;
    sp_pipeline *pipe;
    const char *outdir;
    sp_catalog *catalogs; /* one per source stage, in stage order */
    int *catalog_of_stage; /* stage index -> catalog index, -1 if not a source */
    size_t ncatalogs;
    char **classes; /* the union of every source's classes, in byte order */
    size_t nclasses;
    sp_sink_plan *sinks;
    size_t nsinks;
    sp_chain *chains; /* [0] is the empty chain */
    size_t nchains;
    sp_skip *skips;
    size_t nskips, capskips;
    uint64_t *counts_in, *counts_out; /* per run class */
    sp_summary summary;
    /* Near-duplicate clusters the clean stages found (src/report.c writes them). */
    struct sp_cluster_member *cluster_members;
    size_t ncluster_members, capcluster_members;
    bool force_decode, force_phash; /* inspect: decode and hash whatever the pipeline says */
    /* Per stage: for a split stage, [class * 4 + SP_SPLIT_*] samples it assigned (NULL for
     * other stages, and the whole array NULL without a split stage). Per stage, so a second
     * split downstream reports its own numbers. */
    uint64_t **split_before;
    bool dry_run; /* plan --dry-run: nothing is written, not even the catalog cache */
    sp_subst *substs;
    size_t nsubsts, capsubsts;
    /* Which shards this process writes (--part, --shard, finish); NULL: all of them. */
    const sp_build_opts *select;
    struct sp_resume *resume; /* slice hashes and stamps (src/resume.c) */
};

/* Stand-ins for records whose sample fails in the build (src/substitute.c). */
typedef struct sp_subst_pool sp_subst_pool;
#define SP_SUBST_TRIES 16 /* stand-ins tried for one record before it is skipped */
sp_subst_pool *sp_subst_pool_new(void);
void sp_subst_pool_free(sp_subst_pool **pool);
/* The t-th stand-in (t = 0, 1, ...) for a record of sink s whose sample failed: the same
 * record made from another sample of its class in the sink, with a copy number of its own.
 * 1 with *by set; 0 when there is no t-th; SP_E_NOMEM. */
int sp_subst_candidate(const sp_job *run, size_t s, sp_subst_pool *pool, const sp_record *bad,
                       size_t t, sp_record *by);
int sp_run_add_subst(sp_job *run, size_t s, const sp_record *bad, const sp_record *by);
/* Calls fn for every candidate of class `label` in sink s, in the order the choice walks
 * them from (src/resume.c hashes them, with the content of the ones a choice tried, into
 * the stamp of a shard that used a stand-in). SP_OK or SP_E_NOMEM. */
int sp_subst_class_each(const sp_job *run, size_t s, sp_subst_pool *pool, int32_t label,
                        void (*fn)(void *arg, uint32_t source, uint32_t sample), void *arg);

/* The balance report (src/splits.c): per sink and split, class counts before and after,
 * copies per source, dropped and substituted samples; as manifest JSON (the `splits`
 * member) and as a summary with bar charts on the log. */
void sp_splits_json(const sp_job *run, sp_buf *b);
void sp_splits_log(const sp_job *run);

/* Scan and plan into run, writing only the catalog cache (no plan.tsv); free with
 * sp_job_free. For commands that need the plan of an existing output (replay). */
int sp_job_plan(sp_ctx *ctx, sp_pipeline *pipe, sp_job *run);
void sp_job_free(sp_job *run);
/* Runs one record's chain, exactly as the build does: its stored image bytes. */
int sp_build_one(const sp_job *run, const sp_sink_plan *sp, const sp_record *r, uint8_t **out,
                 size_t *len, sp_error *err);
/* The same, stopping at the chain's pixels (no codec); out is caller storage. */
int sp_build_pixels(const sp_job *run, const sp_record *r, sp_image *out, sp_error *err);
/* Draws text in the 5x7 font (src/font.c), each font pixel a scale x scale block. */
void sp_draw_text(sp_image *img, uint32_t x, uint32_t y, uint32_t scale, const char *text,
                  const uint8_t color[3]);
int sp_scan(sp_job *run);
int sp_plan_run(sp_job *run);
int sp_build(sp_job *run);
int sp_finish(sp_job *run);
int sp_run_add_skip(sp_job *run, uint32_t source, uint32_t sample, const char *phase, int code,
                    const char *detail);
/* The sample behind a record. */
const sp_sample *sp_run_sample(const sp_job *run, const sp_record *r);

/* ---- sinks: shard writers (formats/) driven by the build (src/build.c) ------------- */

/* Every sink's options struct starts with these, so planning reads them generically. */
typedef struct sp_sink_common {
    char *prefix;
    int64_t max_records;
    uint64_t max_bytes;
    int layout; /* SP_LAYOUT_* */
} sp_sink_common;

/* How a sink lays its records out in shards (src/plan.c). */
enum { SP_LAYOUT_SHUFFLED = 0, SP_LAYOUT_STRATIFIED = 1 };
extern const sp_enum_choice sp_layout_choices[];

#define SP_SINK_COMMON_OPTIONS(type)                                                          \
    {"prefix", "shard file name prefix; empty uses the section name",                         \
     offsetof(type, common.prefix), SP_OPT_STRING, "", 0, 0, NULL, 0},                        \
        {"max_records", "most records per shard", offsetof(type, common.max_records),         \
         SP_OPT_INT, "1000", 1, 1e9, NULL, 0},                                                \
        {"max_bytes", "target most bytes per shard (estimated at plan time)",                 \
         offsetof(type, common.max_bytes), SP_OPT_SIZE, "1G", 4096, 1099511627776.0, NULL, 0}, \
        {"layout", "how records are laid out in shards", offsetof(type, common.layout),      \
         SP_OPT_ENUM, "shuffled", 1, 0, sp_layout_choices, 0}

/* A finished record as a sink sees it. */
typedef struct sp_out_record {
    const char *key;
    int32_t label;
    const char *class_name;
    const char *source; /* path relative to its source root */
    const sp_image *image; /* final pixels (sinks with needs_pixels) */
    const uint8_t *encoded; /* encoded image (sinks with needs_encoded) */
    size_t encoded_len;
    const sp_format *codec;
    const char *json; /* the record's metadata object */
    size_t json_len;
} sp_out_record;

/* A small file written beside a shard (an index, a labels array). */
typedef struct sp_sidecar {
    char name[256]; /* relative to the output folder */
    sp_buf data;
} sp_sidecar;


typedef struct sp_shard_writer sp_shard_writer;

typedef struct sp_sink_ops {
    bool needs_encoded, needs_pixels;
    /* Every file a shard is made of, as suffixes of its stem: the shard itself first (the
     * stem is its name without it), then its sidecars. Anything else named like a shard of
     * this sink is stale. */
    const char *const *suffixes;
    /* The shard's file name (relative to the output folder). */
    void (*shard_name)(const char *prefix, uint32_t index, uint32_t count, char *buf,
                       size_t size);
    /* Checks the sink can take the chain's output, e.g. npy needs a fixed size. w and h
     * are the chain's output size when fixed, 0 when it depends on the input. */
    int (*check)(const void *opts, uint32_t w, uint32_t h, sp_error *err);
    int (*open)(const void *opts, const char *tmp_path, const char *name, sp_shard_writer **w,
                sp_error *err);
    int (*add)(sp_shard_writer *w, const sp_out_record *r, sp_error *err);
    /* Completes the main file (written, flushed, fsynced, closed) and hands over the
     * sidecars to write beside it. */
    int (*finish)(sp_shard_writer *w, sp_sidecar *sidecars, size_t *nsidecars, sp_error *err);
    void (*free)(sp_shard_writer **w); /* closes without completing */
    /* Optional: a file for the whole sink once every shard exists (e.g. a wids index). */
    int (*finish_sink)(const void *opts, const char *prefix, const sp_shard *shards, size_t n,
                       sp_sidecar *out, sp_error *err);
} sp_sink_ops;

/* Per-4 KiB XXH3-64 sums of a finished shard, so verify can say where damage is. */
#define SP_SUM_BLOCK 4096
/* Reads back a finished file: size, XXH3-128 of it, and its block sums as text. */
int sp_file_digest(const char *path, uint64_t *bytes, sp_hash128 *hash, sp_buf *blocks,
                   sp_error *err);

const sp_sink_common *sp_sink_opts(const sp_stage *st);
const char *sp_sink_prefix(const sp_stage *st);
/* The options p and apply of random pixel stages (src/config.c). */
extern const sp_option sp_random_options[];

extern const sp_stage_desc sp_stage_encode;
const sp_format *sp_encode_format(const sp_encode_opts *o);

/* The sinks' writers and their options (formats/tar.c, npy.c, tfrecord.c). */
enum { SP_FIELD_CLS = 1, SP_FIELD_JSON = 2, SP_FIELD_TXT = 4 };
typedef struct sp_tar_sink_opts {
    sp_sink_common common;
    unsigned fields; /* SP_FIELD_* */
    bool index;      /* write a DALI .idx beside each shard */
} sp_tar_sink_opts;
extern const sp_sink_ops sp_sink_tar;

typedef struct sp_npy_sink_opts {
    sp_sink_common common;
} sp_npy_sink_opts;
extern const sp_sink_ops sp_sink_npy;

typedef struct sp_tfrecord_sink_opts {
    sp_sink_common common;
    int64_t label_offset;
} sp_tfrecord_sink_opts;
extern const sp_sink_ops sp_sink_tfrecord;

/* npy: parses a header; gives the data offset, dtype descr and shape. */
int sp_npy_parse(const uint8_t *base, uint64_t size, char descr[8], uint64_t shape[4],
                 int *ndim, uint64_t *data_offset, sp_error *err);

/* TFRecord: the record at *pos, CRCs checked; 1 = a record, 0 = end. */
int sp_tfrecord_read(const uint8_t *base, uint64_t size, uint64_t *pos, const uint8_t **data,
                     uint64_t *len, sp_error *err);
/* The fields of an Example that shardpack writes. Pointers borrow from the record. */
typedef struct sp_example {
    const uint8_t *encoded, *format, *text, *filename, *key;
    uint64_t encoded_len, format_len, text_len, filename_len, key_len;
    int64_t label, width, height, channels;
    bool has_label;
} sp_example;
int sp_example_parse(const uint8_t *data, uint64_t len, sp_example *ex, sp_error *err);

/* CRC-32C (Castagnoli) and TFRecord's masked form (src/crc32c.c). */
uint32_t sp_crc32c(uint32_t crc, const void *data, size_t len);
uint32_t sp_crc32c_masked(const void *data, size_t len);


/* ---- decoding and cleaning (formats/exif.c, src/phash.c, stages/clean.c) ------------ */

/* The EXIF orientation (1..8) in a JPEG APP1 payload ("Exif\0\0" + TIFF); 1 when it has
 * none or is damaged. Bounded: reads IFD0 only, every offset checked. */
int sp_exif_orientation(const uint8_t *app1, size_t len);
/* img turned upright for an EXIF orientation (2..8; others leave it as it is). */
int sp_image_orient(sp_image *img, int orientation, sp_error *err);

/* The background transparent pixels are composited on, from [run] background: white,
 * black, none (drop alpha, as Pillow's convert("RGB")), R,G,B, or keep (no compositing:
 * every image is RGBA, opaque where the file has no alpha). Packed into
 * sp_limits.background as SP_BG_SET | 0xRRGGBB, SP_BG_DROP or SP_BG_KEEP; 0 is white. */
#define SP_BG_SET 0x01000000u
#define SP_BG_DROP 0x02000000u
#define SP_BG_KEEP 0x04000000u
int sp_background_parse(const char *text, uint32_t *out, sp_error *err);
/* An RGB image made RGBA with an opaque alpha, in place (other channel counts are left
 * as they are). For background = keep, so every record of a run has the same channels. */
int sp_image_add_alpha(sp_image *img);

/* 64-bit perceptual hash: the signs, against their median, of the 8 x 8 lowest
 * frequencies of the DCT of a 32 x 32 grayscale version of the image. */
uint64_t sp_phash(const sp_image *img);
int sp_phash_bytes(const sp_format *f, const uint8_t *data, size_t len, const sp_limits *lim,
                   uint64_t *out, sp_error *err);
static inline int sp_popcount64(uint64_t x)
{
    return __builtin_popcountll(x);
}

/* What the scan must do beyond headers, from the pipeline's clean stages. */
typedef struct sp_scan_needs {
    bool decode; /* a full decode of every sample (corrupt check) */
    bool phash;  /* a perceptual hash of every sample (near duplicates) */
} sp_scan_needs;
void sp_clean_scan_needs(const sp_pipeline *p, sp_scan_needs *needs);
extern const sp_stage_desc sp_stage_clean;
/* Groups samples: equal content hashes, and (max_distance >= 0) perceptual hashes within
 * max_distance bits, transitively. root[i] is the first (smallest index) of i's group. */
int sp_dup_groups(const sp_sample *const *s, size_t n, int max_distance, uint32_t *root);
/* sp_dup_groups, and (exact not NULL) exact[i]: the first of i's equal content hashes. */
int sp_dup_groups_exact(const sp_sample *const *s, size_t n, int max_distance, uint32_t *root,
                        uint32_t *exact);
/* The max_distance of the pipeline's first clean stage with near-duplicate detection on,
 * or -1. */
int sp_clean_max_distance(const sp_pipeline *p);

/* Near-duplicate clusters found by clean stages, for the manifest and report. */
typedef struct sp_cluster_member {
    uint32_t cluster, source, sample;
    bool kept;
} sp_cluster_member;

/* The plan's estimate of a record's stored bytes (src/plan.c). */
uint64_t sp_plan_estimate(const sp_job *run, const sp_sink_plan *sp, const sp_record *r);

/* The report (src/report.c): OUTDIR/report.tsv and the summary on stderr. */
/* A sample a record stage dropped on purpose (phase "clean", "balance"): reported like a
 * skip, but never an error, so on_error = fail does not stop the run on it. */
int sp_report_drop(sp_job *run, const char *phase, uint32_t source, uint32_t sample, int code,
                   const char *detail);
int sp_report_cluster(sp_job *run, uint32_t cluster, uint32_t source, uint32_t sample,
                      bool kept);
int sp_report_write(sp_job *run, sp_error *err);
void sp_report_json(sp_buf *b, const sp_job *run);
void sp_report_log(sp_job *run);

/* Samples the decoder altered (src/altered.c), from their catalog facts
 * (sp_image_info.alterations): one row per sample and reason, for the samples a sink
 * writes that were not skipped, in catalog order. *rows is malloc'd. */
typedef struct sp_altered {
    uint32_t source, sample;
    const char *reason; /* exif_rotated, cmyk_converted, alpha_composited, ... */
    char detail[96];
} sp_altered;
int sp_altered_rows(const sp_job *run, sp_altered **rows, size_t *n);
/* The manifest's "altered" member (with its trailing comma); SP_E_NOMEM. */
int sp_altered_json(sp_buf *b, const sp_job *run);
void sp_altered_log(sp_job *run);

/* ---- per-thread scratch (src/scratch.c) -------------------------------------------- */

/* Memory a worker thread reuses across images: slot i is one buffer that grows to the
 * largest size asked of it. Owned by one thread at a time (a build keeps one per thread);
 * zero-initialised is empty. Nothing is kept in a slot between calls. */
enum {
    SP_SCRATCH_COEF_BOUNDS, /* resampling: first input pixel and count per output pixel */
    SP_SCRATCH_COEF_K,      /* resampling: fixed-point weights */
    SP_SCRATCH_COEF_PRE,    /* resampling: one window of weights in double */
    SP_SCRATCH_ACC,         /* resampling: a row of int32 accumulators */
    SP_SCRATCH_TMP,         /* resampling: the image between the two passes */
    SP_SCRATCH_COLS,        /* nearest: the source column of each output column */
    SP_SCRATCH_PREMUL,      /* resampling: the source premultiplied by its alpha */
    SP_SCRATCH_SLOTS
};
typedef struct sp_scratch {
    void *buf[SP_SCRATCH_SLOTS];
    size_t cap[SP_SCRATCH_SLOTS];
} sp_scratch;

/* At least `bytes` of slot `slot`, contents undefined; NULL when out of memory. */
void *sp_scratch_get(sp_scratch *s, int slot, size_t bytes);
void sp_scratch_free(sp_scratch *s); /* frees the buffers; s stays usable (empty) */
/* n zeroed scratches (one per thread), and their release. */
sp_scratch *sp_scratch_array_new(size_t n);
void sp_scratch_array_free(sp_scratch **a, size_t n);

/* sp_resample with the thread's scratch for its tables and intermediate image (NULL: a
 * scratch of its own, freed before it returns). Same pixels either way. */
int sp_resample_scratch(const sp_image *src, uint32_t dst_w, uint32_t dst_h, sp_filter filter,
                        sp_image *dst, sp_scratch *scratch, sp_error *err);
/* The sub-pixel box (x0, y0, x1, y1) of src resampled to dst_w x dst_h, as Pillow's
 * Image.resize(size, box=...): for a crop that a decoder delivered at reduced scale. */
int sp_resample_box(const sp_image *src, const double box[4], uint32_t dst_w, uint32_t dst_h,
                    sp_filter filter, sp_image *dst, sp_scratch *scratch, sp_error *err);

/* ---- crop-aware decoding (src/region.c, formats/jpeg.c) ---------------------------- */

/* Where a decoded part of an image sits: its first pixel (x, y) on the decoder's grid,
 * which is the full image scaled by scale/8 (8: full size; 4, 2, 1: JPEG DCT scaling). */
typedef struct sp_region {
    uint32_t x, y;
    uint32_t scale;
} sp_region;

/* When the chain's first stage crops and the sample is a JPEG, decodes only the box that
 * stage will read for this record (its draws replayed from the record's stream), scaled
 * down too when the stage resizes the box and shrink_on_load is on: *done and `at`, for
 * process_region. *done = false: not applicable, decode as usual. */
int sp_decode_region(const sp_pipeline *p, const sp_stage *first, const sp_sample *s,
                     const char *cls, uint32_t copy, const uint8_t *data, size_t len,
                     sp_image *img, sp_region *at, bool *done, sp_error *err);
/* The box (x, y, w, h) of a JPEG's full-size, upright image, decoded into out (RGB), at
 * scale/8 of the full size (1, 2, 4; 8 or anything else: full size): the pixels of the
 * decoder's grid that cover the box, placed as *where says. `cropped` decodes only what
 * the box needs (libjpeg-turbo's jpeg_crop_scanline and jpeg_skip_scanlines); else (and
 * for images that are not upright) the whole image is decoded at full size and the box
 * cut out. At full size the pixels are the same either way. */
int sp_jpeg_decode_region(const uint8_t *data, size_t len, const sp_limits *lim,
                          const uint32_t box[4], unsigned scale, bool cropped, sp_image *out,
                          sp_region *where, sp_error *err);
/* ---- resume, partitions, finish (src/resume.c, src/parts.c, src/depfile.c) ---------- */

/* A shard's slice hash covers everything its bytes depend on: its records in order, their
 * sources' content hashes and places, labels and classes, the effective options of every
 * stage of their chains (as sp_option_format writes them, so any new option counts), the
 * sink's options, the [run] options and the versions of shardpack and its codecs. A
 * finished shard's stamp (OUTDIR/.shardpack/stamps/SHARD.json) records its slice hash and
 * what the manifest needs of it, so a later build skips it and `finish` can merge the
 * parts' shards. */
int sp_resume_begin(sp_job *run); /* once per job; later calls do nothing */
/* A shard's slice hash in hex (what its stamp must match), without loading stamps. */
int sp_resume_slice_hex(sp_job *run, size_t sink, size_t shard, char hex[33]);
void sp_resume_free(sp_job *run);
/* Whether this process writes the shard (its part, its --shard list; every shard when the
 * build is whole). */
bool sp_resume_mine(const sp_job *run, size_t sink, size_t shard);
/* Whether the shard on disk is current: its stamp matches the slice and the files. */
bool sp_resume_current(const sp_job *run, size_t sink, size_t shard);
/* Whether this process will write any shard (else the manifest can stay). */
bool sp_resume_has_work(const sp_job *run);
/* Whether this process writes the whole output (not a part): it then finishes sinks and
 * clears every leftover. */
bool sp_resume_whole(const sp_job *run);
/* Takes a current shard's results from its stamp into the job, as if just built: skips,
 * stand-ins, the run's and the sink's class counts. */
int sp_resume_restore(sp_job *run, size_t sink, size_t shard);
/* A current shard asked for by name (make found it older than an input, e.g. after a
 * config edit that left its bytes alone): its mtime becomes now, and its stamp says so,
 * so make sees it up to date. Its bytes and inode stay. */
int sp_resume_touch(sp_job *run, size_t sink, size_t shard, size_t skips_from,
                    size_t substs_from);
/* Before (re)building a shard: its old stamp goes, so it cannot describe the new file. */
int sp_resume_forget(sp_job *run, size_t sink, size_t shard);
/* After building a shard: its stamp, with the skips the job noted from index skips_from
 * and the stand-ins from index substs_from (with what decided each choice). */
int sp_resume_stamp(sp_job *run, size_t sink, size_t shard, size_t skips_from,
                    size_t substs_from);
/* For make (src/depfile.c): the samples the stand-ins of the shard's stamp, current or
 * not, depend on beyond the shard's own records: the candidates the choice tries, up to
 * and including the stand-in. Calls fn for each (false: out of memory). No stamp, none. */
int sp_resume_standin_inputs(sp_job *run, sp_subst_pool *pool, size_t sink, size_t shard,
                             bool (*fn)(void *arg, uint32_t source, uint32_t sample), void *arg);
/* Whether a temporary file in the output folder belongs to this process: a whole build
 * owns every one named after a sink; a part only its own shards'. */
bool sp_resume_owns_tmp(const sp_job *run, const char *name);
/* A part's partial manifest (OUTDIR/.shardpack/parts/ID.json): the effective config and
 * the shards the part owns (src/parts.c). */
int sp_part_write(sp_job *run);
/* finish: every shard must have a current stamp (names the missing ones and their parts). */
int sp_parts_check(sp_job *run);
/* finish on a loaded pipeline: plan again, take every shard from its stamp, write the
 * manifest and the sink indexes (src/run.c). */
int sp_run_finish_job(sp_ctx *ctx, sp_pipeline *pipe, sp_summary *summary);
/* After a whole build: partial manifests of earlier split builds are stale. */
int sp_parts_clear(sp_job *run);
/* For make (src/depfile.c): the dependency file, and every shard's name on a line. */
int sp_depfile_write(sp_job *run, const char *path);
int sp_list_shards(sp_job *run, FILE *out);
/* The effective config as the manifest's "config" member (src/finish.c). */
void sp_manifest_config(sp_buf *b, const sp_pipeline *p);
/* The name of a temporary file for path, unique to this process: PATH.<hex>.tmp. */
char *sp_tmp_name(const char *path);
/* Writes only when the file's bytes differ, so a rerun that changes nothing leaves the
 * file (and its mtime) alone. */
int sp_write_file_if_changed(const char *path, const void *data, size_t len, sp_error *err);
/* Test hook (SHARDPACK_TEST_ENOSPC=NAME, documented in docs/design.md): the errno a write
 * of the output file NAME fails with, or 0. */
int sp_test_fault(const char *path);

#endif
