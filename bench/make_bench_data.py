#!/usr/bin/python3
"""Generate a deterministic class-folder JPEG dataset for benchmarks.

    /usr/bin/python3 bench/make_bench_data.py OUTDIR --count N [--seed S] [-j JOBS]

Writes N JPEGs as OUTDIR/<class>/<class>_<index>.jpg over 10 classes, camera-like sizes
(mostly 640x480, some larger, some portrait) at quality 90, so the benchmark decodes,
resizes and re-encodes images of the size real photo datasets hold.  Each image is drawn
from its own seed derived from (seed, index), so the output is byte-identical however many
worker processes draw it.  The folder must not exist yet or be empty (never deletes).
"""

import argparse
import io
import math
import multiprocessing
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageOps

CLASSES = ["circles", "squares", "triangles", "stars", "hexagons",
           "crosses", "rings", "diamonds", "stripes", "checkers"]
# Sizes with weights: mostly VGA as in many photo datasets, plus larger and portrait frames
# so the resize has different scale factors to do.
SIZES = [((640, 480), 6), ((800, 600), 2), ((480, 640), 1), ((1024, 768), 1)]
QUALITY = 90


def background(rng, size):
    """Gradient plus textured noise: JPEG must spend bits on it, as on real photos."""
    w, h = size
    d = math.ceil(math.hypot(w, h))
    grad = Image.linear_gradient("L").resize((d, d), Image.BILINEAR)
    grad = grad.rotate(rng.uniform(0, 360), resample=Image.BILINEAR)
    grad = grad.crop(((d - w) // 2, (d - h) // 2, (d - w) // 2 + w, (d - h) // 2 + h))
    rgb = [rng.randint(0, 255) for _ in range(6)]
    img = ImageOps.colorize(grad, tuple(rgb[:3]), tuple(rgb[3:]))
    nw, nh = w // 4, h // 4
    noise = Image.frombytes("L", (nw, nh), rng.randbytes(nw * nh)).resize((w, h), Image.BICUBIC)
    noise = noise.filter(ImageFilter.GaussianBlur(1))
    return Image.blend(img, Image.merge("RGB", (noise, noise, noise)), rng.uniform(0.1, 0.3))


def regular(cx, cy, r, n, rot, inner=None):
    steps = 2 * n if inner else n
    return [(cx + (inner if inner and k % 2 else r) * math.cos(rot + 2 * math.pi * k / steps),
             cy + (inner if inner and k % 2 else r) * math.sin(rot + 2 * math.pi * k / steps))
            for k in range(steps)]


def shape(draw, rng, cls, cx, cy, r, fill):
    rot = rng.uniform(0, 2 * math.pi)
    if cls == "circles":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif cls == "rings":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=fill, width=max(2, int(r / 4)))
    elif cls == "squares":
        draw.polygon(regular(cx, cy, r, 4, rot), fill=fill)
    elif cls == "diamonds":
        draw.polygon([(cx, cy - r), (cx + r * 0.6, cy), (cx, cy + r), (cx - r * 0.6, cy)], fill=fill)
    elif cls == "triangles":
        draw.polygon(regular(cx, cy, r, 3, rot), fill=fill)
    elif cls == "hexagons":
        draw.polygon(regular(cx, cy, r, 6, rot), fill=fill)
    elif cls == "stars":
        draw.polygon(regular(cx, cy, r, 5, rot, inner=r * 0.42), fill=fill)
    elif cls == "crosses":
        t = r / 3
        draw.rectangle((cx - r, cy - t, cx + r, cy + t), fill=fill)
        draw.rectangle((cx - t, cy - r, cx + t, cy + r), fill=fill)
    elif cls == "stripes":
        for k in range(-3, 4, 2):
            draw.rectangle((cx - r, cy + k * r / 7, cx + r, cy + (k + 1) * r / 7), fill=fill)
    else:  # checkers
        s = r / 2
        for i in range(4):
            for j in range(4):
                if (i + j) % 2 == 0:
                    x, y = cx - r + i * s, cy - r + j * s
                    draw.rectangle((x, y, x + s, y + s), fill=fill)


def render(job):
    """One image's (relative path, JPEG bytes); all randomness from (seed, index)."""
    seed, index = job
    rng = random.Random(seed * 1_000_003 + index)
    cls = CLASSES[index % len(CLASSES)]
    size = rng.choices([s for s, _ in SIZES], weights=[w for _, w in SIZES])[0]
    img = background(rng, size)
    draw = ImageDraw.Draw(img)
    w, h = size
    for i in range(rng.randint(1, 4)):
        r = min(w, h) * (rng.uniform(0.2, 0.4) if i == 0 else rng.uniform(0.05, 0.15))
        shape(draw, rng, cls, rng.uniform(r, w - r), rng.uniform(r, h - r), r,
              tuple(rng.randint(0, 255) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=QUALITY)
    return f"{cls}/{cls}_{index:06d}.jpg", buf.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--count", type=int, required=True, help="number of images")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="worker processes (the output does not depend on it)")
    args = ap.parse_args()
    if args.count < 1:
        sys.exit("make_bench_data: --count must be at least 1")
    if os.path.exists(args.outdir) and os.listdir(args.outdir):
        sys.exit(f"make_bench_data: {args.outdir} exists and is not empty")
    for cls in CLASSES[:args.count]:
        os.makedirs(os.path.join(args.outdir, cls), exist_ok=True)

    total = 0
    jobs = [(args.seed, i) for i in range(args.count)]
    with multiprocessing.Pool(max(1, args.jobs)) as pool:
        for rel, data in pool.imap(render, jobs, chunksize=16):
            with open(os.path.join(args.outdir, rel), "wb") as f:
                f.write(data)
            total += len(data)
    print(f"make_bench_data: {args.count} JPEGs in {min(args.count, len(CLASSES))} classes, "
          f"{total / 1e6:.1f} MB in {args.outdir}")


if __name__ == "__main__":
    main()
