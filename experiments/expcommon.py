"""Shared pieces of leaktrace's experiment workloads (run with /usr/bin/python3.11).

Data: sklearn's bundled 8x8 digits, upscaled to 32x32 RGB (no downloads).
Model: a small CNN (conv-bn-relu blocks with a residual block), trained here
in a few seconds on 2 cores and cached under the work directory, keyed by the
training configuration, so re-runs load the weights instead of training.
"""
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get("LT_WORK", os.path.join(ROOT, "work"))
LABELS = ["zero", "one", "two", "three", "four",
          "five", "six", "seven", "eight", "nine"]
SIZE = 32
SEED = 1234


def log(msg):
    print("[%s] %s" % (os.path.basename(sys.argv[0]), msg), file=sys.stderr, flush=True)


def seed_all(seed=SEED):
    import random
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def digits_rgb():
    """All 1797 digits as float32 (N,3,32,32) in [0,1] and int64 labels."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    x = x.clamp(0, 1).repeat(1, 3, 1, 1)
    # A fixed per-channel tint so the images are really RGB (dark ink on a
    # light, slightly coloured paper).
    tint = torch.tensor([0.95, 0.9, 0.8]).view(1, 3, 1, 1)
    x = (1.0 - x) * tint
    return x.contiguous(), torch.tensor(d.target, dtype=torch.int64)


def split(n, seed=SEED, test_frac=0.25):
    g = np.random.RandomState(seed)
    idx = g.permutation(n)
    k = int(n * test_frac)
    return idx[k:], idx[:k]


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(x + y)


class SmallResNet(nn.Module):
    """A ResNet-flavoured CNN for 32x32 RGB inputs (stem, 2 stages, head)."""

    def __init__(self, num_classes=10, width=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        self.layer1 = Block(width)
        self.down = nn.Sequential(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(2 * width), nn.ReLU())
        self.layer2 = Block(2 * width)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.layer1(x)
        x = self.down(x)
        x = self.layer2(x)
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


def augment(x, g):
    """Random shifts of up to 2 pixels (cheap, keeps the digit readable)."""
    n = x.shape[0]
    pad = F.pad(x, (2, 2, 2, 2), mode="replicate")
    dx = torch.randint(0, 5, (n,), generator=g)
    dy = torch.randint(0, 5, (n,), generator=g)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = pad[i, :, dy[i]:dy[i] + SIZE, dx[i]:dx[i] + SIZE]
    return out


def train_model(x, y, epochs=6, seed=SEED, lr=1e-2, bs=64, model=None, quiet=False):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    if model is None:
        model = SmallResNet()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * ((len(x) + bs - 1) // bs))
    model.train()
    for ep in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        tot = 0.0
        for i in range(0, len(x), bs):
            b = perm[i:i + bs]
            xb = augment(x[b], g)
            loss = F.cross_entropy(model(xb), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(b)
        if not quiet:
            log("epoch %d/%d loss %.4f" % (ep + 1, epochs, tot / len(x)))
    model.eval()
    return model


@torch.no_grad()
def accuracy(model, x, y, bs=256):
    model.eval()
    ok = 0
    for i in range(0, len(x), bs):
        ok += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return ok / len(x)


def cache_path(name, cfg):
    h = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:12]
    os.makedirs(os.path.join(WORK, "models"), exist_ok=True)
    return os.path.join(WORK, "models", "%s-%s.pt" % (name, h))


def digits_model(epochs=10):
    """The image experiment's classifier: train once, then load from cache."""
    cfg = {"model": "SmallResNet", "data": "digits32rgb", "epochs": epochs,
           "seed": SEED, "torch": torch.__version__, "v": 1}
    path = cache_path("digits", cfg)
    model = SmallResNet()
    if os.path.exists(path):
        model.load_state_dict(torch.load(path))
        model.eval()
        return model, path
    x, y = digits_rgb()
    tr, te = split(len(x))
    t0 = time.time()
    log("training SmallResNet on %d digits (cached at %s)" % (len(tr), path))
    seed_all()
    model = train_model(x[tr], y[tr], epochs=epochs, model=model)
    log("trained in %.1fs, held-out accuracy %.3f" % (time.time() - t0, accuracy(model, x[te], y[te])))
    torch.save(model.state_dict(), path + ".tmp")
    os.replace(path + ".tmp", path)
    return model, path


def load_model(path):
    model = SmallResNet()
    model.load_state_dict(torch.load(path))
    model.eval()
    return model


def to_uint8(x):
    """(N,3,H,W) float [0,1] -> (N,H,W,3) uint8, rounding like ToPILImage."""
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
