/*
 * Crop-aware decoding: when a record's chain opens with a crop (crop, random_crop,
 * random_resized_crop), the JPEG decoder decodes only the box the crop reads; and when
 * the stage resizes the box (random_resized_crop) and shrink_on_load is on, at a DCT
 * scale too, as shrink-on-load does for resize (then the pixels are close to, not equal
 * to, the full decode's: ctest crop_shrink_psnr).
 *
 * The box of a random crop depends on its draws and on the source size, both known before
 * any pixel is decoded: the draws come from the record's own stream (seed, stage, key,
 * copy), and the size from the catalog. So the stream is replayed here on a copy, without
 * notes, exactly as the build will run it (the p/apply draw first, then the stage's
 * region callback, which draws as its process does); the stage then runs on the box with
 * the real stream (process_region) and draws the same values again. Nothing about the
 * record changes but the work: at full size the pixels are those of the full decode
 * (formats/jpeg.c says why, and ctest crop_on_load_identical holds it).
 */
#include "internal.h"

/* The DCT scale (n/8) to decode a box at when the stage resizes it to need[]: as
 * shrink-on-load, the smallest that keeps at least twice the target in each dimension,
 * so the filtered resize that follows keeps its detail; 8 (full size) when the stage
 * keeps the box's pixels, shrink_on_load is off, or no scale leaves enough. */
static unsigned box_scale(const sp_pipeline *p, const uint32_t box[4], const uint32_t need[2])
{
    if (!p->run.shrink_on_load || !need[0] || !need[1]) return 8;
    for (unsigned n = 1; n < 8; n *= 2) {
        /* The decoder's pixels that lie wholly inside the box, the worst case. */
        uint64_t w = (uint64_t)box[2] * n / 8, h = (uint64_t)box[3] * n / 8;
        if (w >= 2 * (uint64_t)need[0] + 2 && h >= 2 * (uint64_t)need[1] + 2) return n;
    }
    return 8;
}

int sp_decode_region(const sp_pipeline *p, const sp_stage *first, const sp_sample *s,
                     const char *cls, uint32_t copy, const uint8_t *data, size_t len, sp_image *img,
                     sp_region *at, bool *done, sp_error *err)
{
    *done = false;
    if (!p->run.crop_on_load || s->format != &sp_format_jpeg || !first || !first->desc->region ||
        !first->desc->process_region)
        return SP_OK;
    const uint32_t W = s->info.width, H = s->info.height;
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, (uint64_t)p->run.seed, first->name, s->path, copy, NULL);
    pc.cls = cls;
    const sp_stage *v = sp_stage_for_class(first, cls);
    /* A random crop that does not act on this record reads the whole image. */
    if (!sp_pixel_applies(first->desc, v->p, v->apply, &pc)) return SP_OK;
    uint32_t box[4], need[2] = {0, 0};
    if (!first->desc->region(v->opts, W, H, &pc, box, need)) return SP_OK;
    if (box[2] == 0 || box[3] == 0 || (uint64_t)box[0] + box[2] > W ||
        (uint64_t)box[1] + box[3] > H || ((uint64_t)box[2] * box[3] == (uint64_t)W * H))
        return SP_OK; /* the whole image (or a box the decoder could not serve) */
    int rc = sp_jpeg_decode_region(data, len, &p->limits, box, box_scale(p, box, need), true, img,
                                   at, err);
    if (rc != SP_OK) return rc;
    *done = true;
    return SP_OK;
}
