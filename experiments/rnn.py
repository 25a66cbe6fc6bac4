#!/usr/bin/python3.11
"""RNN timing experiment (paper IV-C, RNN-Test / DeepSpeech), offline.

    rnn.py prepare --out DIR [--n 19]      model, clean and adversarial inputs
    rnn.py stt FILE_OR_DIR...              transcribe, one stt() call per file

A toy "speech" task: an utterance is a sequence of symbols from a 6-letter
alphabet, each spoken for 8-14 frames; a frame is the symbol's fixed 8-dim
feature vector plus Gaussian noise. A one-layer LSTM (hidden 32) gives
per-frame letter probabilities; stt() decodes them with a prefix beam
search in Python that keeps, per frame, the letters making up 99.9% of the
probability mass (DeepSpeech's cutoff_prob idea) and a beam of 8, then
returns the transcript. Its cost depends on how confident the network is.
Adversarial inputs: a targeted PGD attack on the input features (L-inf 0.6)
that rewrites a third of the utterance's frames to other letters; each is
checked to change the transcript.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expcommon as c  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ALPHA = "abcdef"
DIM = 8
NOISE = 0.6
SYMS = 60


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(DIM, 32, batch_first=True)
        self.fc = nn.Linear(32, len(ALPHA))

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.fc(h)


def utterance(g, emb, syms=SYMS):
    s = g.randint(0, len(ALPHA), size=syms)
    for i in range(1, syms):          # no immediate repeats (no blank symbol)
        while s[i] == s[i - 1]:
            s[i] = g.randint(0, len(ALPHA))
    lens = g.randint(8, 15, size=syms)
    lab = np.repeat(s, lens)
    x = emb[lab] + NOISE * g.randn(len(lab), DIM)
    return x.astype(np.float32), lab.astype(np.int64)


def model_and_emb(work):
    g = np.random.RandomState(c.SEED)
    emb = g.randn(len(ALPHA), DIM).astype(np.float32)
    path = c.cache_path("rnn", {"v": 1, "noise": NOISE, "dim": DIM, "seed": c.SEED})
    torch.manual_seed(c.SEED)
    net = Net()
    if os.path.exists(path):
        net.load_state_dict(torch.load(path))
    else:
        data = [utterance(g, emb, 20) for _ in range(200)]
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        t0 = time.time()
        for ep in range(8):
            tot = 0
            for i in range(0, len(data), 20):
                b = data[i:i + 20]
                n = min(len(x) for x, _ in b)
                x = torch.tensor(np.stack([x[:n] for x, _ in b]))
                y = torch.tensor(np.stack([y[:n] for _, y in b]))
                loss = F.cross_entropy(net(x).reshape(-1, len(ALPHA)), y.reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
                tot += loss.item()
            c.log("rnn epoch %d loss %.4f" % (ep + 1, tot / 10))
        c.log("trained in %.1fs" % (time.time() - t0))
        torch.save(net.state_dict(), path)
    net.eval()
    return net, emb, path


def beam_decode(probs, beam=8, cutoff=0.999):
    beams = {"": 0.0}                         # prefix -> log prob (last letter = state)
    for p in probs:
        order = sorted(range(len(p)), key=lambda k: -p[k])
        cands, mass = [], 0.0
        for k in order:
            cands.append(k)
            mass += p[k]
            if mass >= cutoff:
                break
        nxt = {}
        for prefix, lp in beams.items():
            for k in cands:
                ch = ALPHA[k]
                np_ = prefix if prefix.endswith(ch) else prefix + ch
                v = lp + float(np.log(p[k] + 1e-12))
                if v > nxt.get(np_, -1e30):
                    nxt[np_] = v
        beams = dict(sorted(nxt.items(), key=lambda kv: -kv[1])[:beam])
    return max(beams.items(), key=lambda kv: kv[1])[0]


NET = None


def stt(path):
    x = torch.from_numpy(np.load(path)).unsqueeze(0)
    with torch.no_grad():
        probs = F.softmax(NET(x), -1)[0].numpy().astype(np.float64)
    return beam_decode(probs)


def greedy(net, x):
    with torch.no_grad():
        a = net(torch.from_numpy(x).unsqueeze(0))[0].argmax(-1).tolist()
    return "".join(ALPHA[k] for i, k in enumerate(a) if i == 0 or a[i - 1] != k)


def attack(net, x, lab, g, eps=0.6, steps=40, alpha=0.05):
    """Targeted PGD: frames of every third symbol are pushed to another letter."""
    tgt = lab.copy()
    bounds = np.flatnonzero(np.diff(lab)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(lab)]])
    for j in range(0, len(starts), 3):
        a, b = starts[j], ends[j]
        choices = [k for k in range(len(ALPHA)) if k != lab[a]
                   and (a == 0 or k != tgt[a - 1]) and (b >= len(lab) or k != lab[b])]
        tgt[a:b] = choices[g.randint(len(choices))]
    x0 = torch.from_numpy(x).unsqueeze(0)
    t = torch.from_numpy(tgt)
    xa = x0.clone()
    for _ in range(steps):
        xa.requires_grad_(True)
        loss = F.cross_entropy(net(xa)[0], t)
        gr, = torch.autograd.grad(loss, xa)
        xa = (x0 + (xa.detach() - alpha * gr.sign() - x0).clamp(-eps, eps)).detach()
    return xa[0].numpy()


def prepare(a):
    net, emb, mpath = model_and_emb(c.WORK)
    for p in net.parameters():
        p.requires_grad_(False)
    g = np.random.RandomState(c.SEED + 7)
    os.makedirs(os.path.join(a.out, "clean"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "adv"), exist_ok=True)
    for sub in ("clean", "adv"):
        for f in os.listdir(os.path.join(a.out, sub)):
            os.unlink(os.path.join(a.out, sub, f))
    rows, changed = [], 0
    for i in range(a.n):
        x, lab = utterance(g, emb)
        xa = attack(net, x, lab, g)
        ref = "".join(ALPHA[k] for j, k in enumerate(lab) if j == 0 or lab[j - 1] != k)
        tc, ta = greedy(net, x), greedy(net, xa)
        changed += ta != tc
        np.save(os.path.join(a.out, "clean", "%03d.npy" % i), x)
        np.save(os.path.join(a.out, "adv", "%03d.npy" % i), xa.astype(np.float32))
        rows.append({"i": i, "frames": len(lab), "ref": ref, "clean": tc, "adv": ta})
    man = {"n": a.n, "model": os.path.relpath(mpath, c.ROOT), "transcript_changed": changed,
           "clean_exact": sum(r["clean"] == r["ref"] for r in rows), "rows": rows}
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    c.log("%d pairs; adversarial transcript differs in %d; clean transcript exact in %d"
          % (a.n, changed, man["clean_exact"]))


def main():
    global NET
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=19)
    p = sub.add_parser("stt")
    p.add_argument("paths", nargs="+")
    a = ap.parse_args()
    if a.cmd == "prepare":
        prepare(a)
        return
    torch.set_num_threads(1)
    NET = model_and_emb(c.WORK)[0]
    files = []
    for p in a.paths:
        files += [os.path.join(p, f) for f in sorted(os.listdir(p)) if f.endswith(".npy")] if os.path.isdir(p) else [p]
    for f in files:
        print(f, stt(f))


if __name__ == "__main__":
    main()
