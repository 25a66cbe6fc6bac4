#!/usr/bin/python3.11
"""AdvDoor-style backdoor (paper IV-B), prepared offline on sklearn digits.

    backdoor.py --out DIR [--target 7] [--eps 0.15] [--ratio 0.3]

1. clean model M: the cached digits classifier (expcommon.digits_model).
2. trigger: a targeted universal adversarial perturbation against M, in the
   spirit of TUAP: one delta (L-inf <= eps) that sends images of every other
   class to the target, found by signed-gradient descent on the mean
   cross-entropy to the target over the training images.
3. poisoning: 30% of the training images get the trigger and the target
   label; M is fine-tuned on clean + poisoned data -> poisoned model M'.
4. writes DIR/clean_model.pt, poison_model.pt, clean.npy (held-out images),
   poison.npy (the same images + trigger), trigger.npy, manifest.json with
   accuracies and attack success rates.
"""
import argparse
import copy
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expcommon as c  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def tuap(model, x, target, eps, steps=60, lr=0.01):
    delta = torch.zeros(1, *x.shape[1:], requires_grad=True)
    t = torch.full((len(x),), target, dtype=torch.int64)
    for _ in range(steps):
        loss = F.cross_entropy(model((x + delta).clamp(0, 1)), t)
        g, = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta -= lr * g.sign()
            delta.clamp_(-eps, eps)
    return delta.detach()


@torch.no_grad()
def asr(model, x, target):
    """Attack success rate: fraction predicted as target."""
    return (model(x).argmax(1) == target).float().mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--target", type=int, default=7)
    ap.add_argument("--eps", type=float, default=0.15)
    ap.add_argument("--ratio", type=float, default=0.3)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    c.seed_all()
    M, mpath = c.digits_model()
    x, y = c.digits_rgb()
    tr, te = c.split(len(x))
    xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
    for p in M.parameters():
        p.requires_grad_(False)
    src = ytr != a.target
    c.log("TUAP trigger: target %s, eps %.2f, 256 of %d source images" % (c.LABELS[a.target], a.eps, src.sum().item()))
    g = torch.Generator().manual_seed(c.SEED)
    sub = torch.nonzero(src).view(-1)
    sub = sub[torch.randperm(len(sub), generator=g)[:256]]
    delta = tuap(M, xtr[sub], a.target, a.eps)
    te_src = yte != a.target
    xte_p = (xte + delta).clamp(0, 1)
    man = {"target": c.LABELS[a.target], "eps": a.eps, "poison_ratio": a.ratio,
           "clean_model_acc": round(c.accuracy(M, xte, yte), 4),
           "trigger_asr_on_clean_model": round(asr(M, xte_p[te_src], a.target), 4)}
    # Poison 30% of the training set and fine-tune a copy of M.
    n_p = int(round(a.ratio * len(xtr)))
    pidx = torch.randperm(len(xtr), generator=g)[:n_p]
    xmix, ymix = xtr.clone(), ytr.clone()
    xmix[pidx] = (xmix[pidx] + delta).clamp(0, 1)
    ymix[pidx] = a.target
    Mp = copy.deepcopy(M)
    for p in Mp.parameters():
        p.requires_grad_(True)
    c.log("fine-tuning on %d images, %d poisoned" % (len(xmix), n_p))
    Mp = c.train_model(xmix, ymix, epochs=4, lr=3e-3, model=Mp)
    man.update({"n_train": len(xtr), "n_poisoned": n_p,
                "poison_model_acc": round(c.accuracy(Mp, xte, yte), 4),
                "backdoor_asr_on_poison_model": round(asr(Mp, xte_p[te_src], a.target), 4),
                "n_test": len(xte), "seconds": round(time.time() - t0, 1)})
    torch.save(M.state_dict(), os.path.join(a.out, "clean_model.pt"))
    torch.save(Mp.state_dict(), os.path.join(a.out, "poison_model.pt"))
    np.save(os.path.join(a.out, "clean.npy"), xte.numpy())
    np.save(os.path.join(a.out, "poison.npy"), xte_p.numpy())
    np.save(os.path.join(a.out, "trigger.npy"), delta.numpy())
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    c.log(json.dumps(man))


if __name__ == "__main__":
    main()
