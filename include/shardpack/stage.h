/*
 * Extending shardpack: option tables, pixel stages and image formats.
 *
 * A stage is declared once, as a table: its name, one line of help, and its options (name,
 * type, default, range, help). The same table drives INI parsing, validation, `shardpack
 * stages`, the docs, and the direct-call API below. An embedding program declares its own
 * pixel stage the same way and registers it on a context:
 *
 *   typedef struct swap_opts { int64_t order; } swap_opts;
 *   static const sp_option swap_options[] = {
 *       {"order", "...", offsetof(swap_opts, order), SP_OPT_INT, "0", 0, 5, NULL, 0},
 *       SP_OPT_END,
 *   };
 *   static int swap(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err) {...}
 *   static const sp_pixel_stage swap_stage = {"swap", "swap colour channels",
 *                                             sizeof(swap_opts), swap_options, 0, swap, NULL};
 *   sp_ctx_register_stage(ctx, &swap_stage);   // then [swap] works in pipeline.ini
 *
 * Ownership: registered descriptors and their tables are borrowed and must outlive the
 * context (static storage is the usual choice). Pipelines loaded on a context borrow its
 * registrations: free them before the context.
 */
#ifndef SHARDPACK_STAGE_H
#define SHARDPACK_STAGE_H

#include "shardpack/image.h"
#include "shardpack/shardpack.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- option tables ------------------------------------------------------------------ */

typedef enum sp_opt_type {
    SP_OPT_INT,    /* int64_t */
    SP_OPT_DOUBLE, /* double */
    SP_OPT_BOOL,   /* bool: true/false/yes/no/on/off/1/0 */
    SP_OPT_STRING, /* char * (malloc'd; freed with the options) */
    SP_OPT_ENUM,   /* int, one of choices */
    SP_OPT_SIZE,   /* uint64_t bytes, with optional K/M/G/T suffix (powers of 1024) */
    SP_OPT_FLAGS,  /* unsigned: a comma-separated set of choices, OR-ed (values are bits) */
} sp_opt_type;

typedef struct sp_enum_choice {
    int value;
    const char *name;
    const char *help;
} sp_enum_choice;

#define SP_OPT_REQUIRED 1u

/* One row of an option table. `def` is parsed by the same code as user values, so a table
 * cannot hold a default its own validation would reject. */
typedef struct sp_option {
    const char *name;
    const char *help;
    size_t offset; /* into the stage's options struct */
    sp_opt_type type;
    const char *def; /* NULL: no default (then usually SP_OPT_REQUIRED) */
    double min, max; /* for INT, DOUBLE, SIZE; min > max means unbounded */
    const sp_enum_choice *choices; /* for ENUM and FLAGS, ends with {0, NULL, NULL} */
    unsigned flags;
} sp_option;

#define SP_OPT_END {NULL, NULL, 0, SP_OPT_INT, NULL, 0, 0, NULL, 0}

/* ---- pixel stages ------------------------------------------------------------------- */

/* What a pixel stage sees of the record it works on: its random stream and a place to
 * note the parameters it drew (they go into the record's .json, so a sample can be
 * explained and replayed). Every draw is a pure function of (seed, stage instance, source
 * sample, copy number): the same at any thread count and on any machine. */
typedef struct sp_pixel_ctx sp_pixel_ctx;

uint64_t sp_px_u64(sp_pixel_ctx *pc);
double sp_px_uniform(sp_pixel_ctx *pc);                    /* [0, 1) */
double sp_px_range(sp_pixel_ctx *pc, double lo, double hi); /* [lo, hi) */
/* 0 for the sample as it is; 1, 2, ... for the copies a balance stage asks for. */
uint32_t sp_px_copy(const sp_pixel_ctx *pc);
/* The source sample's path: the key every draw is derived from. */
const char *sp_px_key(const sp_pixel_ctx *pc);
/* Records a drawn parameter under the stage's entry in the record's .json. */
void sp_px_note(sp_pixel_ctx *pc, const char *name, double value);
void sp_px_note_str(sp_pixel_ctx *pc, const char *name, const char *value);

/* A random stage (an augmentation): it gets two more options, `p` (the probability that it
 * applies, drawn first from its stream) and `apply` (`copies`: only to copies >= 1, so copy
 * 0 stays the plain sample; `all`: to every record). */
#define SP_PIXEL_RANDOM 1u

typedef struct sp_pixel_stage {
    const char *name;
    const char *help;
    size_t opts_size;
    const sp_option *options;
    unsigned flags; /* SP_PIXEL_* */
    /* Transforms img in place (replace it with sp_image_move). Fails with a code from
     * sp_status and a message in err; SP_E_LIMIT and SP_E_CORRUPT reject the sample. */
    int (*process)(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err);
    /* Optional: the output size for an input size (resize, crop), so planning can estimate
     * shard sizes and check fixed shapes. Set both to 0 when the size depends on the
     * draws. Without it, the stage is taken to keep the size. */
    void (*out_size)(const void *opts, uint32_t *w, uint32_t *h);
} sp_pixel_stage;

/* Adds a pixel stage to the context: pipelines loaded on it can use [name] sections.
 * Fails with SP_E_USAGE if the name is taken or the table is malformed. */
int sp_ctx_register_stage(sp_ctx *ctx, const sp_pixel_stage *stage);

/* ---- image formats ------------------------------------------------------------------ */

/* Limits for untrusted input, from [run]. */
typedef struct sp_limits {
    uint64_t max_pixels;     /* width × height of one image */
    uint64_t max_file_bytes; /* one input file or member */
    uint32_t max_dimension;  /* width or height */
    uint32_t max_scans;      /* progressive JPEG scans */
    /* Not a limit but a decoding choice every codec needs: what transparent pixels are
     * composited on. 0 = white; 0x01RRGGBB = that colour; 0x02000000 = drop the alpha. */
    uint32_t background;
    /* Containers (archives, manifests); 0 means no limit. */
    uint64_t max_members;        /* entries of one archive source, nested ones included */
    uint32_t max_nesting;        /* archives inside archives (1: a tar of tars) */
    uint32_t max_line_bytes;     /* one row of a CSV/TSV manifest */
    uint32_t max_ratio;          /* bytes unpacked per byte of an archive file */
    uint64_t max_unpacked_bytes; /* compressed members one archive source holds in memory */
} sp_limits;

/* What decoding to 8-bit RGB changes in a sample's pixels beyond the layout (gray
 * replicated, palette expanded and interlacing undone change nothing): bits of
 * sp_image_info.alterations, known from the header, so the build's report can list every
 * sample the decoder altered without decoding it again. */
#define SP_ALTER_ORIENTED 0x01u /* turned upright by EXIF orientation (in `orientation`) */
#define SP_ALTER_CMYK 0x02u     /* CMYK colour converted to RGB */
#define SP_ALTER_YCCK 0x04u     /* YCCK colour converted to RGB */
#define SP_ALTER_ALPHA 0x08u    /* has alpha (a channel or tRNS): composited or dropped */
#define SP_ALTER_DEPTH 0x10u    /* samples of 0..maxval, not 0..255, scaled (in `maxval`) */

typedef struct sp_image_info {
    uint32_t width, height;
    uint32_t channels; /* as stored: 1 gray, 2 gray+alpha, 3 colour, 4 colour+alpha/CMYK */
    /* Filled by the header function; a codec that leaves them 0 reports no alteration. */
    uint32_t alterations; /* SP_ALTER_* */
    uint16_t orientation; /* EXIF orientation 1..8 (0 or 1: none) */
    uint16_t maxval;      /* largest stored sample value when it is not 255 (0: 255) */
} sp_image_info;

struct sp_encode_opts;

/* An image codec. Reading is three steps: probe (score a bounded peek), header (cheap
 * facts), decode (the pixels). Buffers belong to the caller. */
typedef struct sp_format {
    const char *name;      /* "jpeg" */
    const char *extension; /* "jpg": the field name in a WebDataset sample */
    const char *help;
    /* 0 = not this format, 100 = certain. Sees at most SP_PROBE_BYTES. */
    int (*probe)(const uint8_t *data, size_t len);
    int (*header)(const uint8_t *data, size_t len, const sp_limits *lim, sp_image_info *info,
                  sp_error *err);
    /* Decodes to 8-bit RGB (channels = 3): gray, palette, 16-bit and alpha normalised. */
    int (*decode)(const uint8_t *data, size_t len, const sp_limits *lim, sp_image *out,
                  sp_error *err);
    /* Optional: decodes at a reduced size when the format makes that cheaper than a full
     * decode (JPEG's DCT scaling): the result is at least min_w x min_h, or full size. */
    int (*decode_scaled)(const uint8_t *data, size_t len, const sp_limits *lim, uint32_t min_w,
                         uint32_t min_h, sp_image *out, sp_error *err);
    /* Encodes; *out is malloc'd. NULL for formats that are only read (embedders: NULL). */
    int (*encode)(const sp_image *img, const struct sp_encode_opts *o, uint8_t **out,
                  size_t *len, sp_error *err);
} sp_format;

#define SP_PROBE_BYTES 64

/* Adds an input format: the scan probes it beside the built-in ones (the highest score
 * wins; built-ins win ties). Fails with SP_E_USAGE if the name is taken. */
int sp_ctx_register_format(sp_ctx *ctx, const sp_format *format);

/* ---- calling a pixel stage directly ------------------------------------------------- */

/* A configured pixel stage, for use outside a pipeline. */
typedef struct sp_op sp_op;

/* Options as "key=value" strings, checked by the stage's table exactly as in a config.
 * On error the message (sp_errmsg) names the option and the accepted values. */
int sp_op_new(sp_ctx *ctx, const char *type, const char *const *options, size_t n,
              sp_op **out);
/* Options as the stage's typed struct (see shardpack/ops.h), checked against the same
 * table's ranges and choices; strings in it are copied. */
int sp_op_new_struct(sp_ctx *ctx, const char *type, const void *opts, size_t opts_size,
                     sp_op **out);
/* For random stages: `p` and `apply` as in a config (defaults 1 and "all" here). */
int sp_op_set_probability(sp_op *op, double p);
/* Runs the stage on img, drawing from (seed, key, copy) exactly as a build would. An op
 * keeps the last draws and working memory it reuses from one call to the next, so one op
 * is used by one thread at a time: make an op per thread. */
int sp_op_apply(sp_op *op, sp_image *img, uint64_t seed, const char *key, uint32_t copy);
/* The parameters the last apply drew, as a JSON object (borrowed, valid until the next
 * call on op). */
const char *sp_op_params(const sp_op *op);
void sp_op_free(sp_op **op);

#ifdef __cplusplus
}
#endif
#endif
