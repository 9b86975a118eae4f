#!/usr/bin/python3
"""Recreate examples/data/: a tiny, deliberately awkward class-folder image dataset.

    /usr/bin/python3 examples/make_data.py

Everything is drawn procedurally from one fixed seed, so the output is byte-identical on
every run with the same Pillow (no network, no third-party images, no timestamps).

The dataset exists to exercise shardpack, so it is awkward on purpose:

* four classes, strongly imbalanced (48 / 24 / 12 / 6: the largest is 8x the smallest),
  so that balancing stages have something to do;
* about 2/3 JPEG and 1/3 PNG, with sizes from 48 to 400 px per side and aspect ratios
  from 1:3 to 3:1, plus a few tiny images smaller than any crop;
* the colour modes real datasets contain (see SPECIALS below): grayscale JPEG and PNG,
  RGBA with transparency, palette with transparency, 16-bit grayscale, progressive JPEG;
* two bad files a build must report and skip, not crash on:
  stars/star_broken.jpg (valid header, truncated scan data) and squares/notes.txt.
"""

import io
import math
import os
import random
import shutil
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageOps

SEED = 1234
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")

# Class name -> (file stem, number of valid images).
CLASSES = {
    "circles": ("circle", 48),
    "squares": ("square", 24),
    "triangles": ("triangle", 12),
    "stars": ("star", 6),
}

# (class, index) -> the special case that image must be.  Fixed indices rather than random
# picks so that tests can name the file (e.g. squares/square_007.png is the 16-bit PNG).
SPECIALS = {
    ("circles", 5): "gray_jpeg",        # JPEG, mode L (1 component)
    ("circles", 11): "progressive",     # progressive JPEG
    ("circles", 17): "tiny",            # 40x30, smaller than any usual crop
    ("circles", 23): "rgba",            # PNG RGBA with a transparent background
    ("squares", 3): "gray_png",         # PNG, mode L
    ("squares", 7): "gray16",           # PNG, 16-bit grayscale (written as I;16; Pillow 9 reads "I")
    ("squares", 13): "tiny",
    ("triangles", 2): "palette",        # PNG, mode P with a tRNS transparent index
    ("triangles", 5): "tiny",
    ("stars", 4): "gray_jpeg",
}
PNG_SPECIALS = {"gray_png", "gray16", "rgba", "palette"}
JPEG_SPECIALS = {"gray_jpeg", "progressive"}

JPEG_QUALITY = 80


def pick_size(rng):
    """A (width, height) with sides in [48, 400] and aspect ratio in [1:3, 3:1]."""
    # Log-uniform aspect, so 1:3 is as likely as 3:1 and square-ish sizes dominate.
    ar = math.exp(rng.uniform(-math.log(3), math.log(3)))
    r = max(ar, 1 / ar)
    long_side = rng.randint(math.ceil(48 * r), 400)
    short_side = max(48, round(long_side / r))
    return (long_side, short_side) if ar >= 1 else (short_side, long_side)


def random_colour(rng, lo=0, hi=255):
    return tuple(rng.randint(lo, hi) for _ in range(3))


def background(rng, size):
    """A two-colour gradient at a random angle, with optional low-frequency blotches."""
    w, h = size
    d = math.ceil(math.hypot(w, h))
    grad = Image.linear_gradient("L").resize((d, d), Image.BILINEAR)
    grad = grad.rotate(rng.uniform(0, 360), resample=Image.BILINEAR, expand=False)
    left, top = (d - w) // 2, (d - h) // 2
    grad = grad.crop((left, top, left + w, top + h))
    # Muted background colours keep the (saturated) shapes easy to tell apart.
    img = ImageOps.colorize(grad, random_colour(rng, 20, 200), random_colour(rng, 20, 200))
    if rng.random() < 0.5:
        # Noise drawn at low resolution and smoothed when enlarged: visible texture that
        # still compresses well (per-pixel noise would blow the size budget).
        nw, nh = max(2, w // 16), max(2, h // 16)
        noise = Image.frombytes("L", (nw, nh), rng.randbytes(nw * nh))
        noise = noise.resize((w, h), Image.BICUBIC).filter(ImageFilter.GaussianBlur(2))
        tint = Image.merge("RGB", (noise, noise, noise))
        img = Image.blend(img, tint, rng.uniform(0.15, 0.35))
    return img


def polygon(cx, cy, radius, n, rotation, inner=None):
    """Vertices of a regular n-gon, or of an n-pointed star when inner radius is given."""
    pts = []
    steps = 2 * n if inner else n
    for k in range(steps):
        r = inner if (inner and k % 2) else radius
        a = rotation + 2 * math.pi * k / steps
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def draw_shape(draw, rng, cls, cx, cy, radius, fill, outline):
    width = max(1, round(radius / 12))
    if cls == "circles":
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius),
                     fill=fill, outline=outline, width=width)
        return
    if cls == "squares":
        pts = polygon(cx, cy, radius, 4, rng.uniform(0, math.pi / 2))
    elif cls == "triangles":
        pts = polygon(cx, cy, radius, 3, rng.uniform(0, 2 * math.pi))
    else:  # stars
        pts = polygon(cx, cy, radius, 5, rng.uniform(0, 2 * math.pi), inner=radius * 0.42)
    draw.polygon(pts, fill=fill, outline=outline)


def draw_image(rng, cls, size, transparent_bg=False):
    """One image of class cls: 1-3 shapes of that class over a background."""
    w, h = size
    if transparent_bg:
        # Alpha ramps from 0 to ~60% across the image so both fully and partly transparent
        # pixels occur; the RGB under alpha 0 is still a gradient (a converter that drops
        # alpha rather than compositing shows it).
        img = background(rng, size).convert("RGBA")
        alpha = Image.linear_gradient("L").resize(size, Image.BILINEAR).point(lambda v: v * 6 // 10)
        img.putalpha(alpha)
    else:
        img = background(rng, size)
    draw = ImageDraw.Draw(img)
    count = 1 if min(w, h) < 96 else rng.randint(1, 3)
    for i in range(count):
        # The first shape is big and central enough to survive a centre crop.
        scale = rng.uniform(0.28, 0.45) if i == 0 else rng.uniform(0.1, 0.22)
        radius = max(6, scale * min(w, h))
        if i == 0:
            cx = w / 2 + rng.uniform(-0.15, 0.15) * w
            cy = h / 2 + rng.uniform(-0.15, 0.15) * h
        else:
            cx, cy = rng.uniform(radius, w - radius), rng.uniform(radius, h - radius)
        fill = random_colour(rng)
        outline = random_colour(rng)
        if transparent_bg:
            fill, outline = fill + (255,), outline + (255,)
        draw_shape(draw, rng, cls, cx, cy, radius, fill, outline)
    return img


def encode(img, kind, fmt):
    """Bytes of img saved as the requested special kind (or a plain JPEG/PNG)."""
    buf = io.BytesIO()
    if kind == "gray_jpeg":
        img.convert("L").save(buf, "JPEG", quality=JPEG_QUALITY)
    elif kind == "progressive":
        img.save(buf, "JPEG", quality=JPEG_QUALITY, progressive=True)
    elif kind == "gray_png":
        img.convert("L").save(buf, "PNG")
    elif kind == "gray16":
        # Spread 8-bit values over the full 16-bit range (v * 257), so a decoder that keeps
        # only the high byte, or one that clips, produces visibly different output.
        wide = img.convert("L").convert("I").point(lambda v: v * 257)
        wide.convert("I;16").save(buf, "PNG")
    elif kind == "palette":
        # 63 quantised colours plus index 63 reserved for a transparent frame (tRNS).
        pal = img.convert("RGB").quantize(colors=63, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        w, h = pal.size
        border = max(3, min(w, h) // 8)
        mask = Image.new("L", pal.size, 255)
        ImageDraw.Draw(mask).rectangle((border, border, w - 1 - border, h - 1 - border), fill=0)
        palette = pal.getpalette()[:63 * 3] + [255, 0, 255]  # magenta under transparency
        pal.putpalette(palette)
        pal.paste(63, mask=mask)
        pal.save(buf, "PNG", transparency=63)
    elif kind == "rgba":
        img.save(buf, "PNG")
    elif fmt == "png":
        img.convert("RGB").save(buf, "PNG", optimize=False)
    else:
        img.convert("RGB").save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    rng = random.Random(SEED)

    stats = {}
    for cls, (stem, count) in CLASSES.items():
        os.makedirs(os.path.join(OUT, cls))
        for i in range(count):
            kind = SPECIALS.get((cls, i))
            # Draw all random choices for this image even when a special overrides them,
            # so adding a special does not reshuffle every later image.
            size = pick_size(rng)
            fmt = "jpg" if rng.random() < 2 / 3 else "png"
            if kind == "tiny":
                size = (40, 30) if i % 2 else (30, 40)
            if kind in PNG_SPECIALS:
                fmt = "png"
            elif kind in JPEG_SPECIALS:
                fmt = "jpg"
            img = draw_image(rng, cls, size, transparent_bg=(kind == "rgba"))
            name = f"{stem}_{i:03d}.{fmt}"
            write(os.path.join(OUT, cls, name), encode(img, kind, fmt))
            stats[fmt] = stats.get(fmt, 0) + 1

    # Bad file 1: a baseline JPEG cut to half its length. The markers before the scan data
    # (SOI, DQT, SOF0, DHT, SOS) fit in the first few hundred bytes, so header parsing
    # succeeds and only a full decode finds the missing data.
    img = draw_image(rng, "stars", (240, 180))
    data = encode(img, None, "jpg")
    sos = data.find(b"\xff\xda")
    cut = len(data) // 2
    assert 0 < sos < cut, "truncation must keep the header intact"
    write(os.path.join(OUT, "stars", "star_broken.jpg"), data[:cut])

    # Bad file 2: not an image at all.
    write(os.path.join(OUT, "squares", "notes.txt"),
          b"Notes from the annotator: square_019 looks a bit like a diamond.\n"
          b"This file is not an image; shardpack must report and skip it.\n")

    # The licence sits beside the dataset, not in it: a file at the top of a class-folder
    # dataset has no class and would be reported as a rejected sample.
    write(os.path.join(os.path.dirname(OUT), "data-LICENSE.txt"),
          b"The images in examples/data are procedurally generated by examples/make_data.py\n"
          b"(fixed seed, Pillow drawing primitives; no third-party images).\n"
          b"They are dedicated to the public domain under CC0 1.0 Universal:\n"
          b"https://creativecommons.org/publicdomain/zero/1.0/\n")

    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    counts = ", ".join(f"{c} {n}" for c, (_, n) in CLASSES.items())
    print(f"make_data: {counts}; {stats.get('jpg', 0)} JPEG + {stats.get('png', 0)} PNG "
          f"+ 2 bad files; {total} bytes in {os.path.relpath(OUT)}")
    if total >= 1_500_000:
        sys.exit("make_data: examples/data exceeds the 1.5 MB budget")


if __name__ == "__main__":
    main()
