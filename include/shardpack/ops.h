/*
 * Typed options of the built-in pixel stages, for sp_op_new_struct() (shardpack/stage.h).
 *
 * Each struct is the very struct the stage's option table describes (stages/NAME.c), so a
 * field here is an option in pipeline.ini with the same name, range and default; `shardpack
 * stages` documents them. Start from sp_op_defaults() to get every default filled in, then
 * set what you need:
 *
 *   sp_resize_opts o;
 *   sp_op_defaults("resize", &o, sizeof(o));
 *   o.size = 128;
 *   sp_op *op;
 *   sp_op_new_struct(ctx, "resize", &o, sizeof(o), &op);
 *
 * Enum fields hold the values listed with them. String fields are copied by
 * sp_op_new_struct; the struct stays the caller's.
 */
#ifndef SHARDPACK_OPS_H
#define SHARDPACK_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Resampling filters (the `filter` options). */
typedef enum sp_filter {
    SP_FILTER_NEAREST,
    SP_FILTER_BILINEAR,
    SP_FILTER_BICUBIC,
    SP_FILTER_LANCZOS3,
    SP_FILTER_AREA,
} sp_filter;

/* ---- geometry ----------------------------------------------------------------------- */

typedef struct sp_resize_opts {
    int64_t size;
    int filter; /* sp_filter */
} sp_resize_opts;

typedef struct sp_crop_opts {
    int64_t width, height;
} sp_crop_opts;

/* ---- photometric -------------------------------------------------------------------- */

/* ---- output ------------------------------------------------------------------------- */

/* Fills opts (opts_size bytes, the stage's struct) with the stage's defaults. Strings in
 * it are malloc'd: release them with sp_op_defaults_free. */
int sp_op_defaults(const char *type, void *opts, size_t opts_size);
void sp_op_defaults_free(const char *type, void *opts);

#ifdef __cplusplus
}
#endif
#endif
