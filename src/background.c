/*
 * [run] background: the colour transparent pixels are composited on when an image is
 * normalised to RGB. White by default (what a transparent icon looks like in a browser,
 * and what keeps dark-on-transparent line art readable); `none` drops the alpha and keeps
 * the colour values underneath, which is what Pillow's `.convert("RGB")` gives; `keep`
 * composites nothing and makes every image RGBA (src/plan.c refuses it for a sink that
 * stores JPEG, which has no alpha).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int sp_background_parse(const char *text, uint32_t *out, sp_error *err)
{
    *out = 0;
    if (!text || !*text || !strcmp(text, "white")) return SP_OK; /* 0: the default */
    if (!strcmp(text, "black")) {
        *out = SP_BG_SET;
        return SP_OK;
    }
    if (!strcmp(text, "none")) {
        *out = SP_BG_DROP;
        return SP_OK;
    }
    if (!strcmp(text, "keep")) {
        *out = SP_BG_KEEP;
        return SP_OK;
    }
    uint32_t rgb = 0;
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        char *end;
        while (*p == ' ') p++;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 255) break;
        rgb = rgb << 8 | (uint32_t)v;
        while (*end == ' ') end++;
        if (i < 2 && *end != ',') break;
        if (i == 2 && *end) break;
        if (i == 2) {
            *out = SP_BG_SET | rgb;
            return SP_OK;
        }
        p = end + 1;
    }
    return sp_fail(err, SP_E_CONFIG,
                   "'%s' is not a background: expected white, black, none, keep or R,G,B (0-255)",
                   text);
}
