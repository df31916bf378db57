"""rnnlib.memory: with freed memory kept, a training step reuses the last step's memory instead of
page-faulting its way to fresh pages. Counted in page faults, not timed."""

import json
import os
import platform
import subprocess
import sys
import textwrap

import pytest

from rnnlib import PROJECT_ROOT

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt and malloc_trim are glibc's")

STEPS = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    from rnnlib import gru, optim
    from rnnlib.memory import keep_freed_memory, release_freed_memory

    kept = keep_freed_memory() if sys.argv[1] == "keep" else False
    rng = np.random.default_rng(0)
    params = gru.init_params(65, 128, rng, dtype=np.float32)
    state = optim.adam_init(params)
    ids = rng.integers(65, size=(32, 33))

    def step():
        _, _, cache = gru.lm_forward(params, ids[:, :-1], ids[:, 1:], None)
        grads, _ = gru.lm_backward(cache)
        optim.adam_step(params, grads, state, lr=1e-3)

    step(); step()  # the first steps may grow the heap
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        step()
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5

    def resident():  # bytes of memory the process holds, from /proc/self/statm
        return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()

    held = resident()
    release_freed_memory()
    print(json.dumps({"kept": kept, "faults": faults, "held": held, "released": held - resident()}))
    """
)


def _faults_per_step(setting):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", RNNLIB="reference")
    out = subprocess.run(
        [sys.executable, "-c", STEPS, setting],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


@glibc
def test_with_freed_memory_kept_a_step_no_longer_page_faults_for_its_arrays():
    default, kept = _faults_per_step("default"), _faults_per_step("keep")
    assert kept["kept"] is True
    # A step of this GRU allocates about 40 arrays of more than 128 KiB (2 MiB of cache alone).
    assert default["faults"] > 100, f"the default setting should fault on every step: {default}"
    assert kept["faults"] < default["faults"] / 10, f"default {default['faults']}, kept {kept['faults']}"


@glibc
def test_release_freed_memory_hands_what_training_kept_back_to_the_system():
    kept = _faults_per_step("keep")
    assert kept["released"] > 2**20, f"release_freed_memory gave back {kept['released']:,} bytes"


def test_the_command_line_keeps_freed_memory_while_it_trains(monkeypatch, tmp_path):
    from rnnlib import cli

    called = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: called.append("keep"))
    monkeypatch.setattr(cli, "release_freed_memory", lambda: called.append("release"))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 40, encoding="utf-8")
    options = ["--corpus", str(corpus), "--model", "rnn", "--hidden-size", "4", "--steps", "2"]
    options += ["--batch-size", "2", "--seq-len", "4", "--checkpoint", str(tmp_path / "run.npz")]
    assert cli.main(["train", *options]) == 0
    assert called == ["keep", "release"]  # kept while it trains, handed back when it is over
