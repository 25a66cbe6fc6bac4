#!/usr/bin/python3.11
"""Generate the image experiment's clean and adversarial JPEG sets.

    make_images.py --out DIR --n-clean N --n-adv M [--attacks fgsm,rfgsm,pgd,apgd]
                   [--clean-writer pil] [--adv-writer matplotlib] [--quality 95]

Writes DIR/clean/*.jpg (correctly classified digits, saved by the clean
writer) and DIR/adv/*.jpg (targeted adversarial examples, label y -> y+1 mod
10, saved by the adversarial writer), plus DIR/manifest.json with the model,
success rates and counts. The paper's setting: clean images saved by PIL
(`Image.save`), adversarial ones by matplotlib (`plt.imsave`, which passes
its default dpi=100 to PIL and so writes a 100 dpi JFIF density; PIL alone
writes density 1, unit 0). The control uses the same writer for both sets.
Both writers get the same JPEG quality, so the files differ only in what
the writers do differently.

An adversarial image is kept only if the *saved JPEG file*, decoded again
with PIL, is classified as the target (the prediction flips at the file
level). The attacks are batched; M/4 images per attack.
"""
import argparse
import io
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expcommon as c  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


def writer(name, quality):
    if name == "pil":
        from PIL import Image

        def w(u8):
            b = io.BytesIO()
            Image.fromarray(u8).save(b, format="JPEG", quality=quality)
            return b.getvalue()
    elif name == "matplotlib":
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        def w(u8):
            b = io.BytesIO()
            plt.imsave(b, u8, format="jpg", pil_kwargs={"quality": quality})
            return b.getvalue()
    else:
        raise SystemExit("make_images.py: unknown writer %r (pil or matplotlib)" % name)
    return w


def decode(blobs):
    from PIL import Image
    arr = np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in blobs])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 255.0


class Pool:
    """Endless deterministic stream of (image, label): the 1797 digits in a
    seeded order, then seeded shifted copies (used only at large scales)."""

    def __init__(self, seed):
        self.x, self.y = c.digits_rgb()
        self.seed = seed
        self.round = 0
        self.order = []
        self.pos = 0

    def take(self, n):
        xs, ys = [], []
        while n > 0:
            if self.pos >= len(self.order):
                g = torch.Generator().manual_seed(self.seed * 1000 + self.round)
                perm = torch.randperm(len(self.x), generator=g)
                xr = self.x[perm]
                if self.round > 0:
                    xr = c.augment(xr, g)
                self.order = list(zip(xr, self.y[perm]))
                self.pos = 0
                self.round += 1
            k = min(n, len(self.order) - self.pos)
            for xi, yi in self.order[self.pos:self.pos + k]:
                xs.append(xi)
                ys.append(yi)
            self.pos += k
            n -= k
        return torch.stack(xs), torch.stack(ys)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-clean", type=int, required=True)
    ap.add_argument("--n-adv", type=int, required=True)
    ap.add_argument("--attacks", default="fgsm,rfgsm,pgd,apgd")
    ap.add_argument("--clean-writer", default="pil")
    ap.add_argument("--adv-writer", default="matplotlib")
    ap.add_argument("--quality", type=int, default=95)
    ap.add_argument("--seed", type=int, default=c.SEED)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    import attacks as A
    names = [s for s in a.attacks.split(",") if s]
    for s in names:
        if s not in A.ATTACKS:
            raise SystemExit("make_images.py: unknown attack %r (have %s)" % (s, ",".join(A.ATTACKS)))
    if a.n_clean < 0 or a.n_adv < 0:
        raise SystemExit("make_images.py: counts must be >= 0")
    t_start = time.time()
    c.seed_all(a.seed)
    model, model_path = c.digits_model()
    for p in model.parameters():
        p.requires_grad_(False)
    wclean, wadv = writer(a.clean_writer, a.quality), writer(a.adv_writer, a.quality)
    dclean, dadv = os.path.join(a.out, "clean"), os.path.join(a.out, "adv")
    for d in (dclean, dadv):
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.endswith(".jpg"):
                os.unlink(os.path.join(d, f))
    man = {"model": os.path.relpath(model_path, c.ROOT), "clean_writer": a.clean_writer,
           "adv_writer": a.adv_writer, "quality": a.quality, "seed": a.seed,
           "n_clean": a.n_clean, "n_adv": 0, "attacks": {}}

    # Clean images: correctly classified after the JPEG round trip.
    pool = Pool(a.seed)
    kept = 0
    tried = correct = 0
    while kept < a.n_clean:
        xb, yb = pool.take(min(a.batch, a.n_clean - kept + 8))
        blobs = [wclean(u) for u in c.to_uint8(xb)]
        with torch.no_grad():
            pred = model(decode(blobs)).argmax(1)
        tried += len(blobs)
        correct += (pred == yb).sum().item()
        for b, y, p in zip(blobs, yb.tolist(), pred.tolist()):
            if p == y and kept < a.n_clean:
                with open(os.path.join(dclean, "clean_%05d_%s.jpg" % (kept, c.LABELS[y])), "wb") as f:
                    f.write(b)
                kept += 1
    man["clean_accuracy_after_jpeg"] = round(correct / max(tried, 1), 4) if a.n_clean else None
    c.log("clean: %d images (%s writer)" % (kept, a.clean_writer))

    # Adversarial images, M/len(attacks) per attack.
    apool = Pool(a.seed + 1)
    gen = torch.Generator().manual_seed(a.seed)
    quota = {s: a.n_adv // len(names) + (1 if i < a.n_adv % len(names) else 0) for i, s in enumerate(names)}
    serial = 0
    for s in names:
        t0 = time.time()
        st = {"tried": 0, "flip_in_memory": 0, "flip_after_jpeg": 0, "kept": 0, "linf_max": 0.0}
        rounds = 0
        while st["kept"] < quota[s]:
            rounds += 1
            if rounds > 200:
                raise SystemExit("make_images.py: attack %s cannot reach %d successes" % (s, quota[s]))
            # batch: about twice what is still missing (attacks are batched)
            xb, yb = apool.take(min(a.batch, max(16, 2 * (quota[s] - st["kept"]))))
            with torch.no_grad():
                ok = model(xb).argmax(1) == yb
            xb, yb = xb[ok], yb[ok]
            t = (yb + 1) % 10
            xa = A.ATTACKS[s](model, xb, t, gen=gen)
            st["linf_max"] = max(st["linf_max"], (xa - xb).abs().max().item())
            u8 = c.to_uint8(xa)
            with torch.no_grad():
                mem = model(torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255).argmax(1) == t
                blobs = [wadv(u) for u in u8]
                filep = model(decode(blobs)).argmax(1) == t
            st["tried"] += len(blobs)
            st["flip_in_memory"] += mem.sum().item()
            st["flip_after_jpeg"] += (filep & mem).sum().item()
            for b, y, tt, m_, f_ in zip(blobs, yb.tolist(), t.tolist(), mem.tolist(), filep.tolist()):
                if m_ and f_ and st["kept"] < quota[s]:
                    name = "%s_%05d_%s-to-%s.jpg" % (s, serial, c.LABELS[y], c.LABELS[tt])
                    with open(os.path.join(dadv, name), "wb") as f:
                        f.write(b)
                    st["kept"] += 1
                    serial += 1
        st["linf_max"] = round(st["linf_max"], 4)
        st["seconds"] = round(time.time() - t0, 1)
        man["attacks"][s] = st
        man["n_adv"] += st["kept"]
        c.log("%s: kept %d, success %d/%d in memory, %d/%d after JPEG, %.1fs" % (
            s, st["kept"], st["flip_in_memory"], st["tried"], st["flip_after_jpeg"], st["tried"], st["seconds"]))
    man["seconds"] = round(time.time() - t_start, 1)
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1, sort_keys=True)
    c.log("wrote %d clean, %d adversarial images under %s in %.1fs" % (kept, man["n_adv"], a.out, man["seconds"]))


if __name__ == "__main__":
    main()
