# A small CUDA inference server's request path, for the GPU machine's check
# (bench/device_check.sh): a convolutional classifier with seeded weights on
# the GPU, `predict(batch)` per request. Each predict goes through torch's
# Python layers (Module.__call__, forward, functional helpers) and returns
# plain ints, so a recording can be compared call for call and value for
# value with the in-process oracle.
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.fc = nn.Linear(8 * 26 * 26, 10)

    def forward(self, x):
        x = F.relu(self.conv(x))
        return self.fc(torch.flatten(x, 1))


def label_of(scores):
    return int(scores.argmax().item())


def predict(model, batch):
    with torch.no_grad():
        out = model(batch)
    return [label_of(s) for s in out]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    torch.manual_seed(0)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    model = Net().to(dev).eval()
    gen = torch.Generator().manual_seed(1)
    inputs = [torch.rand(4, 1, 28, 28, generator=gen).to(dev) for _ in range(n)]
    for b in inputs:
        print(predict(model, b), flush=True)
    print("device", dev, flush=True)


main()
