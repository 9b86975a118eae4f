#!/usr/bin/python3
"""Holds shardpack's geometry stages against Pillow on a real photograph, RGB and RGBA.

Why: users train on what torchvision makes of their images with Pillow, so a stage named
like a torchvision transform must give the same pixels. Each stage is run by the test
driver tests/tools/apply_op (one stage, one PNG in, one PNG out, the drawn parameters on
stdout) and compared with Pillow doing the same thing:

- resize with every filter, shrinking and enlarging, in every mode: the size must match
  and the mean absolute difference per channel must be at most 1.5 levels;
- fit mode against ImageOps.pad (size, offset, bars exactly the fill);
- crop, pad, random_crop, hflip, vflip, rot90: exact, byte for byte;
- random_resized_crop: the noted box cropped and resized by Pillow, within 1.5;
- rotate, affine, perspective: Pillow's Image.transform with the matrix rebuilt here from
  the noted parameters (torchvision's formulas, written again in Python); Pillow truncates
  the interpolated value where shardpack rounds, so the mean may differ by about 0.5.

The images are real photographs: grace_hopper.jpg from Debian's python-matplotlib-data
(scripts/deps.sh test installs it, so a missing file fails the test rather than skipping
it), whole (512x600, portrait) and a landscape part of odd size (511x301), so centring,
rounding and the fit bars are held on both orientations.

RGBA (`[run] background = keep`): Pillow premultiplies the alpha around every filter but
nearest (RGBA -> RGBa -> RGBA), so colour under fully transparent pixels never reaches a
visible one. The photograph with a made-up alpha (transparent areas hiding pure green, a
ramp, a hard-edged hole) and matplotlib's Minduka_Present_Blue_Pack.png (real alpha, white
under it) go through resize (every filter, down and up), random_resized_crop, rotate,
affine and perspective against Pillow on RGBA, with the same tolerances; the check first
proves the image would show bleeding when resampled without premultiplying.

Usage: check_geometry_pillow.py APPLY_OP WORKDIR
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
from PIL import Image, ImageOps

APPLY_OP, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)

# Both ship in python-matplotlib-data, which scripts/deps.sh test installs: required.
SAMPLE_DATA = "/usr/share/matplotlib/mpl-data/sample_data"
PHOTO = os.path.join(SAMPLE_DATA, "grace_hopper.jpg")
RGBA_ART = os.path.join(SAMPLE_DATA, "Minduka_Present_Blue_Pack.png")

FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
           "lanczos3": Image.LANCZOS, "area": Image.BOX}

failures = []
checks = 0


def test_images():
    for p in (PHOTO, RGBA_ART):
        if not os.path.exists(p):
            raise SystemExit(f"{p} is missing: `scripts/deps.sh test` installs "
                             "python-matplotlib-data, which ships it")
    photo = Image.open(PHOTO).convert("RGB")
    # A landscape part of odd width and height: the whole photograph is portrait and even.
    part = photo.crop((0, 150, 511, 451))
    return [(f"{os.path.basename(PHOTO)} {photo.size[0]}x{photo.size[1]}", photo),
            (f"{os.path.basename(PHOTO)} part {part.size[0]}x{part.size[1]}", part)]


def run(stage, src, *opts, mode="RGB"):
    """apply_op on src; mode RGBA decodes with background = keep and keeps the alpha."""
    out = os.path.join(WORK, "out.png")
    if mode == "RGBA":
        opts = ("background=keep", *opts)
    res = subprocess.run([APPLY_OP, stage, src, out, *opts], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"apply_op {stage} {' '.join(opts)} failed: {res.stderr}")
    notes = json.loads(res.stdout)
    with Image.open(out) as im:
        if im.mode != mode:
            check(f"{stage} output mode", False, f"{im.mode}, expected {mode}")
        return np.asarray(im.convert(mode)), notes


def centre_crop(arr, tw, th):
    """torchvision's CenterCrop: black padding where the crop is larger, then the box at
    the rounded (half to even) centre."""
    H, W = arr.shape[:2]
    pl, pt = ((tw - W) // 2 if tw > W else 0), ((th - H) // 2 if th > H else 0)
    pr, pb = ((tw - W + 1) // 2 if tw > W else 0), ((th - H + 1) // 2 if th > H else 0)
    a = np.pad(arr, ((pt, pb), (pl, pr), (0, 0)))
    top, left = int(round((a.shape[0] - th) / 2.0)), int(round((a.shape[1] - tw) / 2.0))
    return a[top:top + th, left:left + tw]


def check(name, ok, detail=""):
    global checks
    checks += 1
    if not ok:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}")


def compare(name, got, want, mean_tol, exact=False):
    want = np.asarray(want)
    if got.shape != want.shape:
        check(name, False, f"shape {got.shape} != Pillow's {want.shape}")
        return
    diff = np.abs(got.astype(np.int32) - want.astype(np.int32))
    means = diff.reshape(-1, diff.shape[-1]).mean(axis=0)
    if exact:
        check(name, diff.max() == 0, f"not identical: {int((diff > 0).sum())} values differ, "
                                     f"max {diff.max()}")
    else:
        check(name, means.max() <= mean_tol,
              f"mean abs diff per channel {np.round(means, 3)} > {mean_tol} (max {diff.max()})")
    print(f"  {name:48s} {got.shape[1]}x{got.shape[0]}  mean {means.max():.3f}  max {diff.max()}")


def main():
    for name, img in test_images():
        print(f"== image: {name}")
        check_rgb(img)
    print("== RGBA (background = keep):")
    check_rgba()
    print(f"{checks} checks, {len(failures)} failed")
    return 1 if failures else 0


def check_rgb(img):
    src = os.path.join(WORK, "in.png")
    img.save(src)
    W, H = img.size
    arr = np.asarray(img)

    print("resize (Pillow Image.resize, mean abs diff <= 1.5):")
    for fname, pf in FILTERS.items():
        # shorter side down and up (torchvision Resize(int): the long side truncated)
        for size in (97, 403):
            got, _ = run("resize", src, f"size={size}", f"filter={fname}")
            nw, nh = (size, size * H // W) if W <= H else (size * W // H, size)
            compare(f"resize shorter {size} {fname}", got, img.resize((nw, nh), pf), 1.5)
        got, _ = run("resize", src, "mode=longer", "size=150", f"filter={fname}")
        nw, nh = (150, 150 * H // W) if W >= H else (150 * W // H, 150)
        compare(f"resize longer 150 {fname}", got, img.resize((nw, nh), pf), 1.5)
        # exact: one side down, the other up
        got, _ = run("resize", src, "mode=exact", "width=120", "height=380", f"filter={fname}")
        compare(f"resize exact 120x380 {fname}", got, img.resize((120, 380), pf), 1.5)
        for tw, th in ((200, 200), (128, 64), (640, 480)):
            got, _ = run("resize", src, "mode=fit", f"width={tw}", f"height={th}",
                         f"filter={fname}", "fill=114")
            want = ImageOps.pad(img, (tw, th), method=pf, color=(114, 114, 114))
            compare(f"resize fit {tw}x{th} {fname}", got, want, 1.5)

    print("fit geometry (bars are exactly the fill):")
    got, _ = run("resize", src, "mode=fit", "width=200", "height=200", "fill=7")
    want = np.asarray(ImageOps.pad(img, (200, 200), method=Image.BILINEAR, color=(7, 7, 7)))
    # ImageOps.contain's size, then pad's offset (Python's round, half to even)
    if W > H:
        cw, ch = 200, round(H / W * 200)
    elif W < H:
        cw, ch = round(W / H * 200), 200
    else:
        cw, ch = 200, 200
    left, top = round((200 - cw) * 0.5), round((200 - ch) * 0.5)
    content = ~np.all(got == 7, axis=-1)
    rows, cols = np.where(content.any(axis=1))[0], np.where(content.any(axis=0))[0]
    check("fit rows", got.shape == (200, 200, 3) and rows[0] == top and rows[-1] == top + ch - 1,
          f"content rows {rows[0]}..{rows[-1]}, expected {top}..{top + ch - 1}")
    check("fit columns", cols[0] == left and cols[-1] == left + cw - 1,
          f"content columns {cols[0]}..{cols[-1]}, expected {left}..{left + cw - 1}")
    bar = np.ones((200, 200), bool)
    bar[top:top + ch, left:left + cw] = False
    check("fit bars", bar.any() and np.all(got[bar] == 7) and np.all(want[bar] == 7),
          "bars are not the fill")

    print("exact ops (identical to Pillow / numpy):")
    for tw, th in ((224, 100), (64, 64), (W, H), (W + 49, H + 33), (W - 11, H + 20)):
        got, _ = run("crop", src, f"width={tw}", f"height={th}")
        compare(f"crop {tw}x{th}", got, centre_crop(arr, tw, th), 0, exact=True)
    got, _ = run("hflip", src)
    compare("hflip", got, img.transpose(Image.FLIP_LEFT_RIGHT), 0, exact=True)
    got, _ = run("vflip", src)
    compare("vflip", got, img.transpose(Image.FLIP_TOP_BOTTOM), 0, exact=True)
    for k, t in (("90", Image.ROTATE_90), ("180", Image.ROTATE_180), ("270", Image.ROTATE_270)):
        got, _ = run("rot90", src, f"k={k}")
        compare(f"rot90 {k}", got, img.transpose(t), 0, exact=True)
    got, notes = run("rot90", src, "seed=5")
    compare(f"rot90 random ({notes['angle']:.0f})", got, np.rot90(arr, int(notes["angle"]) // 90),
            0, exact=True)
    npmode = {"constant": "constant", "edge": "edge", "reflect": "reflect",
              "symmetric": "symmetric"}
    for mode in npmode:
        got, _ = run("pad", src, "left=5", "top=0", "right=40", "bottom=300", "all=9",
                     f"mode={mode}", "fill=200")
        kw = {"constant_values": 200} if mode == "constant" else {}
        want = np.pad(arr, ((0, 300), (5, 40), (0, 0)), mode=npmode[mode], **kw)
        compare(f"pad {mode}", got, want, 0, exact=True)
    for seed in range(4):
        got, notes = run("random_crop", src, "width=160", "height=160", "padding=12",
                         "padding_mode=reflect", f"seed={seed}")
        padded = np.pad(arr, ((12, 12), (12, 12), (0, 0)), mode="reflect")
        x, y = notes["x"], notes["y"]
        compare(f"random_crop seed {seed} at {x},{y}", got, padded[y:y + 160, x:x + 160], 0,
                exact=True)
    # torchvision pads twice: `padding`, then pad_if_needed around the padded image; with
    # reflect the second mirrors the first's pixels too.
    # Crop sizes from the image's, so both need padding whatever its orientation.
    cw, ch = W + 39, H + 203
    for mode in ("reflect", "symmetric", "edge", "constant"):
        got, notes = run("random_crop", src, f"width={cw}", f"height={ch}", "padding=5",
                         "pad_if_needed=true", f"padding_mode={mode}", "fill=9", "seed=2")
        kw = {"constant_values": 9} if mode == "constant" else {}
        p1 = np.pad(arr, ((5, 5), (5, 5), (0, 0)), mode=mode, **kw)
        ex, ey = cw - p1.shape[1], ch - p1.shape[0]
        p2 = np.pad(p1, ((ey, ey), (ex, ex), (0, 0)), mode=mode, **kw)
        x, y = notes["x"], notes["y"]
        compare(f"random_crop padding + pad_if_needed {mode}", got, p2[y:y + ch, x:x + cw], 0,
                exact=True)
    cw, ch = W + 99, H + 83
    got, notes = run("random_crop", src, f"width={cw}", f"height={ch}", "pad_if_needed=true",
                     "fill=50")
    padded = np.pad(arr, ((ch - H,) * 2, (cw - W,) * 2, (0, 0)), constant_values=50)
    x, y = notes["x"], notes["y"]
    compare("random_crop pad_if_needed", got, padded[y:y + ch, x:x + cw], 0, exact=True)

    print("random_resized_crop (the noted box, Pillow crop + resize, <= 1.5):")
    for seed in range(6):
        fname = list(FILTERS)[seed % 5]
        got, n = run("random_resized_crop", src, "width=96", "height=80", f"filter={fname}",
                     f"seed={seed}")
        area = n["w"] * n["h"] / (W * H)
        ar = n["w"] / n["h"]
        if n["try"]:
            # rounding of w and h moves area and ratio slightly off the drawn values
            check(f"rrc seed {seed} bounds", 0.08 * 0.9 <= area <= 1.0 and
                  0.75 * 0.9 <= ar <= 4 / 3 * 1.1, f"area {area}, ratio {ar}")
        want = img.crop((n["x"], n["y"], n["x"] + n["w"], n["y"] + n["h"])).resize((96, 80),
                                                                                  FILTERS[fname])
        compare(f"rrc seed {seed} {fname} box {n['w']}x{n['h']}", got, want, 1.5)

    print("rotate (Pillow Image.rotate, bilinear):")
    for angle, expand in ((30, False), (30, True), (-77.5, True), (90, False), (90, True),
                          (180, False), (200, False)):
        got, n = run("rotate", src, f"min={angle}", f"max={angle}",
                     f"expand={'true' if expand else 'false'}", "fill=33")
        want = img.rotate(angle, Image.BILINEAR, expand=expand, fillcolor=(33, 33, 33))
        compare(f"rotate {angle} expand={expand}", got, want, 1.0)
    got, n = run("rotate", src, "min=-40", "max=40", "seed=3")
    want = img.rotate(n["angle"], Image.BILINEAR, fillcolor=(0, 0, 0))
    compare(f"rotate drawn {n['angle']:.3f}", got, want, 1.0)

    print("affine (torchvision's inverse matrix, Pillow transform):")
    for seed in range(3):
        got, n = run("affine", src, "degrees=25", "translate_x=0.1", "translate_y=0.2",
                     "scale_min=0.7", "scale_max=1.3", "shear_x=10", "shear_y=5",
                     f"seed={seed}", "fill=90")
        m = tv_inverse_affine((W * 0.5, H * 0.5), -n["angle"], (n["tx"], n["ty"]), n["scale"],
                              (n["shear_x"], n["shear_y"]))
        want = img.transform((W, H), Image.AFFINE, m, Image.BILINEAR, fillcolor=(90, 90, 90))
        compare(f"affine seed {seed} angle {n['angle']:.2f}", got, want, 1.0)

    print("perspective (homography solved here, Pillow transform):")
    for seed in range(3):
        got, n = run("perspective", src, "distortion_scale=0.6", f"seed={seed}")
        end = [(n["tl_x"], n["tl_y"]), (n["tr_x"], n["tr_y"]), (n["br_x"], n["br_y"]),
               (n["bl_x"], n["bl_y"])]
        start = [(0, 0), (W - 1, 0), (W - 1, H - 1), (0, H - 1)]
        # torchvision's ranges: a corner moves in by at most int(scale * (side // 2))
        dx, dy = int(0.6 * (W // 2)), int(0.6 * (H // 2))
        xr = [(0, dx), (W - dx - 1, W - 1), (W - dx - 1, W - 1), (0, dx)]
        yr = [(0, dy), (0, dy), (H - dy - 1, H - 1), (H - dy - 1, H - 1)]
        check(f"perspective seed {seed} corners",
              all(lo <= e[0] <= hi for e, (lo, hi) in zip(end, xr)) and
              all(lo <= e[1] <= hi for e, (lo, hi) in zip(end, yr)), f"corners {end}")
        c = perspective_coeffs(start, end)
        want = img.transform((W, H), Image.PERSPECTIVE, c, Image.BILINEAR)
        compare(f"perspective seed {seed}", got, want, 1.0)


def straight_resize(img, size, pf):
    """What resizing RGBA without premultiplying gives: each band on its own."""
    return Image.merge(img.mode, [b.resize(size, pf) for b in img.split()])


def rgba_images():
    """The photograph's landscape part with a made-up alpha that hides pure green under its
    transparent pixels, and a real RGBA drawing (white under its transparent pixels)."""
    photo = np.asarray(Image.open(PHOTO).convert("RGB").crop((0, 150, 511, 451)))
    h, w = photo.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    alpha = np.full((h, w), 255.0)
    alpha[:, : w // 4] = 0                                              # a transparent band
    ramp = (x >= w // 4) & (x < w // 2)
    alpha[ramp] = (x[ramp] - w // 4) * 255.0 / (w // 4)                  # a ramp
    alpha[(x - 3 * w // 4) ** 2 + (y - h // 2) ** 2 < 50 ** 2] = 0       # a hard-edged hole
    alpha[::9, w // 2:] = 128                                           # half-transparent lines
    rgba = np.dstack([photo, np.round(alpha).astype(np.uint8)])
    rgba[rgba[..., 3] == 0, :3] = (0, 255, 0)
    art = Image.open(RGBA_ART).convert("RGBA")
    return [(f"photo part {w}x{h} + alpha, green hidden", Image.fromarray(rgba, "RGBA")),
            (f"{os.path.basename(RGBA_ART)} {art.size[0]}x{art.size[1]}", art)]


def check_rgba():
    for name, img in rgba_images():
        print(f"-- {name}")
        src = os.path.join(WORK, "in-rgba.png")
        img.save(src)
        W, H = img.size
        # The image must be one where premultiplying matters, or the checks prove nothing:
        # resized straight, the hidden colour must show in pixels that are visible.
        small = (W * 2 // 7, H * 2 // 7)
        straight = np.asarray(straight_resize(img, small, Image.BILINEAR)).astype(np.int32)
        premul = np.asarray(img.resize(small, Image.BILINEAR)).astype(np.int32)
        visible = premul[..., 3] >= 64
        bleed = np.abs(straight - premul)[..., :3].max(axis=-1)[visible]
        check("rgba image hides colour", bleed.max() >= 64 and (bleed >= 16).sum() >= 20,
              f"straight and premultiplied resizes differ by {bleed.max()} at most where "
              f"visible, {(bleed >= 16).sum()} pixels by 16 or more")
        print(f"  without premultiplying: visible pixels off by up to {bleed.max()}, "
              f"{(bleed >= 16).sum()} by 16 or more")
        for fname, pf in FILTERS.items():
            for tw, th in (small, (W * 9 // 5, H * 7 // 4), (W // 2, H * 3 // 2)):
                got, _ = run("resize", src, "mode=exact", f"width={tw}", f"height={th}",
                             f"filter={fname}", mode="RGBA")
                compare(f"rgba resize {tw}x{th} {fname}", got, img.resize((tw, th), pf), 1.5)
        for seed in range(3):
            fname = list(FILTERS)[(seed + 1) % 5]
            got, n = run("random_resized_crop", src, "width=96", "height=80",
                         f"filter={fname}", f"seed={seed}", mode="RGBA")
            want = img.crop((n["x"], n["y"], n["x"] + n["w"], n["y"] + n["h"])).resize(
                (96, 80), FILTERS[fname])
            compare(f"rgba rrc seed {seed} {fname}", got, want, 1.5)
        # fill = 0: transparent black, which premultiplied or not is the same pixel (a fill
        # level between 0 and 255 is kept as given; Pillow's premultiplied fillcolor would
        # come back white at that alpha).
        for angle, expand in ((30, False), (-77.5, True), (200, False)):
            got, _ = run("rotate", src, f"min={angle}", f"max={angle}",
                         f"expand={'true' if expand else 'false'}", "fill=0", mode="RGBA")
            want = img.rotate(angle, Image.BILINEAR, expand=expand, fillcolor=(0, 0, 0, 0))
            compare(f"rgba rotate {angle} expand={expand}", got, want, 1.0)
        for seed in range(2):
            got, n = run("affine", src, "degrees=25", "translate_x=0.1", "translate_y=0.2",
                         "scale_min=0.7", "scale_max=1.3", "shear_x=10", "shear_y=5",
                         f"seed={seed}", "fill=0", mode="RGBA")
            m = tv_inverse_affine((W * 0.5, H * 0.5), -n["angle"], (n["tx"], n["ty"]),
                                  n["scale"], (n["shear_x"], n["shear_y"]))
            want = img.transform((W, H), Image.AFFINE, m, Image.BILINEAR,
                                 fillcolor=(0, 0, 0, 0))
            compare(f"rgba affine seed {seed}", got, want, 1.0)
        got, n = run("perspective", src, "distortion_scale=0.6", "seed=1", mode="RGBA")
        end = [(n["tl_x"], n["tl_y"]), (n["tr_x"], n["tr_y"]), (n["br_x"], n["br_y"]),
               (n["bl_x"], n["bl_y"])]
        c = perspective_coeffs([(0, 0), (W - 1, 0), (W - 1, H - 1), (0, H - 1)], end)
        want = img.transform((W, H), Image.PERSPECTIVE, c, Image.BILINEAR,
                             fillcolor=(0, 0, 0, 0))
        compare("rgba perspective seed 1", got, want, 1.0)


def tv_inverse_affine(center, angle, translate, scale, shear):
    """torchvision.transforms.functional._get_inverse_affine_matrix, from its formulas."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def perspective_coeffs(start, end):
    """torchvision's _get_perspective_coeffs: maps output (end) points to input (start)."""
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for i, ((x, y), (X, Y)) in enumerate(zip(end, start)):
        a[2 * i] = [x, y, 1, 0, 0, 0, -X * x, -X * y]
        a[2 * i + 1] = [0, 0, 0, x, y, 1, -Y * x, -Y * y]
        b[2 * i], b[2 * i + 1] = X, Y
    return np.linalg.lstsq(a, b, rcond=None)[0].tolist()


if __name__ == "__main__":
    sys.exit(main())
