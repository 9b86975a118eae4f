/*
 * perspective — a random perspective distortion, as torchvision's RandomPerspective: each
 * corner moves inwards by up to distortion_scale × half the side, and the image is warped
 * so the corners land there (bilinear, `fill` outside).
 *
 *   [perspective]
 *   distortion_scale = 0.5
 *   p = 0.5
 *
 * Draws, in torchvision's order, the new corners top-left, top-right, bottom-right,
 * bottom-left (x then y), each an integer uniform in its range; noted as tl_x, tl_y, ...
 * The 8 coefficients of the map from output to input (Pillow's PERSPECTIVE transform) come
 * from the 8 × 8 linear system of the four corner pairs, solved by Gaussian elimination.
 */
#include "geometry.h"

#include <math.h>

typedef sp_perspective_opts perspective_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(perspective_opts, f)
static const sp_option perspective_options[] = {
    {"distortion_scale", "how far a corner may move in, as a fraction of half the side",
     OFF(distortion_scale), SP_OPT_DOUBLE, "0.5", 0, 1, NULL, 0},
    SP_FILL_OPTION(perspective_opts),
    SP_OPT_END,
};

/* Coefficients c such that a point (x, y) of `to` maps to its partner in `from`:
 *   X = (c0 x + c1 y + c2) / (c6 x + c7 y + 1),  Y = (c3 x + c4 y + c5) / (...). */
static int homography(const double to[4][2], const double from[4][2], double c[8])
{
    double a[64];
    for (int i = 0; i < 4; i++) {
        const double x = to[i][0], y = to[i][1], X = from[i][0], Y = from[i][1];
        const double r0[8] = {x, y, 1, 0, 0, 0, -X * x, -X * y};
        const double r1[8] = {0, 0, 0, x, y, 1, -Y * x, -Y * y};
        for (int j = 0; j < 8; j++) {
            a[(2 * i) * 8 + j] = r0[j];
            a[(2 * i + 1) * 8 + j] = r1[j];
        }
        c[2 * i] = X;
        c[2 * i + 1] = Y;
    }
    return sp_solve(a, c, 8);
}

static int perspective_process(const void *opts, sp_image *img, sp_pixel_ctx *pc,
                               sp_error *err)
{
    const perspective_opts *o = opts;
    const int64_t W = img->width, H = img->height;
    const int64_t dx = (int64_t)(o->distortion_scale * (double)(W / 2));
    const int64_t dy = (int64_t)(o->distortion_scale * (double)(H / 2));
    double end[4][2];
    end[0][0] = (double)sp_px_int(pc, 0, dx + 1); /* top-left */
    end[0][1] = (double)sp_px_int(pc, 0, dy + 1);
    end[1][0] = (double)sp_px_int(pc, W - dx - 1, W); /* top-right */
    end[1][1] = (double)sp_px_int(pc, 0, dy + 1);
    end[2][0] = (double)sp_px_int(pc, W - dx - 1, W); /* bottom-right */
    end[2][1] = (double)sp_px_int(pc, H - dy - 1, H);
    end[3][0] = (double)sp_px_int(pc, 0, dx + 1); /* bottom-left */
    end[3][1] = (double)sp_px_int(pc, H - dy - 1, H);
    static const char *const names[4][2] = {
        {"tl_x", "tl_y"}, {"tr_x", "tr_y"}, {"br_x", "br_y"}, {"bl_x", "bl_y"}};
    for (int i = 0; i < 4; i++) {
        sp_px_note(pc, names[i][0], end[i][0]);
        sp_px_note(pc, names[i][1], end[i][1]);
    }
    const double start[4][2] = {{0, 0}, {W - 1, 0}, {W - 1, H - 1}, {0, H - 1}};
    double m[8];
    /* A degenerate quad (a 1-pixel side) leaves the image as it is. */
    if (!homography(end, start, m)) return SP_OK;
    sp_image out = {0};
    int rc = sp_warp(img, img->width, img->height, m, SP_BORDER_CONSTANT, (uint8_t)o->fill, &out,
                     err);
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

const sp_stage_desc sp_stage_perspective = {
    .name = "perspective",
    .help = "random perspective distortion of the corners, as torchvision's "
            "RandomPerspective (random: p, apply)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(perspective_opts),
    .options = perspective_options,
    .process = perspective_process,
};
