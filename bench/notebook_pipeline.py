"""The answer notebook's 2e pipeline, re-created for timing only: PyTorch on the CPU, a per-item Dataset like
torchvision's ToTensor, a DataLoader with a per-sample one-hot collate, a hand-written forward and backward of
FFNN(784, [512, 1024, 128], [relu, celu, swish, softmax], 10) and Adam, under torch.no_grad, then the test pass.

Not part of the kit (PyTorch is never its dependency): Debian's python3-torch runs it.
    python3 bench/notebook_pipeline.py [DIR]      # DIR: Fashion-MNIST's four .gz files (default Debian's folder)
It prints the epoch line, the test line and the seconds taken, with the process's total wall time.
    python3 bench/notebook_pipeline.py --step-time [--steps N] [--device cuda] [--json FILE]
times the training step alone (forward, backward, Adam at batch 100 on synthetic data) as `npm run bench` does:
after 5 warm-up steps, in blocks of 10 steps that end with a wait for the device; it prints ms per step (and
writes it to FILE as JSON: torch, device, msPerStep, blocks).
"""
import argparse
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from idx import read_idx

START = time.perf_counter()
parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("folder", nargs="?", default="/usr/share/datasets/fashion-mnist")
parser.add_argument("--step-time", action="store_true", help="time training steps on synthetic data only")
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--device", default="cpu", help="cpu (2 threads, as the notebook's comparison) or cuda")
parser.add_argument("--json", help="with --step-time, also write the result to this file")
ARGS = parser.parse_args()
if ARGS.device == "cpu":
    torch.set_num_threads(2)
DEVICE = torch.device(ARGS.device)
torch.manual_seed(0)
FOLDER = ARGS.folder


class Images(Dataset):
    def __init__(self, prefix):
        self.images = read_idx(f"{FOLDER}/{prefix}-images-idx3-ubyte.gz")
        self.labels = read_idx(f"{FOLDER}/{prefix}-labels-idx1-ubyte.gz")

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        # What ToTensor hands the loader: one 1x28x28 float image in [0, 1] per item.
        return torch.from_numpy(self.images[i].astype(np.float32) / 255.0).unsqueeze(0), int(self.labels[i])


def collate(batch):
    xs = torch.stack([image.view(784) for image, _ in batch])
    ys = torch.zeros(len(batch), 10)
    for row, (_, label) in enumerate(batch):
        ys[row, label] = 1
    return xs, ys


def sigmoid(t):
    return torch.reciprocal(1 + torch.exp(-t))


ACT = {
    "relu": (lambda u: torch.clamp(u, min=0), lambda u: (u > 0).float()),
    "celu": (lambda u: torch.clamp(u, min=0) + torch.clamp(torch.exp(torch.clamp(u, max=0)) - 1, max=0),
             lambda u: torch.where(u > 0, torch.ones_like(u), torch.exp(torch.clamp(u, max=0)))),
    "swish": (lambda u: u * sigmoid(u), lambda u: sigmoid(u) + u * sigmoid(u) * (1 - sigmoid(u))),
}


class Network:
    def __init__(self, sizes, acts):
        self.acts = acts
        self.w, self.b = [], []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            scale = math.sqrt(2 / n_in) if i < len(acts) and acts[i] == "relu" else math.sqrt(1 / n_in)
            self.w.append(torch.randn(n_in, n_out, device=DEVICE) * scale)
            self.b.append(torch.zeros(n_out, device=DEVICE))
        self.grads = [None] * (2 * len(self.w))

    def forward(self, x):
        self.hs, self.us = [x], []
        h = x
        for k, act in enumerate(self.acts):
            u = h @ self.w[k] + self.b[k]
            h = ACT[act][0](u)
            self.us.append(u)
            self.hs.append(h)
        z = h @ self.w[-1] + self.b[-1]
        z = z - z.max(1, keepdim=True)[0]
        e = torch.exp(z)
        return e / e.sum(1, keepdim=True)

    def backward(self, y, y_pred):
        du = (y_pred - y) / y.shape[0]
        last = len(self.w) - 1
        self.grads[2 * last] = self.hs[-1].t() @ du
        self.grads[2 * last + 1] = du.sum(0)
        dh = du @ self.w[last].t()
        for k in range(len(self.acts) - 1, -1, -1):
            du = dh * ACT[self.acts[k]][1](self.us[k])
            self.grads[2 * k] = self.hs[k].t() @ du
            self.grads[2 * k + 1] = du.sum(0)
            if k > 0:
                dh = du @ self.w[k].t()

    def params(self):
        return [t for pair in zip(self.w, self.b) for t in pair]


class Adam:
    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps, self.t = params, lr, b1, b2, eps, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.s = [torch.zeros_like(p) for p in params]

    def step(self, grads):
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads)):
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            self.s[i] = self.b2 * self.s[i] + (1 - self.b2) * g * g
            m_hat = self.m[i] / (1 - self.b1 ** self.t)
            s_hat = self.s[i] / (1 - self.b2 ** self.t)
            p -= self.lr / (self.eps + torch.sqrt(s_hat)) * m_hat


def cross_entropy(q, y):
    return torch.mean(-torch.sum(y * torch.log(torch.clamp(q, min=1e-8)), -1))


def sync():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def step_time(steps):
    net = Network([784, 512, 1024, 128, 10], ["relu", "celu", "swish"])
    adam = Adam(net.params())
    x = torch.rand(100, 784, device=DEVICE)
    y = torch.nn.functional.one_hot(torch.randint(0, 10, (100,), device=DEVICE), 10).float()

    def step():
        net.backward(y, net.forward(x))
        adam.step(net.grads)

    for _ in range(5):
        step()
    sync()
    times = []
    for done in range(0, steps, 10):
        block = min(10, steps - done)
        start = time.perf_counter()
        for _ in range(block):
            step()
        sync()
        times.append((time.perf_counter() - start) * 1000 / block)
    name = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    # As bench/measure.ts takes it: the mean of the two middle blocks when their count is even.
    median = statistics.median(times)
    print(f"PyTorch {torch.__version__} on {name}: {median:.2f} ms/step (median of {len(times)} blocks)")
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump({"torch": torch.__version__, "device": name, "msPerStep": median, "blocks": len(times)}, f)


def pass_over(net, dataset, adam=None):
    """One shuffled pass in batches of 100; given adam, backward and a step after each forward. Returns (acc %, loss)."""
    loss_sum = correct = 0
    for x, y in DataLoader(dataset, batch_size=100, shuffle=True, collate_fn=collate):
        x, y = x.to(DEVICE), y.to(DEVICE)
        y_pred = net.forward(x)
        loss_sum += cross_entropy(y_pred, y).item()
        correct += (y_pred.argmax(1) == y.argmax(1)).sum().item()
        if adam is not None:
            net.backward(y, y_pred)
            adam.step(net.grads)
    return correct / len(dataset) * 100, loss_sum / len(dataset) * 100


if ARGS.step_time:
    with torch.no_grad():
        step_time(ARGS.steps)
    sys.exit(0)

with torch.no_grad():
    train_set, test_set = Images("train"), Images("t10k")
    net = Network([784, 512, 1024, 128, 10], ["relu", "celu", "swish"])
    adam = Adam(net.params())
    epoch_start = time.perf_counter()
    acc, loss = pass_over(net, train_set, adam)
    print(f"Epoch: 1 | Acc: {acc:.2f}% | loss: {loss:.3f}  ({time.perf_counter() - epoch_start:.1f} s)")
    acc, loss = pass_over(net, test_set)
    print(f"Test Results: Acc: {acc:.2f}% | loss: {loss:.3f}")
print(f"whole process: {time.perf_counter() - START:.1f} s")
