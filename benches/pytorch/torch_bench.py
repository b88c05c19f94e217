#!/usr/bin/env python3
"""The PyTorch (CPU) side of `distillery bench`: the same workloads, names, metrics and JSON.

    python torch_bench.py                        # a table of every workload, all cores
    python torch_bench.py --json --threads 2     # one JSON object per line (benches/compare.py)
    python torch_bench.py --only gemm_f32_1024,mlp_teacher_train
    python torch_bench.py --list

Each workload mirrors one of `experiments/src/bench/workloads.rs` (same shapes, batch sizes,
optimisers and learning rates; the inputs are random from seed 0 on both sides, but not the same
numbers). Timing follows the Rust side: 3 warm-up calls, then 5 timed blocks of equal repetition
count lasting `--min-time` seconds together; the figure is the median block.

glibc's malloc serves large blocks with mmap and unmaps them on free until a large block has been
freed once, after which its threshold moves up. A workload's speed would then depend on what ran
before it in the process (up to 1.5x for a training step), so the thresholds are fixed with
mallopt before anything runs; `--default-malloc` leaves glibc alone. The Rust side does the same
(experiments/src/malloc.rs).
"""
import argparse
import ctypes
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SEED = 0
WARMUP = 3
BLOCKS = 5
RSS_STEPS = 100


def fix_malloc_thresholds():
    """Serve blocks up to 32 MiB from the heap and keep freed memory: glibc's steady state."""
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if not (mallopt and mallopt(m_mmap_threshold, 32 << 20) and mallopt(m_trim_threshold, 1 << 30)):
        sys.exit("torch_bench.py: mallopt failed (not glibc?); run with --default-malloc")


def seconds_per_call(step, min_time):
    """The median, over BLOCKS timed blocks, of the seconds one call of step() takes."""
    for _ in range(WARMUP):
        step()

    def block(reps):
        start = time.perf_counter()
        for _ in range(reps):
            step()
        return time.perf_counter() - start

    reps, block_min = 1, min_time / BLOCKS
    while (elapsed := block(reps)) < block_min:
        reps = max(2 * reps, math.ceil(reps * block_min / max(elapsed, 1e-9)))
    return statistics.median(block(reps) / reps for _ in range(BLOCKS))


def rate(count):
    """The metric `count` per second of one call (samples, solves, GFLOP)."""
    return lambda seconds: count / seconds


# ------------------------------------------------------------------------------------- models

def mlp(sizes):
    """Linear layers with bias and ReLU between them, PyTorch's default initialisation."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


def lenet():
    """The LeNet-5-like CNN of the Rust side on 1x28x28 inputs."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def inputs_and_labels(shape):
    return torch.randn(*shape), torch.randint(0, 10, (shape[0],))


def training(model, make_optimizer, shape):
    """One step of cross-entropy training on a fixed batch: zero, forward, backward, update."""
    optimizer, (x, y) = make_optimizer(model.parameters()), inputs_and_labels(shape)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return step, rate(shape[0])


def adam(params):
    return torch.optim.Adam(params, lr=1e-3)


def sgd(params):
    return torch.optim.SGD(params, lr=0.1)


# ---------------------------------------------------------------------------------- workloads
# Each returns (step, to_metric): step() is the timed call, to_metric(seconds) its figure.

def gemm(n, dtype=torch.float32, transposed=None):
    """C = A B into a preallocated C; a transposed operand is a view (MKL gets a flag, no copy)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    c = torch.empty(n, n, dtype=dtype)
    lhs, rhs = (a.t() if transposed == "a" else a), (b.t() if transposed == "b" else b)
    return (lambda: torch.mm(lhs, rhs, out=c)), rate(2 * n**3 / 1e9)


def mlp_teacher_infer():
    model, (x, _) = mlp([784, 800, 50, 10]), inputs_and_labels((1024, 784))

    def step():
        with torch.no_grad():
            model(x)
    return step, rate(1024)


def convolution(n, cin, cout, hw, backward, padding, dilation):
    """3x3 conv2d without bias; backward = the input and weight gradients from a fixed dy."""
    x = torch.randn(n, cin, hw, hw, requires_grad=backward)
    w = torch.randn(cout, cin, 3, 3, requires_grad=backward)

    def forward():
        return F.conv2d(x, w, padding=padding, dilation=dilation)
    if not backward:
        return forward
    dy = torch.randn_like(forward())
    return lambda: torch.autograd.grad(forward(), (x, w), dy)


CONV_GFLOP = 2 * 32 * 64 * 14 * 14 * 32 * 9 / 1e9  # the forward; its backward is twice that


def conv_32_64(backward):
    step = convolution(32, 32, 64, 14, backward, padding=1, dilation=1)
    return step, rate(CONV_GFLOP * (3 if backward else 1))


def conv_dilated_fwdbwd():
    return convolution(128, 1, 8, 28, True, padding=2, dilation=2), rate(128)


CHAIN_OPS = 10_000


def tape_overhead_scalar_chain():
    """y <- y*w, y <- y+b, y <- tanh(y), ... on one-element leaves, then backward: µs per op."""
    x, w, b = (torch.tensor([v], requires_grad=True) for v in (0.5, 0.9, 0.1))

    def step():
        y = x
        for i in range(CHAIN_OPS):
            if i % 3 == 0:
                y = y * w
            elif i % 3 == 1:
                y = y + b
            else:
                y = torch.tanh(y)
        y.backward()
    return step, lambda seconds: seconds / CHAIN_OPS * 1e6


def hvp_mlp_teacher():
    """H v of the batch loss in all parameters: the gradient of (gradient . v)."""
    model, (x, y) = mlp([784, 800, 50, 10]), inputs_and_labels((256, 784))
    params = list(model.parameters())
    v = [torch.randn_like(p) for p in params]

    def step():
        g = torch.autograd.grad(F.cross_entropy(model(x), y), params, create_graph=True)
        torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), params)
    return step, rate(1)


def exact_w1(n, dim=64):
    """The exact W1 of two uniform n-point clouds in R^dim (N(0, I) and N(1, I)): the distance
    matrix and SciPy's assignment solver, in f64, as methods::transfer::exact_w1 does."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist
    rng = np.random.default_rng(SEED)
    p, q = rng.standard_normal((n, dim)), rng.standard_normal((n, dim)) + 1.0

    def step():
        cost = cdist(p, q)
        rows, cols = linear_sum_assignment(cost)
        return cost[rows, cols].mean()
    return step, rate(1)


class Vae(nn.Module):
    """S1's VAE as `methods::multidomain::vae::Vae` builds it: encoder 784-200-(64, 64) with
    LeakyReLU(0.01), two decoders 64-200-784, Bernoulli likelihoods on logits, prior N(0, I)."""

    def __init__(self, d=784, hidden=200, latent=64):
        super().__init__()
        self.encoder, self.mean, self.log_var = nn.Linear(d, hidden), nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.clothes, self.digits = (nn.Sequential(nn.Linear(latent, hidden), nn.LeakyReLU(0.01),
                                                   nn.Linear(hidden, d)) for _ in range(2))

    def neg_elbo(self, clothes, digits):
        """The mean over the batch of -[log p(c|z) + log p(d|z) - KL(q(z|c) || N(0, I))]."""
        h = F.leaky_relu(self.encoder(clothes), 0.01)
        mu, log_var = self.mean(h), self.log_var(h)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        nll = sum(F.binary_cross_entropy_with_logits(dec(z), x, reduction="sum")
                  for dec, x in ((self.clothes, clothes), (self.digits, digits)))
        kl = 0.5 * (log_var.exp() + mu**2 - 1 - log_var).sum()
        return (nll + kl) / clothes.shape[0]


def vae_train_step():
    """One Adam step (lr 1e-3) on the mean -ELBO of 128 clothes images and their paired digits."""
    model, clothes, digits = Vae(), torch.rand(128, 784), torch.rand(128, 784)
    optimizer = adam(model.parameters())

    def step():
        optimizer.zero_grad(set_to_none=True)
        model.neg_elbo(clothes, digits).backward()
        optimizer.step()
    return step, rate(128)


def laplace_ggn_full_6050():
    """The full GGN Laplace precision of the bias-free [10, 100, 50, 1] ReLU teacher (6,050
    weights) on 900 objects, Gaussian likelihood s^2 = 0.1, prior precision 1:
    Lambda = I + (1/s^2) J^T J with J the per-object Jacobian of the output, then Cholesky."""
    from torch.func import functional_call, jacrev, vmap
    torch.set_default_dtype(torch.float64)
    model = nn.Sequential(nn.Linear(10, 100, bias=False), nn.ReLU(), nn.Linear(100, 50, bias=False),
                          nn.ReLU(), nn.Linear(50, 1, bias=False))
    torch.set_default_dtype(torch.float32)
    params = {k: v.detach() for k, v in model.named_parameters()}
    x = torch.randn(900, 10, dtype=torch.float64)

    def output(p, xi):
        return functional_call(model, p, (xi.unsqueeze(0),)).squeeze()

    def step():
        jac = vmap(jacrev(output), in_dims=(None, 0))(params, x)
        j = torch.cat([jac[k].reshape(900, -1) for k in params], dim=1)
        precision = torch.eye(j.shape[1], dtype=torch.float64) + (j.T @ j) / 0.1
        torch.linalg.cholesky(precision)
    return step, rate(1)


def peak_rss_child():
    """In a fresh interpreter: RSS_STEPS teacher training steps, then the peak RSS in MiB."""
    torch.manual_seed(SEED)
    step, _ = training(mlp([784, 800, 50, 10]), adam, (256, 784))
    for _ in range(RSS_STEPS):
        step()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # Linux reports KiB


def peak_rss_mlp_train(args):
    cmd = [sys.executable, os.path.abspath(__file__), "--rss-child", "--threads", str(args.threads)]
    out = subprocess.run(cmd + ["--default-malloc"] * args.default_malloc,
                         check=True, capture_output=True, text=True)
    return float(out.stdout.split()[-1])


# name -> (metric, higher is better, workload); the order of the Rust side's WORKLOADS.
WORKLOADS = {
    "gemm_f32_256": ("GFLOP/s", True, lambda: gemm(256)),
    "gemm_f32_512": ("GFLOP/s", True, lambda: gemm(512)),
    "gemm_f32_1024": ("GFLOP/s", True, lambda: gemm(1024)),
    "gemm_f32_2048": ("GFLOP/s", True, lambda: gemm(2048)),
    "gemm_f64_1024": ("GFLOP/s", True, lambda: gemm(1024, torch.float64)),
    "gemm_f32_at_b_1024": ("GFLOP/s", True, lambda: gemm(1024, transposed="a")),
    "gemm_f32_a_bt_1024": ("GFLOP/s", True, lambda: gemm(1024, transposed="b")),
    "mlp_teacher_train": ("samples/s", True, lambda: training(mlp([784, 800, 50, 10]), adam, (256, 784))),
    "mlp_teacher_infer": ("samples/s", True, mlp_teacher_infer),
    "logreg_train": ("samples/s", True, lambda: training(mlp([784, 10]), sgd, (256, 784))),
    "mlp4_train": ("samples/s", True, lambda: training(mlp([784, 256, 256, 256, 10]), adam, (256, 784))),
    "lenet_train": ("samples/s", True, lambda: training(lenet(), adam, (128, 1, 28, 28))),
    "conv_32_64_fwd": ("GFLOP/s", True, lambda: conv_32_64(False)),
    "conv_32_64_fwdbwd": ("GFLOP/s", True, lambda: conv_32_64(True)),
    "conv_dilated_fwdbwd": ("samples/s", True, conv_dilated_fwdbwd),
    "tape_overhead_scalar_chain": ("us/op", False, tape_overhead_scalar_chain),
    "hvp_mlp_teacher": ("HVPs/s", True, hvp_mlp_teacher),
    "peak_rss_mlp_train": ("MiB", False, None),  # measured in a child process
    "vae_train_step": ("samples/s", True, vae_train_step),
    "laplace_ggn_full_6050": ("posteriors/s", True, laplace_ggn_full_6050),
    "exact_w1_100": ("solves/s", True, lambda: exact_w1(100)),
    "exact_w1_500": ("solves/s", True, lambda: exact_w1(500)),
    "exact_w1_1000": ("solves/s", True, lambda: exact_w1(1000)),
}


def measure(name, args):
    torch.manual_seed(SEED)
    if name == "peak_rss_mlp_train":
        return peak_rss_mlp_train(args)
    step, to_metric = WORKLOADS[name][2]()
    return to_metric(seconds_per_call(step, args.min_time))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="intra-op threads (torch.set_num_threads); default: all cores")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--only", help="comma-separated workload names (default: all)")
    parser.add_argument("--min-time", type=float, default=1.0,
                        help="seconds the timed blocks of one workload last together (default 1)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's mmap threshold alone (see the module docstring)")
    parser.add_argument("--list", action="store_true", help="print the workload names and exit")
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.list:
        print("\n".join(WORKLOADS))
        return
    names = list(WORKLOADS) if not args.only else [n.strip() for n in args.only.split(",")]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; --list prints the names")
    if args.threads < 1 or args.min_time <= 0:
        parser.error("--threads must be at least 1 and --min-time positive")
    torch.set_num_threads(args.threads)
    if not args.default_malloc:
        fix_malloc_thresholds()
    if args.rss_child:
        peak_rss_child()
        return

    if not args.json:
        print(f"PyTorch {torch.__version__}, {args.threads} thread(s)")
        print(f"{'name':<28} {'metric':<10} {'value':>14}")
    for name in names:
        metric, higher, _ = WORKLOADS[name]
        value = measure(name, args)
        if args.json:
            print(json.dumps({"name": name, "metric": metric, "value": float(f"{value:.6g}"),
                              "higher_is_better": higher, "threads": args.threads}), flush=True)
        else:
            better = "higher" if higher else "lower"
            print(f"{name:<28} {metric:<10} {value:>14.3f}   ({better} is better)", flush=True)


if __name__ == "__main__":
    main()
