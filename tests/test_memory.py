"""rnnlib.memory: with freed memory kept, a training step reuses the last step's memory instead of
page-faulting its way to fresh pages. Counted in page faults, not timed."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from rnnlib import PROJECT_ROOT
from rnnlib.memory import keep_freed_memory

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's (Linux)")

STEPS = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    from rnnlib import gru, optim
    from rnnlib.memory import keep_freed_memory

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
    print(json.dumps({"kept": kept, "faults": faults}))
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
def test_glibc_agrees_to_keep_freed_memory():
    assert keep_freed_memory() is True


@glibc
def test_with_freed_memory_kept_a_step_no_longer_page_faults_for_its_arrays():
    default, kept = _faults_per_step("default"), _faults_per_step("keep")
    assert kept["kept"] is True
    # A step of this GRU allocates about 40 arrays of more than 128 KiB (2 MiB of cache alone).
    assert default["faults"] > 100, f"the default setting should fault on every step: {default}"
    assert kept["faults"] < default["faults"] / 10, f"default {default['faults']}, kept {kept['faults']}"


def test_train_keeps_freed_memory(monkeypatch):
    import numpy as np

    from rnnlib import data, gru, train

    called = []
    monkeypatch.setattr(train, "keep_freed_memory", lambda: called.append(True))
    vocab = data.Vocabulary("abc")
    ids = vocab.encode("abcabcab" * 8)
    params = gru.init_params(len(vocab), 4, np.random.default_rng(0))
    settings = dict(batch_size=2, seq_len=4, steps=1, lr=0.1, clip=1.0, eval_every=1, sample_every=0)
    train.train(
        gru,
        params,
        ids,
        ids,
        vocab=vocab,
        rng=np.random.default_rng(0),
        plot=False,
        progress=False,
        **settings,
    )
    assert called == [True]
