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


# ------------------------------------------------------------------------ the methods' steps

def mean_field(sizes, init_mean, log_var, biases):
    """Mean-field Gaussian layers: per layer the weight's (mu, rho = ln sigma^2), and the bias's."""
    tensors = []
    for a, b in zip(sizes, sizes[1:]):
        w = torch.empty(b, a)
        init_mean(w)
        tensors.append(w)
        if biases:
            tensors.append(torch.empty(b).uniform_(-1 / math.sqrt(a), 1 / math.sqrt(a)))
    return [(m, torch.full_like(m, log_var)) for m in tensors]


def draw_forward(x, tensors, biases, activation=F.relu):
    """The network at one reparameterised draw w = mu + exp(rho / 2) eps of every tensor."""
    drawn = [mu + torch.exp(0.5 * rho) * torch.randn_like(mu) for mu, rho in tensors]
    per_layer = 2 if biases else 1
    layers = [drawn[i:i + per_layer] for i in range(0, len(drawn), per_layer)]
    for i, layer in enumerate(layers):
        x = F.linear(x, *layer)
        if i + 1 < len(layers):
            x = activation(x)
    return x


def bayes_variational_step():
    """S4's Bayesian student: bias-free [10, 10, 10, 1] ReLU, q = N(mu, diag(e^rho)) (rho = -9),
    one draw per step, Gaussian likelihood s^2 = 0.1, a full 210 x 210 prior N(m, Lambda^-1),
    Adam 1e-3 on (KL(q || p) + (N/B) (-log p(y_B | X_B, w))) / N, N = 900, B = 64."""
    sizes, batch, n, s2 = [10, 10, 10, 1], 64, 900, 0.1
    gain = math.sqrt(2.0)
    tensors = mean_field(sizes, lambda w: nn.init.normal_(w, 0.0, gain / math.sqrt(w.shape[1])), -9.0, False)
    params = [t.requires_grad_() for pair in tensors for t in pair]
    d = sum(mu.numel() for mu, _ in tensors)
    a = torch.randn(d, d, dtype=torch.float64)
    precision = a @ a.T / d + torch.eye(d, dtype=torch.float64)
    log_det = torch.logdet(precision).item()
    precision, diag = precision.float(), torch.diagonal(precision).float()
    mean = math.sqrt(0.1) * torch.randn(d)
    x, y = torch.randn(batch, 10), torch.randn(batch, 1)
    optimizer = adam(params)

    def step():
        optimizer.zero_grad(set_to_none=True)
        mu = torch.cat([m.reshape(-1) for m, _ in tensors])
        rho = torch.cat([r.reshape(-1) for _, r in tensors])
        delta = mu - mean
        kl = 0.5 * ((diag * rho.exp()).sum() + delta @ precision @ delta - d - log_det - rho.sum())
        out = draw_forward(x, tensors, biases=False)
        nll = ((y - out) ** 2).sum() / (2 * s2) + 0.5 * batch * math.log(2 * math.pi * s2)
        (kl / n + nll / batch).backward()
        optimizer.step()
    return step, rate(batch)


def bjorck(w, iterations=15):
    """Bjorck orthonormalisation after pre-scaling by ||(W W^T)^2||_F^(1/4), as nn's bjorck."""
    wide = w.shape[0] <= w.shape[1]
    gram = w @ w.T if wide else w.T @ w
    a = w / (gram @ gram).square().sum() ** 0.125
    for _ in range(iterations):
        a = 1.5 * a - 0.5 * ((a @ a.T) @ a if wide else a @ (a.T @ a))
    return a


def max_min(x):
    """MaxMin on consecutive pairs of the last axis."""
    pairs = x.unflatten(-1, (-1, 2))
    return torch.stack((pairs.max(-1).values, pairs.min(-1).values), -1).flatten(-2)


class Critic(nn.Module):
    """Orthonormal layers (Bjorck on the tape) d -> 16 -> 16 -> 1 with MaxMin between."""

    def __init__(self, d, hidden=16):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip([d, hidden, hidden], [hidden, hidden, 1]))

    def forward(self, x, frozen=False):
        for i, layer in enumerate(self.layers):
            w, b = (layer.weight.detach(), layer.bias.detach()) if frozen else (layer.weight, layer.bias)
            x = F.linear(x, bjorck(w), b)
            if i + 1 < len(self.layers):
                x = max_min(x)
        return x

    def mean_gap(self, q, p, frozen=False):
        f = self.forward(torch.cat((q, p)), frozen)
        return f[:len(q)].mean() - f[len(q):].mean()


def transfer_net():
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 64), nn.ReLU(), nn.Linear(64, 10))


def wasserstein_transfer_step():
    """S0: one Adam ascent step (1e-3, betas (0.5, 0.9)) of each encoder layer's critic on the
    whole clouds and its dual estimate, then one Adam step (1e-3) of the model on the
    cross-entropy of 32 images + sum_j 0.1 (E_q f_j - E_p f_j) through the frozen critics."""
    source, model = transfer_net(), transfer_net()
    encoder = [0, 3, 7]  # conv1, conv2, fc1
    clouds = [source[i].weight.detach().flatten(1) for i in encoder]
    critics = [Critic(c.shape[1]) for c in clouds]
    critic_optimizers = [torch.optim.Adam(c.parameters(), lr=1e-3, betas=(0.5, 0.9)) for c in critics]
    optimizer = adam(model.parameters())
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))

    def step():
        for i, critic, opt, p in zip(encoder, critics, critic_optimizers, clouds):
            q = model[i].weight.detach().flatten(1)
            opt.zero_grad(set_to_none=True)
            (-critic.mean_gap(q, p)).backward()
            opt.step()
            with torch.no_grad():
                critic.mean_gap(q, p)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        for i, critic, p in zip(encoder, critics, clouds):
            loss = loss + 0.1 * critic.mean_gap(model[i].weight.flatten(1), p, frozen=True)
        loss.backward()
        optimizer.step()
    return step, rate(32)


def hypernet_step(kind):
    """S2: the mean-field 784-100-10 ReLU network with biases (rho = -6), a batch of 64, SGD 0.05
    with momentum 0.9 and gradients clipped to [-1, 1], prior N(0, 0.1 I), N = 60,000. kind None:
    one model at lambda = 1; "linear" or "low_rank": a hypernetwork generating every mean and
    log-variance from t(lambda), 5 lambdas per batch (log-uniform on [0.01, 100], 0 w.p. 1/6)."""
    import random
    prior_var, n, batch = 0.1, 60_000, 64
    tensors = [pair for pair in mean_field([784, 100, 10], nn.init.xavier_uniform_, -6.0, True)]
    targets = [t for pair in tensors for t in pair]

    def generator(start):
        if kind == "linear":
            return {"slope": torch.zeros_like(start), "intercept": start.clone()}
        g = {"f_weight": torch.empty(50).uniform_(-1, 1), "f_bias": torch.empty(50).uniform_(-1, 1),
             "u1": 0.02 * torch.randn(50, start.shape[0]), "b1": start.clone()}
        if start.dim() == 2:
            g["u2"] = 0.02 * torch.randn(50, start.shape[1])
        return g

    def generate(g, t):
        if kind == "linear":
            return t * g["slope"] + g["intercept"]
        h = F.relu(t * g["f_weight"] + g["f_bias"]).unsqueeze(0)
        if "u2" in g:
            return (h @ g["u1"]).reshape(-1, 1) @ (h @ g["u2"]).reshape(-1, 1).T + g["b1"]
        return (h @ g["u1"]).reshape(-1) + g["b1"]

    def objective(pairs, lam):
        logits = draw_forward(x, pairs, biases=True)
        kl = sum((0.5 * (math.log(prior_var) - rho + (rho.exp() + mu**2) / prior_var - 1)).sum()
                 for mu, rho in pairs)
        return F.cross_entropy(logits, y, reduction="sum") / batch + lam / n * kl

    if kind is None:
        params = [t.requires_grad_() for t in targets]
        loss = lambda: objective(tensors, 1.0)  # noqa: E731
    else:
        generators = [generator(t) for t in targets]
        params = [p.requires_grad_() for g in generators for p in g.values()]
        scale = math.log1p(100 / 0.01)

        def loss():
            total = 0.0
            for _ in range(5):
                lam = 0.0 if random.random() < 1 / 6 else 10 ** random.uniform(-2, 2)
                t = math.log1p(lam / 0.01) / scale
                made = [generate(g, t) for g in generators]
                total = total + objective(list(zip(made[0::2], made[1::2])), lam) / 5
            return total
    x, y = torch.rand(batch, 784), torch.randint(0, 10, (batch,))
    optimizer = torch.optim.SGD(params, lr=0.05, momentum=0.9)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss().backward()
        torch.nn.utils.clip_grad_value_(params, 1.0)
        optimizer.step()
    return step, rate(batch)


def hypergradient_workload(optimiser, k):
    """S3: the exact hypergradient of the validation cross-entropy in a = (a1, a2, a3)
    (beta = sigmoid(a), T = 0.1 + 9.9 sigmoid(a3)) through k unrolled steps of the student
    784-128-10 ReLU (batches of 128, teacher logits given), by create_graph; k None: one plain
    student step. SGD at 0.1, or Adam (1e-3) with its moments warmed by two real steps."""
    from torch.func import functional_call
    model, batch = mlp([784, 128, 10]), 128

    def random_batch():
        return (torch.empty(batch, 784).uniform_(-1, 1), torch.randint(0, 10, (batch,)),
                torch.empty(batch, 10).uniform_(-3, 3))
    batches = [random_batch() for _ in range(max(k or 1, 2))]
    val_x, val_y, _ = random_batch()
    a = torch.tensor([0.3, -0.5, 0.2], requires_grad=True)
    names = [name for name, _ in model.named_parameters()]
    w = [p.detach().clone() for p in model.parameters()]
    state = {"m": [torch.zeros_like(p) for p in w], "v": [torch.zeros_like(p) for p in w], "t": 0}
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, (0.1 if optimiser == "sgd" else 1e-3)

    def train_loss(ws, xb, yb, teacher, meta):
        beta1, beta2, temp = torch.sigmoid(meta[0]), torch.sigmoid(meta[1]), 0.1 + 9.9 * torch.sigmoid(meta[2])
        z = functional_call(model, dict(zip(names, ws)), (xb,))
        soft = -(F.softmax(teacher / temp, 1) * F.log_softmax(z / temp, 1)).sum(1).mean()
        return beta1 * F.cross_entropy(z, yb) + beta2 * soft

    def root(x):
        mask = (x > 0).to(x.dtype)
        return (x + (1 - mask)).sqrt() * mask

    def update(ws, grads, m, v, t):
        if optimiser == "sgd":
            return [wi - lr * g for wi, g in zip(ws, grads)], m, v
        m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads)]
        v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads)]
        c1, c2 = 1 / (1 - b1**t), 1 / (1 - b2**t)
        return [wi - lr * c1 * mi / (root(c2 * vi) + eps) for wi, mi, vi in zip(ws, m, v)], m, v

    def real_step(b):
        ws = [wi.requires_grad_() for wi in w]
        grads = torch.autograd.grad(train_loss(ws, *b, a.detach()), ws)
        state["t"] += 1
        with torch.no_grad():
            new, state["m"], state["v"] = update([wi.detach() for wi in ws], grads, state["m"], state["v"], state["t"])
        w[:] = new
    for b in batches[:2]:
        real_step(b)
    if k is None:
        return (lambda: real_step(batches[0])), lambda seconds: seconds * 1e6

    def step():
        ws = [wi.detach().requires_grad_() for wi in w]
        m, v, t = state["m"], state["v"], state["t"]
        for b in batches[:k]:
            grads = torch.autograd.grad(train_loss(ws, *b, a), ws, create_graph=True)
            t += 1
            ws, m, v = update(ws, grads, m, v, t)
        val = F.cross_entropy(functional_call(model, dict(zip(names, ws)), (val_x,)), val_y)
        torch.autograd.grad(val, a)
    return step, lambda seconds: seconds * 1e6


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
    "bayes_variational_step": ("samples/s", True, bayes_variational_step),
    "wasserstein_transfer_step": ("samples/s", True, wasserstein_transfer_step),
    "hypernet_per_lambda_step": ("samples/s", True, lambda: hypernet_step(None)),
    "hypernet_linear_step_5": ("samples/s", True, lambda: hypernet_step("linear")),
    "hypernet_low_rank_step_5": ("samples/s", True, lambda: hypernet_step("low_rank")),
    "hypergrad_sgd_step": ("us/op", False, lambda: hypergradient_workload("sgd", None)),
    "hypergrad_sgd_k1": ("us/op", False, lambda: hypergradient_workload("sgd", 1)),
    "hypergrad_sgd_k2": ("us/op", False, lambda: hypergradient_workload("sgd", 2)),
    "hypergrad_sgd_k5": ("us/op", False, lambda: hypergradient_workload("sgd", 5)),
    "hypergrad_sgd_k10": ("us/op", False, lambda: hypergradient_workload("sgd", 10)),
    "hypergrad_adam_step": ("us/op", False, lambda: hypergradient_workload("adam", None)),
    "hypergrad_adam_k1": ("us/op", False, lambda: hypergradient_workload("adam", 1)),
    "hypergrad_adam_k2": ("us/op", False, lambda: hypergradient_workload("adam", 2)),
    "hypergrad_adam_k5": ("us/op", False, lambda: hypergradient_workload("adam", 5)),
    "hypergrad_adam_k10": ("us/op", False, lambda: hypergradient_workload("adam", 10)),
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
