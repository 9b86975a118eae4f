/*
 * A 5x7 bitmap font for labels on contact sheets (shardpack preview): digits, letters
 * (lowercase drawn as capitals) and a few marks. Small enough to keep by hand; a text
 * library would be a heavy dependency for one line of text per row.
 */
#include "internal.h"

#include <string.h>

/* Seven rows per glyph, five bits per row, most significant bit on the left. */
typedef struct glyph {
    char c;
    uint8_t rows[7];
} glyph;

static const glyph glyphs[] = {
    {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},
    {'2', {14, 17, 1, 2, 4, 8, 31}},     {'3', {31, 2, 4, 2, 1, 17, 14}},
    {'4', {2, 6, 10, 18, 31, 2, 2}},     {'5', {31, 16, 30, 1, 1, 17, 14}},
    {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},
    {'8', {14, 17, 17, 14, 17, 17, 14}}, {'9', {14, 17, 17, 15, 1, 2, 12}},
    {'A', {14, 17, 17, 31, 17, 17, 17}}, {'B', {30, 17, 17, 30, 17, 17, 30}},
    {'C', {14, 17, 16, 16, 16, 17, 14}}, {'D', {28, 18, 17, 17, 17, 18, 28}},
    {'E', {31, 16, 16, 30, 16, 16, 31}}, {'F', {31, 16, 16, 30, 16, 16, 16}},
    {'G', {14, 17, 16, 23, 17, 17, 15}}, {'H', {17, 17, 17, 31, 17, 17, 17}},
    {'I', {14, 4, 4, 4, 4, 4, 14}},      {'J', {7, 2, 2, 2, 2, 18, 12}},
    {'K', {17, 18, 20, 24, 20, 18, 17}}, {'L', {16, 16, 16, 16, 16, 16, 31}},
    {'M', {17, 27, 21, 21, 17, 17, 17}}, {'N', {17, 17, 25, 21, 19, 17, 17}},
    {'O', {14, 17, 17, 17, 17, 17, 14}}, {'P', {30, 17, 17, 30, 16, 16, 16}},
    {'Q', {14, 17, 17, 17, 21, 18, 13}}, {'R', {30, 17, 17, 30, 20, 18, 17}},
    {'S', {15, 16, 16, 14, 1, 1, 30}},   {'T', {31, 4, 4, 4, 4, 4, 4}},
    {'U', {17, 17, 17, 17, 17, 17, 14}}, {'V', {17, 17, 17, 17, 17, 10, 4}},
    {'W', {17, 17, 17, 21, 21, 21, 10}}, {'X', {17, 17, 10, 4, 10, 17, 17}},
    {'Y', {17, 17, 17, 10, 4, 4, 4}},    {'Z', {31, 1, 2, 4, 8, 16, 31}},
    {'-', {0, 0, 0, 31, 0, 0, 0}},       {'_', {0, 0, 0, 0, 0, 0, 31}},
    {'.', {0, 0, 0, 0, 0, 12, 12}},      {':', {0, 12, 12, 0, 12, 12, 0}},
    {'/', {0, 1, 2, 4, 8, 16, 0}},       {'#', {10, 10, 31, 10, 31, 10, 10}},
    {'(', {2, 4, 8, 8, 8, 4, 2}},        {')', {8, 4, 2, 2, 2, 4, 8}},
    {'?', {14, 17, 1, 2, 4, 0, 4}},      {' ', {0, 0, 0, 0, 0, 0, 0}},
};

static const glyph *find_glyph(char c)
{
    if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    for (size_t i = 0; i < SP_ARRAY_LEN(glyphs); i++)
        if (glyphs[i].c == c) return &glyphs[i];
    return find_glyph('?');
}

void sp_draw_text(sp_image *img, uint32_t x, uint32_t y, uint32_t scale, const char *text,
                  const uint8_t color[3])
{
    for (const char *t = text; *t; t++, x += 6 * scale) {
        /* A multi-byte UTF-8 sequence is one character: one '?'. */
        if ((unsigned char)*t >= 0x80)
            while ((unsigned char)t[1] >= 0x80 && ((unsigned char)t[1] & 0xC0) == 0x80) t++;
        const glyph *g = find_glyph((unsigned char)*t >= 0x80 ? '?' : *t);
        for (uint32_t r = 0; r < 7 * scale; r++)
            for (uint32_t c = 0; c < 5 * scale; c++) {
                if (!(g->rows[r / scale] & (16 >> (c / scale)))) continue;
                uint64_t px = (uint64_t)x + c, py = (uint64_t)y + r;
                if (px >= img->width || py >= img->height) continue;
                uint8_t *p = img->data + py * img->stride + px * img->channels;
                for (uint32_t k = 0; k < img->channels && k < 3; k++) p[k] = color[k];
            }
    }
}
