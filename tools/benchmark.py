"""Time whole training steps of rnnlib's reference GRU and RNN beside PyTorch's, on this CPU.

    python tools/benchmark.py                  # the speed table: two sizes, one and two threads
    python tools/benchmark.py --rounds 60      # more rounds: steadier medians on a busy machine
    python tools/benchmark.py --quality 180    # also: train both for 180 s each, validation losses

A step is what training does with one window: forward, backward, gradient clipping by global norm (5)
and an Adam update (lr 3e-3), in float32. rnnlib runs lm_forward, lm_backward, optim.clip_grad_norm and
optim.adam_step of the reference (solutions/rnnlib). PyTorch runs the same model (one-hot inputs into
nn.GRU(input_size=V) or nn.RNN, nn.Linear, mean cross-entropy, clip_grad_norm_, torch.optim.Adam) and the
model a PyTorch user writes (nn.Embedding(V, 64) -> nn.GRU / nn.RNN -> nn.Linear). Throughput is
characters per second, B*T over the median time of a step; the ratio is rnnlib's over PyTorch's (above 1:
rnnlib is faster). With one thread, "CPU ratio" is the ratio for PyTorch's same model measured in the
process's CPU time instead, which time spent waiting for a busy core does not inflate.

Each thread count runs in a process of its own, with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set before
NumPy loads and torch.set_num_threads, so NumPy's BLAS and torch use the same number of threads. Within a
process the implementations take turns, one step each per round, so a load from other programs falls on
all of them alike; the table also prints the load averages before and after. OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, if set, are printed: they are meant for old OpenBLAS builds and slow a current NumPy
(unset them for this command alone: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python tools/benchmark.py).

Every worker process keeps freed memory for reuse (rnnlib.memory.keep_freed_memory, which the command
line calls while `python -m rnnlib train` runs): without it, glibc gives each step's large arrays back to
the operating system and the next step page-faults its way to them again. The setting is the process's,
so PyTorch has it too. The page faults and the time of rnnlib's step with and without it are measured in
processes of their own.

The peak memory of a training step of lesson 10's model (GRU, B=64, T=64, H=256) is measured with
tracemalloc, which sees NumPy's arrays. Needs torch (the test-only dependency: pip install -e '.[torch]').
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

os.environ["RNNLIB"] = "reference"  # time the reference, whatever state the student copy is in
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZES = ({"H": 256, "B": 64, "T": 64}, {"H": 128, "B": 32, "T": 100})
THREADS = (1, 2)
V, EMBEDDING, LR, CLIP = 65, 64, 3e-3, 5.0
TUNING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed steps of each implementation")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps of each first")
    parser.add_argument(
        "--quality", type=float, metavar="SECONDS", help="train each for SECONDS on Shakespeare"
    )
    parser.add_argument("--quality-threads", type=int, default=1)
    # What a subprocess runs, with its thread count already in the environment:
    parser.add_argument("--worker", choices=("speed", "quality", "faults"), help=argparse.SUPPRESS)
    parser.add_argument("--default-malloc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quality is not None and args.quality <= 0:
        parser.error("--quality needs a positive number of seconds")
    if args.worker and not args.default_malloc:
        from rnnlib.memory import keep_freed_memory

        keep_freed_memory()
    if args.worker == "faults":
        print(json.dumps(_faults(args.rounds, args.warmup)))
        return
    if args.worker == "speed":
        print(json.dumps(_speed_rows(args.rounds, args.warmup)))
        return
    if args.worker == "quality":
        print(json.dumps(_quality(args.quality)))
        return

    _print_machine()
    print(f"\ntraining steps (forward, backward, clip, Adam), float32, V={V}; median of {args.rounds} rounds")
    print(
        f"{'threads':>7} {'B':>3} {'T':>4} {'H':>4} {'model':<5} {'rnnlib':>9} {'torch':>9} {'ratio':>6}"
        f" {'torch+emb':>10} {'ratio':>6} {'CPU ratio':>9}   (characters per second)"
    )
    for threads in THREADS:
        for row in _in_subprocess(
            threads, "--worker", "speed", "--rounds", str(args.rounds), "--warmup", str(args.warmup)
        ):
            same, user = row["torch"], row["torch_embedding"]
            print(
                f"{threads:>7} {row['B']:>3} {row['T']:>4} {row['H']:>4} {row['model']:<5} "
                f"{row['rnnlib']:>9,.0f} {same:>9,.0f} {row['rnnlib'] / same:>6.2f} "
                f"{user:>10,.0f} {row['rnnlib'] / user:>6.2f} "
                + (f"{row['cpu_ratio']:>9.2f}" if threads == 1 else f"{'-':>9}")
            )
    print(f"load averages after: {_load()}")
    _print_faults(args.rounds, args.warmup)
    _print_memory()
    if args.quality:
        _print_quality(args.quality, args.quality_threads)


def _in_subprocess(threads, *args):
    env = dict(
        os.environ,
        OPENBLAS_NUM_THREADS=str(threads),
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
    )
    out = subprocess.run(
        [sys.executable, __file__, *args], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.splitlines()[-1])


def _print_machine():
    import numpy as np
    import torch

    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    print(
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}  {platform.node()}  {_cpu_name()}, "
        f"{os.cpu_count()} cores  load averages {_load()}"
    )
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__} ({blas['name']} {blas['version']}), "
        f"torch {torch.__version__}"
    )
    print("  ".join(f"{name}={os.environ.get(name, '(unset)')}" for name in TUNING))


def _cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


# The steps, one function per implementation, each closing over its own parameters and optimiser.


def _rnnlib_step(model, H, B, T, rng):
    """One training step of rnnlib: a function of (inputs, targets) ids (B, T)."""
    import numpy as np

    from rnnlib import optim

    params = model.init_params(V, H, rng, dtype=np.float32)
    state = optim.adam_init(params)
    h0 = np.zeros((B, H), dtype=np.float32)

    def step(inputs, targets):
        _, _, cache = model.lm_forward(params, inputs, targets, h0)
        grads, _ = model.lm_backward(cache)
        optim.clip_grad_norm(grads, CLIP)
        optim.adam_step(params, grads, state, LR)

    return step


class _TorchModel:
    """PyTorch's language model: one-hot rows (embedding=False) or nn.Embedding, the layer, nn.Linear."""

    def __init__(self, kind, H, embedding):
        import torch

        self.embedding = torch.nn.Embedding(V, EMBEDDING) if embedding else None
        layer = torch.nn.GRU if kind == "GRU" else torch.nn.RNN
        self.layer = layer(EMBEDDING if embedding else V, H, batch_first=True)
        self.head = torch.nn.Linear(H, V)
        modules = [m for m in (self.embedding, self.layer, self.head) if m is not None]
        self.parameters = [p for m in modules for p in m.parameters()]
        self.optimizer = torch.optim.Adam(self.parameters, lr=LR)

    def loss(self, inputs, targets, h0):
        import torch.nn.functional as F

        X = self.embedding(inputs) if self.embedding else F.one_hot(inputs, V).float()
        Hs, h_last = self.layer(X, h0)
        return F.cross_entropy(self.head(Hs).reshape(-1, V), targets.reshape(-1)), h_last

    def step(self, inputs, targets, h0):
        import torch

        self.optimizer.zero_grad(set_to_none=True)
        loss, h_last = self.loss(inputs, targets, h0)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.parameters, CLIP)
        self.optimizer.step()
        return loss.item(), h_last.detach()


def _torch_step(kind, H, B, embedding):
    import torch

    model = _TorchModel(kind, H, embedding)
    h0 = torch.zeros(1, B, H)

    def step(inputs, targets):
        model.step(torch.from_numpy(inputs), torch.from_numpy(targets), h0)

    return step


def _speed_rows(rounds, warmup):
    """In a worker process: characters per second of every implementation, each size, both models."""
    import numpy as np
    import torch

    from rnnlib import gru, rnn

    torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))
    torch.manual_seed(0)
    rows = []
    for size in SIZES:
        H, B, T = size["H"], size["B"], size["T"]
        rng = np.random.default_rng(0)
        inputs, targets = rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T))
        for kind, model in (("GRU", gru), ("RNN", rnn)):
            steps = {
                "rnnlib": _rnnlib_step(model, H, B, T, rng),
                "torch": _torch_step(kind, H, B, embedding=False),
                "torch_embedding": _torch_step(kind, H, B, embedding=True),
            }
            seconds = {name: [] for name in steps}
            cpu = {name: [] for name in steps}
            order = list(steps)
            for i in range(warmup + rounds):
                for name in order[i % 3 :] + order[: i % 3]:  # take turns, and rotate who goes first
                    start, start_cpu = time.perf_counter(), time.process_time()
                    steps[name](inputs, targets)
                    if i >= warmup:
                        seconds[name].append(time.perf_counter() - start)
                        cpu[name].append(time.process_time() - start_cpu)
            speeds = {k: B * T / statistics.median(v) for k, v in seconds.items()}
            cpu_ratio = statistics.median(cpu["torch"]) / statistics.median(cpu["rnnlib"])
            rows.append({**size, "model": kind, **speeds, "cpu_ratio": cpu_ratio})
    return rows


def _print_faults(rounds, warmup):
    """rnnlib's step of lesson 10's GRU, one thread: glibc's default malloc, then freed memory kept."""
    print("\none thread, a training step of lesson 10's GRU (B=64, T=64, H=256), in processes of their own:")
    settings = ((["--default-malloc"], "glibc's defaults"), ([], "freed memory kept (rnnlib.memory)"))
    for flags, setting in settings:
        args = ["--worker", "faults", "--rounds", str(rounds), "--warmup", str(warmup)]
        result = _in_subprocess(1, *args, *flags)
        print(
            f"  {setting:<36} {result['faults']:>6,.0f} page faults per step, "
            f"{result['seconds'] * 1000:6.1f} ms per step (median)"
        )


def _faults(rounds, warmup):
    """In a worker process: minor page faults per step of rnnlib's GRU step, and its median time."""
    import resource

    import numpy as np

    from rnnlib import gru

    B, T, H = 64, 64, 256
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T))
    step = _rnnlib_step(gru, H, B, T, rng)
    for _ in range(warmup):
        step(inputs, targets)
    seconds, before = [], resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        start = time.perf_counter()
        step(inputs, targets)
        seconds.append(time.perf_counter() - start)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / rounds
    return {"faults": faults, "seconds": statistics.median(seconds)}


def _print_memory():
    """The peak of one training step of lesson 10's GRU, and what its cache holds."""
    import numpy as np

    from rnnlib import gru

    B, T, H = 64, 64, 256
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T))
    tracemalloc.start()
    step = _rnnlib_step(gru, H, B, T, rng)
    step(inputs, targets)  # Adam's state exists from here on
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    step(inputs, targets)
    peak = tracemalloc.get_traced_memory()[1] - held
    params = gru.init_params(V, H, rng, dtype=np.float32)
    _, _, cache = gru.lm_forward(params, inputs, targets, None)
    tracemalloc.stop()
    arrays = list({id(a): a for a in _arrays(cache) if a.dtype.kind == "f"}.values())  # Hs is there twice
    floats = sum(a.size for a in arrays)
    btv = [a.shape for a in arrays if a.size == B * T * V]
    print(
        f"\nmemory of a training step of lesson 10's GRU (B={B}, T={T}, H={H}, float32, Adam): peak "
        f"{peak / 2**20:.1f} MiB above the {held / 2**20:.1f} MiB held between steps"
    )
    print(
        f"  lm_forward's cache: {floats:,} floats = {floats / (B * T * H):.1f} B*T*H; arrays of B*T*V "
        f"floats in it: {len(btv)} {btv}"
    )


def _arrays(value):
    """The NumPy arrays inside nested tuples and lists (a OneHot's are its ids, not floats)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _arrays(item)


def _print_quality(seconds, threads):
    print(
        f"\ntraining on tinyshakespeare for {seconds:g} s each (GRU, B=64, T=64, H=256, Adam lr {LR}, "
        f"clip {CLIP}, same initial weights, {threads} thread(s), taking turns step by step)"
    )
    result = _in_subprocess(threads, "--worker", "quality", "--quality", str(seconds))
    for name in ("rnnlib", "torch"):
        r = result[name]
        print(
            f"  {name:<7} {r['steps']:>5} steps, {r['chars_per_s']:>8,.0f} characters/s, "
            f"validation loss {r['val_loss']:.3f} nats/char"
        )


def _quality(seconds):
    """In a worker process: train rnnlib's GRU and torch's from the same weights, for the same time."""
    import numpy as np
    import torch

    from rnnlib import data, gru, optim
    from rnnlib.training import evaluate

    torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))
    B, T, H = 64, 64, 256
    text = data.load_corpus("tinyshakespeare")
    vocab = data.Vocabulary(text)
    train_ids, val_ids = data.train_val_split(vocab.encode(text))
    epoch = list(data.windows(data.make_streams(train_ids, B), T))
    params = gru.init_params(len(vocab), H, np.random.default_rng(0), dtype=np.float32)
    torch_model = _TorchModel("GRU", H, embedding=False)
    with torch.no_grad():  # the same weights: torch keeps W^T, gates in the same order r, z, n
        for name, value in (
            ("weight_ih_l0", params["Wx"].T),
            ("weight_hh_l0", params["Wh"].T),
            ("bias_ih_l0", params["bx"]),
            ("bias_hh_l0", params["bh"]),
        ):
            getattr(torch_model.layer, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
        torch_model.head.weight.copy_(torch.from_numpy(np.ascontiguousarray(params["Why"].T)))
        torch_model.head.bias.copy_(torch.from_numpy(params["by"]))
    state = optim.adam_init(params)
    h = np.zeros((B, H), dtype=np.float32)
    th = torch.zeros(1, B, H)
    clock = {"rnnlib": 0.0, "torch": 0.0}
    steps = {"rnnlib": 0, "torch": 0}
    while min(clock.values()) < seconds:
        for name in clock:
            if clock[name] >= seconds:
                continue
            i = steps[name] % len(epoch)
            inputs, targets = epoch[i]
            start = time.perf_counter()
            if name == "rnnlib":
                h = np.zeros_like(h) if i == 0 else h  # a new epoch starts from zero, as in rnnlib.training
                _, h, cache = gru.lm_forward(params, inputs, targets, h)
                grads, _ = gru.lm_backward(cache)
                optim.clip_grad_norm(grads, CLIP)
                optim.adam_step(params, grads, state, LR)
            else:
                th = torch.zeros_like(th) if i == 0 else th
                _, th = torch_model.step(torch.from_numpy(inputs), torch.from_numpy(targets), th)
            clock[name] += time.perf_counter() - start
            steps[name] += 1
    val = {"rnnlib": evaluate(gru, params, val_ids, B, T)}
    with torch.no_grad():
        total, count, th = 0.0, 0, torch.zeros(1, B, H)
        for inputs, targets in data.windows(data.make_streams(val_ids, B), T):
            loss, th = torch_model.loss(torch.from_numpy(inputs), torch.from_numpy(targets), th)
            total, count = total + loss.item(), count + 1
        val["torch"] = total / count
    return {
        name: {"steps": steps[name], "chars_per_s": steps[name] * B * T / clock[name], "val_loss": val[name]}
        for name in clock
    }


if __name__ == "__main__":
    main()
