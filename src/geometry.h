/*
 * Helpers shared by the geometry stages (stages/pad.c, rotate.c, affine.c, ...): border
 * rules, padding, exact quarter turns and the bilinear warp. Not installed.
 *
 * Coordinates follow Pillow: pixel (x, y) covers [x, x + 1) × [y, y + 1), so its centre is
 * (x + 0.5, y + 0.5), and a transform maps an output centre to an input position.
 */
#ifndef SP_GEOMETRY_H
#define SP_GEOMETRY_H

#include "internal.h"

/* sp_border (how pixels outside the image are made up) is public: shardpack/ops.h. */

/* Every border rule (pad, random_crop), and those that make sense for a warp. */
extern const sp_enum_choice sp_border_choices[];
extern const sp_enum_choice sp_warp_border_choices[];

/* The `fill` option row, shared so every geometry stage documents it the same way. */
#define SP_FILL_OPTION(type)                                                                  \
    {"fill", "level of the pixels made up outside the image (every channel: 0 black, 255 "    \
             "white)",                                                                        \
     offsetof(type, fill), SP_OPT_INT, "0", 0, 255, NULL, 0}

/* The input index that stands for index i of an axis of n pixels under a non-constant
 * border rule. Any i, however far outside (reflection repeats). */
int64_t sp_border_index(int64_t i, int64_t n, sp_border mode);

/* src grown by l, t, r, b pixels on each side, the new pixels made by `mode`. */
int sp_pad_image(const sp_image *src, uint32_t l, uint32_t t, uint32_t r, uint32_t b,
                 sp_border mode, uint8_t fill, sp_image *dst, sp_error *err);

/* A w × h image whose pixel (i, j) is src's pixel (xmap[i], ymap[j]), or `fill` where
 * either index is negative. Runs of consecutive columns are copied whole. */
int sp_image_remap(const sp_image *src, const int64_t *xmap, uint32_t w, const int64_t *ymap,
                   uint32_t h, uint8_t fill, sp_image *dst, sp_error *err);

/* A borrowed window of img (no copy): valid while img is, never released. */
sp_image sp_image_window(const sp_image *img, uint32_t x, uint32_t y, uint32_t w, uint32_t h);

/* A copy of the w × h box at (x, y), which must lie inside src. */
int sp_image_copy_box(const sp_image *src, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                      sp_image *dst, sp_error *err);

/* src turned counter-clockwise by k quarter turns (k = 1, 2, 3), exactly. */
int sp_quarter_turn(const sp_image *src, int k, sp_image *dst, sp_error *err);

/* A w × h image whose pixel (x, y) is src sampled bilinearly at
 *   xin = (m[0] X + m[1] Y + m[2]) / D,  yin = (m[3] X + m[4] Y + m[5]) / D,
 * with X = x + 0.5, Y = y + 0.5 and D = m[6] X + m[7] Y + 1 (an affine map when m[6] and
 * m[7] are 0): Pillow's Image.transform convention. With SP_BORDER_CONSTANT a position
 * outside the image takes the fill and neighbours past the edge repeat it (as Pillow);
 * the other rules make up the neighbours with sp_border_index. */
int sp_warp(const sp_image *src, uint32_t w, uint32_t h, const double m[8], sp_border border,
            uint8_t fill, sp_image *dst, sp_error *err);

/* torchvision's _get_inverse_affine_matrix: the output -> input map of an affine transform
 * about the centre (cx, cy) in pixels, as C · RSS⁻¹ · C⁻¹ · T⁻¹ with RSS = rotation · scale ·
 * shear y · shear x. `angle` (clockwise, as torchvision's) and the shears are in degrees,
 * (tx, ty) in pixels. Fills m[0..7] for sp_warp (m[6] = m[7] = 0). Shared by affine and the
 * shear and translate ops of randaugment and trivialaugment. */
void sp_affine_inverse(double cx, double cy, double angle, double tx, double ty, double scale,
                       double shear_x, double shear_y, double m[8]);

/* For crop-aware decoding: img, the part of an image placed at `at` (full size), replaced
 * by the box (x, y, w, h) of that image, which it must hold. */
int sp_region_cut(const uint32_t box[4], const struct sp_region *at, sp_image *img,
                  sp_error *err);

/* Solves the n × n system a x = b in place (partial pivoting); 0 if it is singular. */
int sp_solve(double *a, double *b, int n);

#endif
