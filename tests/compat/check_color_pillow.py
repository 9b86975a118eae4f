#!/usr/bin/python3
"""Photometric stages against Pillow (and torchvision's PIL formulas, written in numpy).

Usage: check_color_pillow.py APPLY_COLOR WORKDIR

APPLY_COLOR is the test driver (tests/tools/apply_color.c): it runs one stage on an image
and writes a PNG. Each case runs it and compares the result with what Pillow makes of the
same pixels. The promise is Pillow's math to the rounding, so most cases must match
exactly; the ones that are Pillow's only in spirit (blur, JPEG) get a mean absolute
difference bound per channel.

Images: a photograph shipped by Debian (matplotlib's sample grace_hopper.jpg, from
python-matplotlib-data) when installed, and always a generated one of odd size with smooth
gradients, texture, saturated colours and flat regions (histogram corner cases).
"""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

PHOTO = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"


def generated_image():
    h, w = 123, 157
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(5)
    r = 128 + 100 * np.sin(x / 13.0) * np.cos(y / 17.0)
    g = 255 * x / (w - 1)
    b = 60 + 40 * np.sin((x + y) / 5.0) + rng.normal(0, 12, (h, w))
    img = np.stack([r, g, b], axis=-1)
    img[10:30, 10:50] = (255, 0, 0)  # saturated patch
    img[40:60, 90:140] = (20, 20, 20)  # flat dark patch
    img[100:, :20] = rng.integers(0, 256, (h - 100, 20, 3))  # noise strip
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")


class Checker:
    def __init__(self, tool, work):
        self.tool, self.work = tool, work
        self.failures = 0
        self.count = 0

    def run(self, stage, src, opts=(), channels=3, seed=0, key="sample.png", copy=1):
        out = os.path.join(self.work, "out.png")
        cmd = [self.tool, stage, src, out, *opts, "--seed", str(seed), "--key", key,
               "--copy", str(copy), "--channels", str(channels)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr}")
        with Image.open(out) as im:
            im.load()
            return np.asarray(im), json.loads(res.stdout)

    def compare(self, name, got, want, exact, mad_limit=1.5):
        self.count += 1
        got = np.asarray(got, dtype=np.int16)
        want = np.asarray(want, dtype=np.int16)
        if got.shape != want.shape:
            print(f"FAIL {name}: shape {got.shape} != {want.shape}")
            self.failures += 1
            return
        d = np.abs(got - want)
        d3 = d.reshape(-1, 1 if d.ndim == 2 else d.shape[-1])
        mad = d3.mean(axis=0)
        worst = int(d.max()) if d.size else 0
        ok = worst == 0 if exact else bool((mad <= mad_limit).all())
        tag = "ok  " if ok else "FAIL"
        rule = "exact" if exact else f"mean |diff| <= {mad_limit}"
        print(f"{tag} {name}: mean |diff| per channel {np.round(mad, 4).tolist()}, "
              f"max {worst}, differing {int((d3 != 0).any(axis=1).sum())} px ({rule})")
        if not ok:
            self.failures += 1

    def expect(self, name, cond, detail=""):
        self.count += 1
        print(f"{'ok  ' if cond else 'FAIL'} {name}{': ' + detail if detail else ''}")
        if not cond:
            self.failures += 1


def fixed(lo_name, hi_name, v):
    return [f"{lo_name}={v!r}", f"{hi_name}={v!r}"]


def torch_hue(im, shift):
    """torchvision's adjust_hue for PIL images."""
    h, s, v = im.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    with np.errstate(over="ignore"):
        np_h += np.array(shift * 255).astype(np.int64).astype(np.uint8)
    h = Image.fromarray(np_h, "L")
    return Image.merge("HSV", (h, s, v)).convert(im.mode)


def torch_gamma(im, gamma, gain=1.0):
    """torchvision's adjust_gamma for PIL images."""
    table = [int((255 + 1 - 1e-3) * gain * pow(e / 255.0, gamma)) for e in range(256)] * 3
    return im.convert("RGB").point(table).convert(im.mode)


def check_image(c, label, rgb):
    src = os.path.join(c.work, f"{label}.png")
    rgb.save(src)
    gray = rgb.convert("L")
    gsrc = os.path.join(c.work, f"{label}-gray.png")
    gray.convert("RGB").save(gsrc)  # the driver takes channel 0 with --channels 1
    arr = np.asarray(rgb)

    def case(name, stage, opts, want, exact=True, mad=1.5, image=src, channels=3):
        got, _ = c.run(stage, image, opts, channels=channels)
        c.compare(f"{label}: {name}", got, np.asarray(want), exact, mad)

    # Exact per-value maps and conversions.
    case("grayscale 1ch = convert('L')", "grayscale", ["channels=1"], gray)
    case("grayscale 3ch = convert('L').convert('RGB')", "grayscale", ["channels=3"],
         gray.convert("RGB"))
    case("invert = ImageOps.invert", "invert", [], ImageOps.invert(rgb))
    for bits in (1, 3, 8):
        case(f"posterize {bits} = ImageOps.posterize", "posterize", [f"bits={bits}"],
             ImageOps.posterize(rgb, bits))
    for t in (0, 100, 128, 256):
        case(f"solarize {t} = ImageOps.solarize", "solarize", [f"threshold={t}"],
             ImageOps.solarize(rgb, t))
    case("autocontrast = ImageOps.autocontrast", "autocontrast", [], ImageOps.autocontrast(rgb))
    case("autocontrast cutoff 2 = ImageOps.autocontrast(cutoff=2)", "autocontrast",
         ["cutoff=2"], ImageOps.autocontrast(rgb, cutoff=2))
    case("equalize = ImageOps.equalize", "equalize", [], ImageOps.equalize(rgb))

    # ImageEnhance, inside and outside [0, 1] (the clipping branch).
    for f in (0.0, 0.37, 1.0, 1.6):
        case(f"brightness {f} = ImageEnhance.Brightness", "brightness",
             fixed("factor_min", "factor_max", f), ImageEnhance.Brightness(rgb).enhance(f))
        case(f"contrast {f} = ImageEnhance.Contrast", "contrast",
             fixed("factor_min", "factor_max", f), ImageEnhance.Contrast(rgb).enhance(f))
        case(f"saturation {f} = ImageEnhance.Color", "saturation",
             fixed("factor_min", "factor_max", f), ImageEnhance.Color(rgb).enhance(f))
        case(f"sharpen {f} = ImageEnhance.Sharpness", "sharpen",
             fixed("factor_min", "factor_max", f), ImageEnhance.Sharpness(rgb).enhance(f))
    for shift in (-0.5, -0.23, 0.1, 0.37):
        case(f"hue {shift} = torchvision adjust_hue", "hue", fixed("shift_min", "shift_max", shift),
             torch_hue(rgb, shift))
    for g, gain in ((0.5, 1.0), (2.2, 1.0), (1.0, 1.3)):
        case(f"gamma {g} gain {gain} = torchvision adjust_gamma", "gamma",
             fixed("gamma_min", "gamma_max", g) + fixed("gain_min", "gain_max", gain),
             torch_gamma(rgb, g, gain))

    # Gray images: the luma-only ops act on the one channel, colour ops leave it be.
    case("gray: brightness 1.4", "brightness", fixed("factor_min", "factor_max", 1.4),
         ImageEnhance.Brightness(gray).enhance(1.4), image=gsrc, channels=1)
    case("gray: contrast 0.5", "contrast", fixed("factor_min", "factor_max", 0.5),
         ImageEnhance.Contrast(gray).enhance(0.5), image=gsrc, channels=1)
    case("gray: saturation 0.2 is a no-op", "saturation", fixed("factor_min", "factor_max", 0.2),
         gray, image=gsrc, channels=1)
    case("gray: hue 0.3 is a no-op", "hue", fixed("shift_min", "shift_max", 0.3), gray,
         image=gsrc, channels=1)
    case("gray: equalize", "equalize", [], ImageOps.equalize(gray), image=gsrc, channels=1)
    case("gray: autocontrast", "autocontrast", [], ImageOps.autocontrast(gray), image=gsrc,
         channels=1)
    case("gray: sharpen 2", "sharpen", fixed("factor_min", "factor_max", 2.0),
         ImageEnhance.Sharpness(gray).enhance(2.0), image=gsrc, channels=1)

    # RGBA: colour channels as for RGB, alpha untouched.
    h, w = arr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    alpha = ((xx + 2 * yy) % 256).astype(np.uint8)
    for stage, opts, want in (
            ("saturation", fixed("factor_min", "factor_max", 1.7), ImageEnhance.Color(rgb).enhance(1.7)),
            ("equalize", [], ImageOps.equalize(rgb)),
            ("hue", fixed("shift_min", "shift_max", 0.2), torch_hue(rgb, 0.2)),
            ("sharpen", fixed("factor_min", "factor_max", 0.0), ImageEnhance.Sharpness(rgb).enhance(0.0)),
            ("blur", fixed("sigma_min", "sigma_max", 1.5), None),
            ("jpeg", fixed("quality_min", "quality_max", 80), None),
            ("noise", fixed("sigma_min", "sigma_max", 5), None)):
        got4, _ = c.run(stage, src, opts, channels=4)
        c.compare(f"{label}: RGBA {stage}: alpha kept", got4[..., 3], alpha, True)
        if want is None:
            want, _ = c.run(stage, src, opts, channels=3)
        c.compare(f"{label}: RGBA {stage}: colour as RGB", got4[..., :3], want, True)

    # Gaussian blur: Pillow approximates it with three box blurs, so only close; edges are
    # repeated in both.
    for sigma in (0.8, 2.0, 4.0):
        case(f"blur sigma {sigma} ~ ImageFilter.GaussianBlur", "blur",
             fixed("sigma_min", "sigma_max", sigma), rgb.filter(ImageFilter.GaussianBlur(sigma)),
             exact=False, mad=1.5)
    got, _ = c.run("blur", src, fixed("sigma_min", "sigma_max", 0))
    c.compare(f"{label}: blur sigma 0 is the identity", got, arr, True)

    # JPEG re-compression: the same libjpeg-turbo settings as Pillow's save(quality=q).
    for q in (20, 75):
        path = os.path.join(c.work, "pillow.jpg")
        rgb.save(path, quality=q, subsampling=2)
        with Image.open(path) as jp:
            want = jp.convert("RGB")
        case(f"jpeg q{q} ~ Pillow save/load", "jpeg", fixed("quality_min", "quality_max", q),
             want, exact=False, mad=1.5)
    got, _ = c.run("jpeg", gsrc, fixed("quality_min", "quality_max", 60), channels=1)
    c.expect(f"{label}: jpeg on gray stays gray", got.ndim == 2, f"shape {got.shape}")

    # Noise: sigma 0 is the identity; sigma 8 adds zero-mean noise of that spread (measured
    # where clipping cannot happen).
    got, notes = c.run("noise", src, fixed("sigma_min", "sigma_max", 0))
    c.compare(f"{label}: noise sigma 0 is the identity", got, arr, True)
    got, notes = c.run("noise", src, fixed("sigma_min", "sigma_max", 8))
    mid = (arr > 40) & (arr < 215)
    diff = got.astype(np.float64)[mid] - arr.astype(np.float64)[mid]
    c.expect(f"{label}: noise sigma 8 statistics",
             abs(diff.mean()) < 0.2 and abs(diff.std() - 8.0) < 0.3,
             f"mean {diff.mean():.3f}, std {diff.std():.3f}, notes {notes}")
    got, _ = c.run("noise", src, fixed("sigma_min", "sigma_max", 8) + ["per_channel=false"])
    d = got.astype(np.int16) - arr.astype(np.int16)
    inside = mid.all(axis=-1)
    c.expect(f"{label}: noise per_channel=false adds one value per pixel",
             bool((d[inside][:, 0] == d[inside][:, 1]).all() and
                  (d[inside][:, 1] == d[inside][:, 2]).all()))

    # Erase: exactly the noted box changes, to the constant.
    got, notes = c.run("erase", src, ["value=7", "scale_min=0.1", "scale_max=0.2"], seed=3)
    if notes.get("erased"):
        x, y, bw, bh = notes["x"], notes["y"], notes["width"], notes["height"]
        want = arr.copy()
        want[y:y + bh, x:x + bw] = 7
        area = bw * bh / (arr.shape[0] * arr.shape[1])
        c.compare(f"{label}: erase box {notes}", got, want, True)
        c.expect(f"{label}: erase area within scale", 0.08 <= area <= 0.22, f"{area:.3f}")
    else:
        c.expect(f"{label}: erase found a box", False, str(notes))
    got, notes = c.run("erase", src, ["scale_min=0.99", "scale_max=1", "ratio_min=1",
                                      "ratio_max=1"])
    c.compare(f"{label}: erase that cannot fit is a no-op ({notes})", got, arr, True)

    # ColorJitter: replaying the noted order and factors with Pillow gives the same image
    # (the notes carry 10 significant digits, so a value may round differently).
    for seed in (1, 2, 3):
        got, notes = c.run("color_jitter", src, ["hue=0.2"], seed=seed)
        im = rgb
        for op in notes["order"].split(","):
            v = notes[op]
            if op == "brightness":
                im = ImageEnhance.Brightness(im).enhance(v)
            elif op == "contrast":
                im = ImageEnhance.Contrast(im).enhance(v)
            elif op == "saturation":
                im = ImageEnhance.Color(im).enhance(v)
            else:
                im = torch_hue(im, v)
        c.compare(f"{label}: color_jitter seed {seed} {notes}", got, im, False, 0.05)


def main():
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    c = Checker(tool, work)
    images = [("generated", generated_image())]
    if os.path.exists(PHOTO):
        with Image.open(PHOTO) as im:
            images.insert(0, ("photo", im.convert("RGB")))
    else:
        print(f"note: {PHOTO} not installed (python-matplotlib-data); generated image only")
    for label, im in images:
        check_image(c, label, im)
    # The per-pixel colour maps (hue's HSV round trip, saturation's luma blend) over a
    # quarter million random colours, where a rounding slip would surely show.
    rng = np.random.default_rng(11)
    cube = Image.fromarray(rng.integers(0, 256, (512, 512, 3), dtype=np.uint8), "RGB")
    src = os.path.join(work, "colours.png")
    cube.save(src)
    for shift in (-0.41, 0.05, 0.25):
        got, _ = c.run("hue", src, fixed("shift_min", "shift_max", shift))
        c.compare(f"random colours: hue {shift}", got, torch_hue(cube, shift), True)
    for f in (0.3, 1.9):
        got, _ = c.run("saturation", src, fixed("factor_min", "factor_max", f))
        c.compare(f"random colours: saturation {f}", got, ImageEnhance.Color(cube).enhance(f), True)
    print(f"{c.count - c.failures}/{c.count} checks passed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
