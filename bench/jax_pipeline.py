"""The homework's experiments as JAX at its best writes them, for timing only: the whole training step (forward,
gradient by jax.grad, optax's update, dropout's masks) compiled by jax.jit, the data as arrays in memory, batched by
slicing a permutation. The peer the kit is measured against beside PyTorch (docs/performance.md).

Not part of the kit (JAX is never its dependency): a venv with `pip install jax optax numpy` runs it.
    python bench/jax_pipeline.py 2e [--epochs N] [DIR]                     # Adam, heuristic init, batch 100
    python bench/jax_pipeline.py 1c-baseline | 1c-dropout [--epochs N]     # SGD lr 1e-5, randn init, batch 200
DIR holds Fashion-MNIST's four .gz files (default Debian's folder). It prints each epoch's line, the test line (for 1c
also the training set's without dropout) and the process's whole wall time, as torch_pipeline.py does.
"""
import argparse
import time

import numpy as np

START = time.perf_counter()
import jax  # noqa: E402  (the import's time counts, as PyTorch's does)
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from idx import read_idx  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("setting", choices=["2e", "1c-baseline", "1c-dropout"])
parser.add_argument("folder", nargs="?", default="/usr/share/datasets/fashion-mnist")
parser.add_argument("--epochs", type=int, default=1)
ARGS = parser.parse_args()

SIZES = [784, 512, 1024, 128, 10]


def split(prefix):
    images = read_idx(f"{ARGS.folder}/{prefix}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    labels = read_idx(f"{ARGS.folder}/{prefix}-labels-idx1-ubyte.gz").astype(np.int32)
    return jnp.asarray(images), jnp.asarray(labels)


def network(key, init):
    """The weights of FFNN(784, [512, 1024, 128], [relu, celu, swish, softmax], 10), biases zero."""
    params = []
    for k, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        key, sub = jax.random.split(key)
        scale = 1.0 if init == "randn" else (2 / n_in if k == 0 else 1 / n_in) ** 0.5
        params.append((scale * jax.random.normal(sub, (n_in, n_out), jnp.float32), jnp.zeros((n_out,), jnp.float32)))
    return params


def logits(params, x, keep, key):
    """The network's output before softmax; inverted dropout with keep[k] on layer k's input where a key is given."""
    h = x
    for k, (w, b) in enumerate(params):
        if key is not None and keep[k] < 1:
            key, sub = jax.random.split(key)
            h = jnp.where(jax.random.bernoulli(sub, keep[k], h.shape), h / keep[k], 0.0)
        u = h @ w + b
        h = [jax.nn.relu, jax.nn.celu, jax.nn.swish, lambda v: v][k](u)
    return h


def loss_fn(params, x, y, keep, key):
    out = logits(params, x, keep, key)
    return optax.softmax_cross_entropy_with_integer_labels(out, y).mean(), out


if ARGS.setting == "2e":
    init, keep, batch, optimizer = "heuristic", (1, 1, 1, 1), 100, optax.adam(1e-3)
else:
    keep = (1.0, 0.8, 0.8, 0.9) if ARGS.setting == "1c-dropout" else (1, 1, 1, 1)
    init, batch, optimizer = "randn", 200, optax.sgd(1e-5)

params = network(jax.random.PRNGKey(0), init)
state = optimizer.init(params)


@jax.jit
def step(params, state, x, y, key):
    (loss, out), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, x, y, keep, key)
    updates, state = optimizer.update(grads, state, params)
    return optax.apply_updates(params, updates), state, loss, (out.argmax(1) == y).sum()


@jax.jit
def evaluate(params, x, y):
    out = logits(params, x, keep, None)
    return optax.softmax_cross_entropy_with_integer_labels(out, y).mean(), (out.argmax(1) == y).mean()


train_x, train_y = split("train")
test_x, test_y = split("t10k")
key = jax.random.PRNGKey(1)
for epoch in range(1, ARGS.epochs + 1):
    started = time.perf_counter()
    key, sub = jax.random.split(key)
    order = jax.random.permutation(sub, len(train_y))
    losses, correct = [], []
    for start in range(0, len(train_y), batch):
        rows = order[start : start + batch]
        key, sub = jax.random.split(key)
        params, state, loss, hits = step(params, state, train_x[rows], train_y[rows], sub)
        losses.append(loss)
        correct.append(hits)
    loss, acc = float(jnp.stack(losses).mean()), float(jnp.stack(correct).sum()) / len(train_y)
    print(f"Epoch: {epoch} | Acc: {100 * acc:.2f}% | loss: {loss:.3f}  ({time.perf_counter() - started:.1f} s)")

passes = [("Test Results", test_x, test_y)] + ([("Train set without dropout", train_x, train_y)] if ARGS.setting != "2e" else [])
for name, xs, ys in passes:
    parts = [evaluate(params, xs[i : i + 1000], ys[i : i + 1000]) for i in range(0, len(ys), 1000)]
    loss, acc = (float(np.mean([float(p[j]) for p in parts])) for j in (0, 1))
    print(f"{name}: Acc: {100 * acc:.2f}% | loss: {loss:.3f}")
print(f"whole process: {time.perf_counter() - START:.1f} s")
