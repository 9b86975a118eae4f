/*
 * The per-record side of a pixel stage: its random stream and the notes of what it drew
 * (shardpack/stage.h). A stage never sees a shared generator, only its own counter-based
 * stream keyed by (seed, stage instance, sample, copy), so what it draws cannot depend on
 * the thread that runs it or on the records around it.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

void sp_pixel_ctx_init(sp_pixel_ctx *pc, uint64_t seed, const char *stage, const char *key,
                       uint32_t copy, sp_buf *notes)
{
    memset(pc, 0, sizeof(*pc));
    pc->rng = sp_rng_for(seed, stage, key, copy);
    pc->seed = seed;
    pc->copy = copy;
    pc->key = key;
    pc->notes = notes;
}

bool sp_pixel_applies(const sp_stage_desc *d, double p, int apply, sp_pixel_ctx *pc)
{
    if (!(d->flags & SP_PIXEL_RANDOM)) return true;
    if (apply == SP_APPLY_COPIES && pc->copy == 0) return false;
    /* The draw is taken even when p is 0 or 1, so the op's own draws do not shift when
     * a user tunes p. */
    double u = sp_rng_uniform(&pc->rng);
    return u < p;
}

uint64_t sp_px_u64(sp_pixel_ctx *pc)
{
    return sp_rng_u64(&pc->rng);
}

double sp_px_uniform(sp_pixel_ctx *pc)
{
    return sp_rng_uniform(&pc->rng);
}

double sp_px_range(sp_pixel_ctx *pc, double lo, double hi)
{
    return lo + (hi - lo) * sp_rng_uniform(&pc->rng);
}

int64_t sp_px_int(sp_pixel_ctx *pc, int64_t lo, int64_t hi)
{
    int64_t v = lo + (int64_t)floor(sp_rng_uniform(&pc->rng) * (double)(hi - lo));
    return v < hi ? v : hi - 1; /* u * n can round up to n */
}

uint32_t sp_px_copy(const sp_pixel_ctx *pc)
{
    return pc->copy;
}

const char *sp_px_key(const sp_pixel_ctx *pc)
{
    return pc->key;
}

static void note_name(sp_pixel_ctx *pc, const char *name)
{
    if (pc->noted) sp_buf_puts(pc->notes, ", ");
    pc->noted = true;
    sp_json_str(pc->notes, name);
    sp_buf_puts(pc->notes, ": ");
}

void sp_px_note(sp_pixel_ctx *pc, const char *name, double value)
{
    if (!pc->notes) return;
    note_name(pc, name);
    if (!isfinite(value)) {
        sp_buf_puts(pc->notes, "null");
        return;
    }
    /* For reading, not for replaying (replay draws again from the same stream): ten
     * significant digits, integers without a fraction. */
    if (value == floor(value) && fabs(value) < 9007199254740992.0)
        sp_buf_printf(pc->notes, "%.0f", value);
    else
        sp_buf_printf(pc->notes, "%.10g", value);
}

void sp_px_note_str(sp_pixel_ctx *pc, const char *name, const char *value)
{
    if (!pc->notes) return;
    note_name(pc, name);
    sp_json_str(pc->notes, value ? value : "");
}

int sp_pixel_run_member(sp_pixel_ctx *group, const sp_stage *member, sp_image *img,
                        sp_error *err)
{
    sp_buf params = {0};
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, group->seed, member->name, group->key, group->copy,
                      group->notes ? &params : NULL);
    pc.cls = group->cls;
    pc.scratch = group->scratch;
    const sp_stage *v = sp_stage_for_class(member, group->cls);
    /* Inside a group the group decides which records it acts on; a member keeps its p.
     * A member run whose p did not fire is noted too, so a record says which member a
     * one_of picked even when that member then did nothing. */
    if (!sp_pixel_applies(member->desc, v->p, SP_APPLY_ALL, &pc)) {
        if (group->notes) {
            note_name(group, member->name);
            sp_buf_puts(group->notes, "{\"acted\": 0}");
        }
        return SP_OK;
    }
    int rc = member->desc->process(v->opts, img, &pc, err);
    if (rc == SP_OK && group->notes) {
        note_name(group, member->name);
        sp_buf_puts(group->notes, "{");
        if (params.len) sp_buf_append(group->notes, params.data, params.len);
        sp_buf_puts(group->notes, "}");
    }
    sp_buf_free(&params);
    return rc;
}
