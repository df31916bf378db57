"""A float32 training step stays float32: no array of the forward pass, its cache, the gradients, the
clipped gradients, Adam's state or the updated parameters is silently upcast to float64."""

import numpy as np
import pytest

from rnnlib import gru, optim, rnn


def _floating_arrays(value, path="cache"):
    """(path, array) for every floating-point array inside nested tuples, lists and dicts."""
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.floating):
            yield path, value
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from _floating_arrays(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _floating_arrays(item, f"{path}[{key!r}]")


@pytest.mark.parametrize("model", [rnn, gru], ids=["rnn", "gru"])
def test_a_float32_training_step_keeps_every_array_float32(model):
    B, T, V, H = 4, 6, 11, 8
    rng = np.random.default_rng(0)
    params = model.init_params(V, H, rng, dtype=np.float32)
    state = optim.adam_init(params)
    ids = rng.integers(V, size=(B, T + 1))
    h = np.zeros((B, H), dtype=np.float32)
    for _ in range(2):  # the second step starts from the carried state and a non-zero Adam state
        loss, h, cache = model.lm_forward(params, ids[:, :-1], ids[:, 1:], h)
        grads, dh0 = model.lm_backward(cache, dh_last=np.ones_like(h))
        optim.clip_grad_norm(grads, 1e-3)  # small enough to clip, so the scaling runs too
        optim.adam_step(params, grads, state, lr=1e-3)
        arrays = {"h_last": h, "dh0": dh0, "cache": cache, "grads": grads, "params": params, "adam": state}
        found = list(_floating_arrays(arrays, "step"))
        upcast = [path for path, array in found if array.dtype != np.float32]
        assert not upcast, f"{model.__name__}: float64 arrays in a float32 step: {upcast}"
        assert sum(path.startswith("step['cache']") for path, _ in found) >= 5  # the walk reached the cache
        assert isinstance(loss, float) and np.isfinite(loss)
