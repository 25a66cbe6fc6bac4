# Small torch inference loop: a tiny CNN forward on random input, ITERS
# times under one root call `infer_loop`. Prints JSON with the loop time
# measured inside (imports and model construction excluded).
# With stdin a pipe it waits for a line before the loop (the driver attaches
# a tracer first) and, with --hold, for another line before exiting.
import json, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.conv2(x))
        return self.fc(self.pool(x))


def predict(model, x):
    with torch.no_grad():
        out = model(x)
    return int(out.argmax(dim=1)[0])


def infer_loop(model, xs, iter_s):
    # each iteration timed: the median iteration resists bursts of other jobs
    labels = []
    for x in xs:
        t = time.perf_counter()
        labels.append(predict(model, x))
        iter_s.append(time.perf_counter() - t)
    return len(labels)


def main():
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    hold = "--hold" in sys.argv
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = TinyCNN().eval()
    xs = [torch.randn(1, 3, 32, 32) for _ in range(iters)]
    predict(model, xs[0])  # warm up outside the measured loop
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    iter_s = []
    infer_loop(model, xs, iter_s)
    t1 = time.perf_counter()
    print(json.dumps({"workload": "torch", "iters": iters, "loop_s": t1 - t0,
                      "chunk_s": iter_s}), flush=True)
    if hold:
        sys.stdin.readline()


main()
