/*
 * JPEGs Pillow cannot write, for the image bad-input corpus (tests/badinput):
 *
 *   make_jpeg scans OUT   a valid progressive JPEG of ~1900 scans (every AC coefficient of
 *                         every component in its own band, refined bit by bit): the CPU
 *                         bomb that [run] max_scans refuses
 *   make_jpeg ycck OUT    a YCCK JPEG (CMYK input, Adobe marker, inverted as Photoshop
 *                         writes it), 64 x 48
 *   make_jpeg cmyk OUT    a plain CMYK JPEG without an Adobe marker (not inverted: 0 = no
 *                         ink), 64 x 48
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "scans") && strcmp(argv[1], "ycck") &&
                      strcmp(argv[1], "cmyk"))) {
        fprintf(stderr, "usage: make_jpeg scans|ycck|cmyk OUT\n");
        return 2;
    }
    int plain = !strcmp(argv[1], "cmyk"), ycck = plain || !strcmp(argv[1], "ycck");
    FILE *f = fopen(argv[2], "wb");
    if (!f) return 1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = 64;
    c.image_height = 48;
    c.input_components = ycck ? 4 : 3;
    c.in_color_space = ycck ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_scan_info *scans = NULL;
    if (plain) {
        jpeg_set_colorspace(&c, JCS_CMYK);
        c.write_Adobe_marker = FALSE;
    } else if (ycck) {
        jpeg_set_colorspace(&c, JCS_YCCK);
    } else {
        /* DC of all components, then for each component and coefficient k a first scan
         * at Al = 9 and nine refinements down to Al = 0: 1 + 3 * 63 * 10 scans. */
        int n = 1 + 3 * 63 * 10, i = 0;
        scans = calloc((size_t)n, sizeof(*scans));
        if (!scans) return 1;
        scans[i].comps_in_scan = 3;
        for (int k = 0; k < 3; k++) scans[i].component_index[k] = k;
        i++;
        for (int comp = 0; comp < 3; comp++)
            for (int k = 1; k <= 63; k++)
                for (int al = 9; al >= 0; al--) {
                    jpeg_scan_info *s = &scans[i++];
                    s->comps_in_scan = 1;
                    s->component_index[0] = comp;
                    s->Ss = s->Se = k;
                    s->Ah = al == 9 ? 0 : al + 1;
                    s->Al = al;
                }
        c.scan_info = scans;
        c.num_scans = n;
    }
    jpeg_start_compress(&c, TRUE);
    unsigned char row[64 * 4];
    while (c.next_scanline < c.image_height) {
        unsigned y = c.next_scanline;
        for (unsigned x = 0; x < 64; x++) {
            unsigned char *p = row + x * (unsigned)c.input_components;
            p[0] = (unsigned char)(x * 4);
            p[1] = (unsigned char)(y * 5);
            p[2] = (unsigned char)((x + y) * 2);
            if (ycck) p[3] = (unsigned char)(plain ? x * 2 : 255 - x * 2); /* K: no ink at x = 0 */
        }
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(scans);
    return fclose(f) == 0 ? 0 : 1;
}
