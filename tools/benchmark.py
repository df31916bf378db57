"""Time one training step of rnnlib's reference RNN and GRU beside torch.nn.RNN / torch.nn.GRU on CPU.

    python tools/benchmark.py                 # B=32, T=64, H=256, V=65, float32
    python tools/benchmark.py --repeats 50

A step is a character-level language model's forward and backward pass over one (B, T) window:
one-hot inputs, the recurrent layer, the output layer, mean cross-entropy, and every gradient (no
optimizer update). Both sides get the same shapes, dtype and number of threads (the cores this process
may run on; NumPy's BLAS uses them all unless OPENBLAS_NUM_THREADS says otherwise), and the table shows
the median time per step. PyTorch is optional: without it only rnnlib is timed.
"""

import argparse
import os
import statistics
import time

import numpy as np

os.environ.setdefault("RNNLIB", "reference")  # time the reference, whatever state the student copy is in

from rnnlib import gru, rnn  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=64, help="window length T")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=65)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    B, T, H, V = args.batch, args.steps, args.hidden, args.vocab

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T))
    blas = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or cores
    print(f"one training step (forward + backward), B={B} T={T} H={H} V={V} float32")
    print(f"threads: torch {cores} (set), NumPy's BLAS {blas} (OPENBLAS_NUM_THREADS, default: every core)")

    print(f"{'model':<6}{'rnnlib ms/step':>16}{'torch ms/step':>15}{'rnnlib / torch':>16}")
    for name, model in (("RNN", rnn), ("GRU", gru)):
        params = model.init_params(V, H, np.random.default_rng(0), dtype=np.float32)
        h0 = np.zeros((B, H), dtype=np.float32)

        def numpy_step(model=model, params=params, h0=h0):
            _, _, cache = model.lm_forward(params, inputs, targets, h0)
            model.lm_backward(cache)

        numpy_ms = _median_ms(numpy_step, args.repeats)
        torch_step = _torch_step(name, B, T, H, V, inputs, targets, cores)
        if torch_step is None:
            print(f"{name:<6}{numpy_ms:>16.1f}{'(no torch)':>15}")
            continue
        torch_ms = _median_ms(torch_step, args.repeats)
        print(f"{name:<6}{numpy_ms:>16.1f}{torch_ms:>15.1f}{numpy_ms / torch_ms:>16.2f}")


def _torch_step(name, B, T, H, V, inputs, targets, cores):
    """A function running the same step in PyTorch, or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(cores)
    torch.manual_seed(0)
    if name == "RNN":
        layer = torch.nn.RNN(V, H, nonlinearity="tanh", batch_first=True)
    else:
        layer = torch.nn.GRU(V, H, batch_first=True)
    head = torch.nn.Linear(H, V)
    inputs_t, targets_t = torch.from_numpy(inputs), torch.from_numpy(targets)
    h0 = torch.zeros(1, B, H)

    def step():
        for p in (*layer.parameters(), *head.parameters()):
            p.grad = None
        X = torch.nn.functional.one_hot(inputs_t, V).float()
        Hs, _ = layer(X, h0)
        loss = torch.nn.functional.cross_entropy(head(Hs).reshape(B * T, V), targets_t.reshape(B * T))
        loss.backward()

    return step


def _median_ms(step, repeats, warmup=3):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


if __name__ == "__main__":
    main()
