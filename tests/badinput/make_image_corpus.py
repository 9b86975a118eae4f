#!/usr/bin/python3
"""Generate the image bad-input corpus: one small dataset per case, and what shardpack must
make of it.

    make_image_corpus.py OUTDIR MAKE_JPEG

OUTDIR/<case>/<case>/<file> is a one-class dataset holding the case's file;
OUTDIR/<case>.npy is the pixels it must decode to (uint8 H x W x 3, or x 4 for the
`background = keep` cases) for `decoded` cases;
OUTDIR/expect.json maps each case to {"file", "outcome": "decoded" | "skipped",
"reason" (skipped: the manifest's reason code), "tol" (decoded: largest per-channel
difference allowed), "set" (config overrides), "altered" (the [reason, detail] rows the
report must list for the file: what the decoder changed; empty for none), "on_white" (the
rows when the case is built on the default white background instead of its own `set`)}. Everything is drawn from fixed seeds, so
the corpus is the same on every run. MAKE_JPEG is tests/tools/make_jpeg (JPEGs Pillow
cannot write: YCCK, ~1900 progressive scans). Cases are documented in docs/guide.md.
"""

import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

OUT = sys.argv[1]
MAKE_JPEG = sys.argv[2]
RNG = np.random.default_rng(20261202)
EXPECT = {}


def put(case, name, data, outcome, reason=None, expected=None, tol=0, sets=(), altered=(),
        on_white=None):
    folder = os.path.join(OUT, case, case)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)
    e = {"file": name, "outcome": outcome, "set": list(sets), "altered": [list(a) for a in altered]}
    if reason:
        e["reason"] = reason
    if on_white is not None:
        e["on_white"] = [list(a) for a in on_white]
    if expected is not None:
        np.save(os.path.join(OUT, case + ".npy"), np.ascontiguousarray(expected, dtype=np.uint8))
        e["tol"] = tol
    EXPECT[case] = e


def picture(w, h):
    """Smooth gradients plus a bright block off-centre: every orientation looks different."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1),
                    (x + y) * 255 // (w + h)], axis=-1).astype(np.uint8)
    img[h // 8:h // 3, w // 8:w // 2] = (250, 30, 30)
    return img


def encode(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_by_hand(arr, bitdepth=8, colortype=2, interlace=False, ihdr_size=None):
    """A PNG written here, for what Pillow cannot write: 16-bit RGB, Adam7 interlacing,
    an IHDR that lies about the size."""
    h, w = arr.shape[:2]
    raw = arr.astype(">u2" if bitdepth == 16 else "u1").tobytes()
    bpp = raw and len(raw) // (w * h)

    def rows(a):
        ph, pw = a.shape[:2]
        data = a.astype(">u2" if bitdepth == 16 else "u1").tobytes()
        stride = pw * bpp
        return b"".join(b"\0" + data[r * stride:(r + 1) * stride] for r in range(ph))

    if interlace:
        body = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                               (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                body += rows(sub)
    else:
        body = rows(arr)
    W, H = ihdr_size or (w, h)
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, bitdepth, colortype, 0, 0,
                                       1 if interlace else 0)) +
            chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b""))


def composite(rgb, alpha, bg=(255, 255, 255)):
    a = alpha.astype(np.int64)[..., None]
    return ((rgb.astype(np.int64) * a + np.array(bg) * (255 - a) + 127) // 255).astype(np.uint8)


def pil_rgb(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


base = picture(48, 32)
jpeg = encode(Image.fromarray(base), "JPEG", quality=92)
png = encode(Image.fromarray(base), "PNG")

# ---- damaged and wrong files: skipped with their reason -----------------------------------
put("truncated_jpeg", "a.jpg", jpeg[:len(jpeg) * 2 // 3], "skipped", "corrupt")
put("truncated_png", "a.png", png[:len(png) * 2 // 3], "skipped", "corrupt")
sos = jpeg.index(b"\xff\xda")
flipped = bytearray(jpeg)
for i in range(sos + 40, len(jpeg) - 40, 7):  # every 7th byte of the scan data garbled
    flipped[i] ^= 0x5A
put("bitflip_jpeg", "a.jpg", bytes(flipped), "skipped", "corrupt")
idat = png.index(b"IDAT")
flipped = bytearray(png)
flipped[idat + 10] ^= 0x10  # one bit in the compressed pixels: the chunk CRC catches it
put("bitflip_png", "a.png", bytes(flipped), "skipped", "corrupt")
put("zero_bytes", "a.jpg", b"", "skipped", "unknown_format")
put("text_named_jpg", "a.jpg", b"this is not an image, whatever its name says\n", "skipped",
    "unknown_format")
put("huge_png_tiny_body", "a.png",
    png_by_hand(np.zeros((1, 1, 3), np.uint8), ihdr_size=(60000, 60000)), "skipped",
    "max_pixels")
sof = jpeg.index(b"\xff\xc0")
huge = bytearray(jpeg)
huge[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width
put("huge_jpeg_tiny_body", "a.jpg", bytes(huge), "skipped", "max_pixels")
scans_path = os.path.join(OUT, "scans.jpg")
assert os.system(f"'{MAKE_JPEG}' scans '{scans_path}'") == 0
put("thousands_of_scans", "a.jpg", open(scans_path, "rb").read(), "skipped", "max_scans")
os.remove(scans_path)

# ---- awkward but valid: decoded right -------------------------------------------------------
put("png_named_jpg", "a.jpg", png, "decoded", expected=base, tol=0)
cmyk = RNG.integers(0, 256, (8, 12, 4), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
cmyk_jpeg = encode(Image.fromarray(cmyk, "CMYK"), "JPEG", quality=95)
CMYK = [("cmyk_converted", "CMYK converted to RGB")]
put("cmyk_jpeg", "a.jpg", cmyk_jpeg, "decoded", expected=pil_rgb(cmyk_jpeg), tol=2, altered=CMYK)
ycck_path = os.path.join(OUT, "ycck.jpg")
assert os.system(f"'{MAKE_JPEG}' ycck '{ycck_path}'") == 0
ycck = open(ycck_path, "rb").read()
os.remove(ycck_path)
assert Image.open(io.BytesIO(ycck)).info.get("adobe_transform") == 2  # YCCK
put("ycck_jpeg", "a.jpg", ycck, "decoded", expected=pil_rgb(ycck), tol=2,
    altered=[("cmyk_converted", "YCCK converted to RGB")])
cmyk_path = os.path.join(OUT, "cmyk.jpg")
assert os.system(f"'{MAKE_JPEG}' cmyk '{cmyk_path}'") == 0
plain_cmyk = open(cmyk_path, "rb").read()
os.remove(cmyk_path)
assert b"Adobe" not in plain_cmyk and Image.open(io.BytesIO(plain_cmyk)).mode == "CMYK"
# Without the Adobe marker the values are plain CMYK (0 = no ink), as the JPEG and libjpeg
# define them. Pillow assumes Adobe's inverted values for every CMYK JPEG, so here the
# expectation is computed from the ink values: Pillow's raw "CMYK;I" read gives 255 - ink.
raw = np.asarray(Image.open(io.BytesIO(plain_cmyk))).astype(np.int64)  # 255 - ink
want = (raw[..., :3] * raw[..., 3:4] + 127) // 255  # (255 - C)(255 - K) / 255
put("cmyk_no_adobe_marker", "a.jpg", plain_cmyk, "decoded", expected=want, tol=2, altered=CMYK)
DEEP = [("depth_reduced", "16-bit samples reduced to 8 bits")]
rgb16 = RNG.integers(0, 65536, (20, 30, 3)).astype(np.uint16)
put("png_16bit_rgb", "a.png", png_by_hand(rgb16, bitdepth=16), "decoded",
    expected=(rgb16.astype(np.int64) * 255 + 32767) // 65535, tol=1, altered=DEEP)
gray16 = RNG.integers(0, 65536, (20, 30)).astype(np.uint16)
put("png_16bit_gray", "a.png", png_by_hand(gray16, bitdepth=16, colortype=0), "decoded",
    expected=np.repeat(((gray16.astype(np.int64) * 255 + 32767) // 65535)[..., None], 3, -1),
    tol=1, altered=DEEP)
pal = Image.fromarray(base).quantize(16)
alpha_of_index = bytes(255 if i % 3 else (0 if i % 2 else 128) for i in range(16))
pal_png = encode(pal, "PNG", transparency=alpha_of_index)
rgba = np.asarray(Image.open(io.BytesIO(pal_png)).convert("RGBA"))
assert (rgba[..., 3] < 255).any()
WHITE = [("alpha_composited", "composited on white (255,255,255)")]
put("palette_trns", "a.png", pal_png, "decoded", expected=composite(rgba[..., :3], rgba[..., 3]),
    tol=1, altered=WHITE)
put("interlaced_png", "a.png", png_by_hand(picture(37, 29), interlace=True), "decoded",
    expected=picture(37, 29), tol=0)
gray = base[..., 1]
alpha = np.tile(np.linspace(0, 255, 48).astype(np.uint8), (32, 1))
la_png = encode(Image.fromarray(np.stack([gray, alpha], -1), "LA"), "PNG")
put("gray_alpha", "a.png", la_png, "decoded",
    expected=composite(np.repeat(gray[..., None], 3, -1), alpha), tol=1, altered=WHITE)
rgba_png = encode(Image.fromarray(np.dstack([base, alpha]), "RGBA"), "PNG")
put("rgba_on_white", "a.png", rgba_png, "decoded", expected=composite(base, alpha), tol=1,
    altered=WHITE)
put("rgba_on_blue", "a.png", rgba_png, "decoded", expected=composite(base, alpha, (0, 0, 255)),
    tol=1, sets=["run.background=0,0,255"],
    altered=[("alpha_composited", "composited on (0,0,255)")])
put("rgba_drop_alpha", "a.png", rgba_png, "decoded", expected=base, tol=0,
    sets=["run.background=none"],
    altered=[("alpha_dropped", "alpha dropped (background = none)")])
# background = keep: RGBA through, exactly Pillow's convert("RGBA"); images without alpha
# get an opaque one, so every record of the run has four channels. Nothing is altered.
KEEP = ["run.background=keep"]
put("rgba_keep", "a.png", rgba_png, "decoded", expected=np.dstack([base, alpha]), tol=0,
    sets=KEEP, on_white=WHITE)
put("palette_trns_keep", "a.png", pal_png, "decoded", expected=rgba, tol=0, sets=KEEP,
    on_white=WHITE)
put("gray_alpha_keep", "a.png", la_png, "decoded",
    expected=np.asarray(Image.open(io.BytesIO(la_png)).convert("RGBA")), tol=0, sets=KEEP,
    on_white=WHITE)
put("rgb_keep", "a.png", encode(Image.fromarray(base), "PNG"), "decoded",
    expected=np.dstack([base, np.full(base.shape[:2], 255, np.uint8)]), tol=0, sets=KEEP,
    on_white=[])

frames = [Image.fromarray(base), Image.fromarray(255 - base), Image.fromarray(base[::-1])]
apng = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)
assert b"acTL" in apng and b"fdAT" in apng
put("apng_default_image", "a.png", apng, "decoded", expected=base, tol=0)

# EXIF orientations 1-8 (little-endian, as Pillow writes), two big-endian, one damaged.
photo = picture(40, 24)
TURNED = {2: "mirrored left to right", 3: "turned 180°", 4: "mirrored top to bottom",
          5: "mirrored across the top-left to bottom-right diagonal", 6: "turned 90° clockwise",
          7: "mirrored across the top-right to bottom-left diagonal",
          8: "turned 90° counter-clockwise"}


def turned(o):
    return [("exif_rotated", f"EXIF orientation {o}: {TURNED[o]}")] if o > 1 else []


for o in range(1, 9):
    ex = Image.Exif()
    ex[0x0112] = o
    data = encode(Image.fromarray(photo), "JPEG", quality=95, exif=ex.tobytes())
    want = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    put(f"exif_orientation_{o}", "a.jpg", data, "decoded", expected=want, tol=1,
        altered=turned(o))


def exif_be(orientation, ifd_offset=8, count=1):
    tiff = b"MM\x00\x2a" + struct.pack(">I", ifd_offset) + struct.pack(">H", count)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    return b"Exif\x00\x00" + tiff


for o in (6, 5):
    data = encode(Image.fromarray(photo), "JPEG", quality=95, exif=exif_be(o))
    want = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert want.shape[:2] == (40, 24)
    put(f"exif_big_endian_{o}", "a.jpg", data, "decoded", expected=want, tol=1,
        altered=turned(o))
# An IFD offset past the end and an entry count far beyond the data: read as no orientation.
plain = np.asarray(Image.open(io.BytesIO(encode(Image.fromarray(photo), "JPEG", quality=95))).convert("RGB"))
put("exif_bad_offset", "a.jpg",
    encode(Image.fromarray(photo), "JPEG", quality=95, exif=exif_be(6, ifd_offset=0xFFFFFFF0)),
    "decoded", expected=plain, tol=1)
put("exif_bad_count", "a.jpg",
    encode(Image.fromarray(photo), "JPEG", quality=95, exif=exif_be(6, count=60000)),
    "decoded", expected=np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(
        encode(Image.fromarray(photo), "JPEG", quality=95, exif=exif_be(6))))).convert("RGB")),
    tol=1, altered=turned(6))

# Plain 8-bit gray (PNG, JPEG): replicated to RGB, nothing altered. PNM maxvals other than
# 255 are scaled to 0..255 (deeper ones reduced), and reported so.
gray8 = picture(30, 20)[..., 0]
put("gray_png", "a.png", encode(Image.fromarray(gray8), "PNG"), "decoded",
    expected=np.repeat(gray8[..., None], 3, -1), tol=0)
gray_jpeg = encode(Image.fromarray(gray8), "JPEG", quality=95)
put("gray_jpeg", "a.jpg", gray_jpeg, "decoded", expected=pil_rgb(gray_jpeg), tol=1)
g15 = RNG.integers(0, 16, (6, 9)).astype(np.uint8)
put("pnm_maxval_15", "a.pgm", b"P5\n9 6\n15\n" + g15.tobytes(), "decoded",
    expected=np.repeat(((g15.astype(np.int64) * 255 + 7) // 15)[..., None], 3, -1), tol=0,
    altered=[("depth_scaled", "samples of 0..15 scaled to 0..255")])
c1000 = RNG.integers(0, 1001, (5, 7, 3)).astype(np.uint16)
put("pnm_maxval_1000", "a.ppm", b"P6\n7 5\n1000\n" + c1000.astype(">u2").tobytes(), "decoded",
    expected=(c1000.astype(np.int64) * 255 + 500) // 1000, tol=0,
    altered=[("depth_reduced", "samples of 0..1000 reduced to 0..255")])

with open(os.path.join(OUT, "expect.json"), "w") as f:
    json.dump(EXPECT, f, indent=1, sort_keys=True)
print(f"{len(EXPECT)} cases in {OUT}")
