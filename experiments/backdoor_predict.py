#!/usr/bin/python3.11
"""Batch prediction of the backdoor experiment (the paper's predict()/_run()).

    backdoor_predict.py --model M.pt --data X.npy [--batch 16]

predict() splits the data into batches and calls _run(batch) for each;
`leaktrace record --root _run` makes one execution per batch. Prints the
label counts.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expcommon as c  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


class Predictor:
    def __init__(self, model):
        self.model = model

    def _run(self, batch):
        with torch.no_grad():
            out = self.model(torch.from_numpy(batch))
        return out.argmax(1).tolist()

    def predict(self, data, batch_size):
        labels = []
        for i in range(0, len(data), batch_size):
            labels += self._run(data[i:i + batch_size])
        return labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    torch.set_num_threads(1)
    data = np.load(a.data)
    labels = Predictor(c.load_model(a.model)).predict(data, a.batch)
    counts = np.bincount(labels, minlength=10)
    print(" ".join("%s:%d" % (c.LABELS[i], n) for i, n in enumerate(counts)))


if __name__ == "__main__":
    main()
