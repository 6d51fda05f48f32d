"""The homework's experiments as idiomatic PyTorch writes them, for timing only: PyTorch at its best on the CPU, the
peer the kit is measured against (docs/performance.md). nn.Module layers with autograd, torch.optim (Adam, or SGD
with momentum and weight decay), nn.Dropout, and the data as tensors in memory, batched by slicing a permutation
(no per-item DataLoader).

Not part of the kit (PyTorch is never its dependency): a venv with `pip install torch numpy` (the CPU build, with
oneDNN and MKL) runs it at its best; Debian's python3-torch, older and on OpenBLAS, runs it too.
    python3 bench/torch_pipeline.py 2e [--epochs N] [--threads N] [DIR]   # Adam, heuristic init, batch 100
    python3 bench/torch_pipeline.py 1c-baseline | 1c-dropout [--epochs N]  # SGD lr 1e-5, randn init, batch 200
DIR holds Fashion-MNIST's four .gz files (default Debian's folder). It prints each epoch's line, the test line (for 1c
also the training set's without dropout, as the kit's 1c measures it for the gaps) and the process's whole wall time.
"""
import argparse
import time

import numpy as np
import torch
from torch import nn
from idx import read_idx

START = time.perf_counter()
parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("setting", choices=["2e", "1c-baseline", "1c-dropout"])
parser.add_argument("folder", nargs="?", default="/usr/share/datasets/fashion-mnist")
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--threads", type=int, default=2)
ARGS = parser.parse_args()
torch.set_num_threads(ARGS.threads)
# Denormal numbers, which 1c's N(0, 1) weights bring into the gradients, flushed to zero as TensorFlow flushes them:
# without it PyTorch's 1c takes twice as long.
torch.set_flush_denormal(True)
torch.manual_seed(0)


def split(prefix):
    images = torch.from_numpy(read_idx(f"{ARGS.folder}/{prefix}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
    labels = torch.from_numpy(read_idx(f"{ARGS.folder}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64))
    return images, labels


class Swish(nn.Module):
    def forward(self, u):
        return u * torch.sigmoid(u)


def network(init, keep):
    """FFNN(784, [512, 1024, 128], [relu, celu, swish, softmax], 10), inverted dropout with keep[k] on layer k's input."""
    sizes, acts = [784, 512, 1024, 128, 10], [nn.ReLU(), nn.CELU(), Swish(), None]
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if keep[k] < 1:
            layers.append(nn.Dropout(1 - keep[k]))
        linear = nn.Linear(n_in, n_out)
        with torch.no_grad():
            if init == "randn":
                linear.weight.normal_(0, 1)
            else:
                # The heuristic: He for the relu layer, Xavier (N(0, 1/n_in)) elsewhere.
                linear.weight.normal_(0, (2 / n_in if k == 0 else 1 / n_in) ** 0.5)
            linear.bias.zero_()
        layers.append(linear)
        if acts[k] is not None:
            layers.append(acts[k])
    return nn.Sequential(*layers)


if ARGS.setting == "2e":
    net, batch = network("heuristic", [1, 1, 1, 1]), 100
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
else:
    keep = [1.0, 0.8, 0.8, 0.9] if ARGS.setting == "1c-dropout" else [1, 1, 1, 1]
    net, batch = network("randn", keep), 200
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-5)

train_x, train_y = split("train")
test_x, test_y = split("t10k")
loss_fn = nn.CrossEntropyLoss()
for epoch in range(1, ARGS.epochs + 1):
    started = time.perf_counter()
    net.train()
    order = torch.randperm(len(train_y))
    loss_sum = correct = batches = 0
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        x, y = train_x[rows], train_y[rows]
        logits = net(x)
        loss = loss_fn(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item()
        correct += (logits.argmax(1) == y).sum().item()
        batches += 1
    print(f"Epoch: {epoch} | Acc: {100 * correct / len(train_y):.2f}% | loss: {loss_sum / batches:.3f}  ({time.perf_counter() - started:.1f} s)")

net.eval()
with torch.no_grad():
    passes = [("Test Results", test_x, test_y)] + ([("Train set without dropout", train_x, train_y)] if ARGS.setting != "2e" else [])
    for name, xs, ys in passes:
        logits = torch.cat([net(xs[i : i + 1000]) for i in range(0, len(ys), 1000)])
        print(f"{name}: Acc: {100 * (logits.argmax(1) == ys).float().mean().item():.2f}% | loss: {loss_fn(logits, ys).item():.3f}")
print(f"whole process: {time.perf_counter() - START:.1f} s")
