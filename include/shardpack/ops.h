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

/* How pixels outside the image are made up (`padding_mode`, `border`). */
typedef enum sp_border {
    SP_BORDER_CONSTANT,  /* the `fill` level */
    SP_BORDER_EDGE,      /* the nearest edge pixel, repeated */
    SP_BORDER_REFLECT,   /* mirrored about the edge pixel: c b | a b c (numpy "reflect") */
    SP_BORDER_SYMMETRIC, /* mirrored about the edge: b a | a b c (numpy "symmetric") */
} sp_border;

/* `fill` fields are one level for every channel: 0 black, 255 white. */

typedef enum sp_resize_mode {
    SP_RESIZE_SHORTER, /* shorter side = size (torchvision Resize(int)) */
    SP_RESIZE_LONGER,  /* longer side = size */
    SP_RESIZE_EXACT,   /* width × height, aspect ratio not kept */
    SP_RESIZE_FIT,     /* inside width × height, then centred on a fill background */
} sp_resize_mode;

typedef struct sp_resize_opts {
    int64_t size;
    int filter; /* sp_filter */
    int mode;   /* sp_resize_mode */
    int64_t width, height; /* exact and fit */
    int64_t fill;          /* fit: the letterbox bars */
} sp_resize_opts;

typedef struct sp_crop_opts {
    int64_t width, height;
} sp_crop_opts;

typedef struct sp_pad_opts {
    int64_t all;                      /* every side */
    int64_t left, top, right, bottom; /* -1: as `all` */
    int mode;                         /* sp_border */
    int64_t fill;
} sp_pad_opts;

typedef struct sp_random_crop_opts {
    int64_t width, height;
    int64_t padding;    /* added on every side first */
    bool pad_if_needed; /* pad a side shorter than the crop (else the sample is rejected) */
    int padding_mode;   /* sp_border */
    int64_t fill;
} sp_random_crop_opts;

typedef struct sp_random_resized_crop_opts {
    int64_t width, height;
    double scale_min, scale_max; /* of the area */
    double ratio_min, ratio_max; /* width / height, drawn log-uniformly */
    int filter;                  /* sp_filter */
} sp_random_resized_crop_opts;

/* hflip and vflip have no options of their own (only `p` and `apply`). */

enum { SP_ROT90_RANDOM = 0 }; /* otherwise k = 1, 2, 3 quarter turns counter-clockwise */
typedef struct sp_rot90_opts {
    int k;
} sp_rot90_opts;

typedef struct sp_rotate_opts {
    double min, max; /* degrees, counter-clockwise */
    bool expand;     /* grow the output to hold the whole turned image */
    int border;      /* sp_border: constant, edge or reflect */
    int64_t fill;
} sp_rotate_opts;

typedef struct sp_affine_opts {
    double degrees;                  /* rotation in [-degrees, degrees], counter-clockwise */
    double translate_x, translate_y; /* shift by at most this fraction of width / height */
    double scale_min, scale_max;
    double shear_x, shear_y;         /* shear angles in [-shear, shear] degrees */
    int64_t fill;
} sp_affine_opts;

typedef struct sp_perspective_opts {
    double distortion_scale; /* how far corners may move, as a fraction of half the side */
    int64_t fill;
} sp_perspective_opts;

/* ---- photometric -------------------------------------------------------------------- */

/* Ranges are [x_min, x_max]; a value is drawn uniformly in it per record (min = max makes
 * the stage deterministic). Factors follow Pillow's ImageEnhance: 1 is the identity. */

/* ColorJitter: each non-zero x gives factors in [max(0, 1 - x), 1 + x]; hue shifts in
 * [-hue, hue] (fractions of the colour circle). */
typedef struct sp_color_jitter_opts {
    double brightness, contrast, saturation, hue;
} sp_color_jitter_opts;

typedef struct sp_brightness_opts {
    double factor_min, factor_max;
} sp_brightness_opts;

typedef struct sp_contrast_opts {
    double factor_min, factor_max;
} sp_contrast_opts;

typedef struct sp_saturation_opts {
    double factor_min, factor_max;
} sp_saturation_opts;

typedef struct sp_hue_opts {
    double shift_min, shift_max; /* fractions of the colour circle, -0.5..0.5 */
} sp_hue_opts;

typedef struct sp_gamma_opts {
    double gamma_min, gamma_max;
    double gain_min, gain_max;
} sp_gamma_opts;

typedef struct sp_grayscale_opts {
    int channels; /* 1 or 3 */
} sp_grayscale_opts;

typedef struct sp_autocontrast_opts {
    double cutoff; /* percent of samples ignored at each end of each histogram */
} sp_autocontrast_opts;

typedef struct sp_posterize_opts {
    int64_t bits; /* 1..8 bits kept per channel */
} sp_posterize_opts;

typedef struct sp_solarize_opts {
    int64_t threshold; /* values >= threshold are inverted */
} sp_solarize_opts;

typedef struct sp_noise_opts {
    double sigma_min, sigma_max; /* in levels of 0..255 */
    bool per_channel;            /* false: one draw per pixel, the same for every channel */
} sp_noise_opts;

typedef struct sp_blur_opts {
    double sigma_min, sigma_max; /* in pixels */
} sp_blur_opts;

typedef struct sp_sharpen_opts {
    double factor_min, factor_max;
} sp_sharpen_opts;

typedef struct sp_jpeg_opts {
    int64_t quality_min, quality_max;
    int subsampling; /* 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0 */
} sp_jpeg_opts;

/* Fill of an erased box. */
typedef enum sp_erase_fill { SP_ERASE_CONSTANT, SP_ERASE_RANDOM } sp_erase_fill;

typedef struct sp_erase_opts {
    double scale_min, scale_max; /* erased area as a fraction of the image */
    double ratio_min, ratio_max; /* box height / width */
    int fill;                    /* sp_erase_fill */
    int64_t value;               /* the level of a constant fill */
} sp_erase_opts;

/* ---- policies ---------------------------------------------------------------------- */

/* torchvision's RandAugment: num_ops ops, each at bin `magnitude` of num_magnitude_bins. */
typedef struct sp_randaugment_opts {
    int64_t num_ops;
    int64_t magnitude; /* < num_magnitude_bins */
    int64_t num_magnitude_bins;
    int64_t fill; /* what the geometric ops uncover */
} sp_randaugment_opts;

/* torchvision's TrivialAugmentWide: one op at a random bin. */
typedef struct sp_trivialaugment_opts {
    int64_t num_magnitude_bins;
    int64_t fill;
} sp_trivialaugment_opts;

/* ---- output ------------------------------------------------------------------------- */

/* Fills opts (opts_size bytes, the stage's struct) with the stage's defaults. Strings in
 * it are malloc'd: release them with sp_op_defaults_free. */
int sp_op_defaults(const char *type, void *opts, size_t opts_size);
void sp_op_defaults_free(const char *type, void *opts);

#ifdef __cplusplus
}
#endif
#endif
