#!/usr/bin/python3.11
"""Classify images one by one, the paper's Algorithm 2.

    predict.py [--model WEIGHTS.pt] DIR_OR_FILE...

Each image goes through one call of the top-level function `predict(path)`
(PIL.Image.open, convert, to tensor, model, argmax, label), so
`leaktrace record --root predict` sees one execution per image. Files
(*.jpg, *.jpeg, *.png) are taken from the arguments in order, directories
expanded in sorted order. Prints "path label" per image.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expcommon as c  # noqa: E402

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision.transforms import functional as TF  # noqa: E402

MODEL = None
EXTS = (".jpg", ".jpeg", ".png")


def predict(path):
    img = Image.open(path)
    img = img.convert("RGB")
    if img.size != (c.SIZE, c.SIZE):
        img = img.resize((c.SIZE, c.SIZE))
    img_t = TF.to_tensor(img).unsqueeze(0)
    with torch.no_grad():
        output = MODEL(img_t)
    _, predicted = torch.max(output, 1)
    return c.LABELS[predicted.item()]


def inputs(args):
    out = []
    for a in args:
        if os.path.isdir(a):
            out += [os.path.join(a, f) for f in sorted(os.listdir(a)) if f.lower().endswith(EXTS)]
        elif os.path.isfile(a):
            out.append(a)
        else:
            raise SystemExit("predict.py: no such file or directory: %s" % a)
    return out


def main():
    global MODEL
    ap = argparse.ArgumentParser(description="classify images, one predict() call each")
    ap.add_argument("--model", help="weights (.pt); default: the cached digits model (trained if missing)")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    files = inputs(a.paths)
    if not files:
        raise SystemExit("predict.py: no images (*.jpg, *.jpeg, *.png) in %s" % " ".join(a.paths))
    torch.set_num_threads(1)
    MODEL = c.load_model(a.model) if a.model else c.digits_model()[0]
    for f in files:
        print(f, predict(f), flush=False)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
