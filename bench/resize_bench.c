/*
 * Resize throughput, per filter: megapixels of input per second through sp_resample (the
 * kernel every resize in shardpack uses), shrinking a 2048x1536 RGB image to 256 on the
 * shorter side and enlarging a 512x384 one 2x. Printed as tab-separated rows for
 * bench/resize.sh, which puts Pillow's numbers for the same jobs beside them.
 *
 *   resize_bench [SECONDS_PER_ROW]
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A textured test image: smooth gradients plus a deterministic pattern. */
static void fill(sp_image *img)
{
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++) {
            uint8_t *p = img->data + (size_t)y * img->stride + (size_t)x * 3;
            p[0] = (uint8_t)(x * 255 / img->width);
            p[1] = (uint8_t)(y * 255 / img->height);
            p[2] = (uint8_t)((x * 7 + y * 13) ^ (x >> 3));
        }
}

static void row(const char *job, const sp_image *src, uint32_t w, uint32_t h, sp_filter f,
                const char *name, double budget)
{
    sp_error err;
    int n = 0;
    double start = now(), el;
    do {
        sp_image out = {0};
        if (sp_resample(src, w, h, f, &out, &err) != SP_OK) {
            fprintf(stderr, "resize_bench: %s\n", err.msg);
            exit(1);
        }
        sp_image_release(&out);
        n++;
        el = now() - start;
    } while (el < budget);
    double mp = (double)src->width * src->height / 1e6;
    printf("%s\t%s\t%.1f\n", job, name, mp * n / el);
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 1.0;
    sp_image big = {0}, small = {0};
    if (sp_image_alloc(&big, 2048, 1536, 3) != SP_OK || sp_image_alloc(&small, 512, 384, 3))
        return 1;
    fill(&big);
    fill(&small);
    for (const sp_enum_choice *c = sp_filter_choices; c->name; c++) {
        row("shrink 2048x1536 -> 341x256", &big, 341, 256, (sp_filter)c->value, c->name, budget);
        row("enlarge 512x384 -> 1024x768", &small, 1024, 768, (sp_filter)c->value, c->name,
            budget);
    }
    sp_image_release(&big);
    sp_image_release(&small);
    return 0;
}
