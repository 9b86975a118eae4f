/*
 * Crop-aware decoding: when a record's chain opens with a crop (crop, random_crop,
 * random_resized_crop), the JPEG decoder decodes only the box the crop reads.
 *
 * The box of a random crop depends on its draws and on the source size, both known before
 * any pixel is decoded: the draws come from the record's own stream (seed, stage, key,
 * copy), and the size from the catalog. So the stream is replayed here on a copy, without
 * notes, exactly as the build will run it (the p/apply draw first, then the stage's
 * region callback, which draws as its process does); the stage then runs on the box with
 * the real stream (process_region) and draws the same values again. Nothing about the
 * record changes but the work: the pixels are those of the full decode (formats/jpeg.c
 * says why, and ctest crop_on_load_identical holds it).
 */
#include "internal.h"

int sp_decode_region(const sp_pipeline *p, const sp_stage *first, const sp_sample *s,
                     const char *cls, uint32_t copy, const uint8_t *data, size_t len,
                     sp_image *img, uint32_t at[2], bool *done, sp_error *err)
{
    *done = false;
    if (!p->run.crop_on_load || s->format != &sp_format_jpeg || !first ||
        !first->desc->region || !first->desc->process_region)
        return SP_OK;
    const uint32_t W = s->info.width, H = s->info.height;
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, (uint64_t)p->run.seed, first->name, s->path, copy, NULL);
    pc.cls = cls;
    const sp_stage *v = sp_stage_for_class(first, cls);
    /* A random crop that does not act on this record reads the whole image. */
    if (!sp_pixel_applies(first->desc, v->p, v->apply, &pc)) return SP_OK;
    uint32_t box[4];
    if (!first->desc->region(v->opts, W, H, &pc, box)) return SP_OK;
    if (box[2] == 0 || box[3] == 0 || (uint64_t)box[0] + box[2] > W ||
        (uint64_t)box[1] + box[3] > H || ((uint64_t)box[2] * box[3] == (uint64_t)W * H))
        return SP_OK; /* the whole image (or a box the decoder could not serve) */
    int rc = sp_jpeg_decode_region(data, len, &p->limits, box, true, img, err);
    if (rc != SP_OK) return rc;
    at[0] = box[0];
    at[1] = box[1];
    *done = true;
    return SP_OK;
}
