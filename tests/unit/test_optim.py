"""Lesson 09: momentum and Adam, in place, against torch.optim.SGD(momentum) and torch.optim.Adam."""

import numpy as np
import pytest

from rnnlib.optim import adam_init, adam_step, momentum_init, momentum_step

STEPS = 6


def _arrays(rng, dtype=np.float64):
    return {"W": rng.standard_normal((3, 4)).astype(dtype), "b": rng.standard_normal(4).astype(dtype)}


def _gradient_sequence(rng, dtype=np.float64):
    """A different gradient at every step, some entries tiny, so that eps and the moments matter."""
    return [
        {k: v * rng.choice([1e-6, 1.0, 10.0], size=v.shape) for k, v in _arrays(rng, dtype).items()}
        for _ in range(STEPS)
    ]


def _run_torch(optimizer_class, params, grad_sequence, **settings):
    torch = pytest.importorskip("torch")
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    optimizer = optimizer_class(list(tensors.values()), **settings)
    for grads in grad_sequence:
        for k, tensor in tensors.items():
            tensor.grad = torch.tensor(grads[k], dtype=torch.float64)
        optimizer.step()
    return {k: t.detach().numpy() for k, t in tensors.items()}


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_momentum_matches_torch_sgd_with_momentum_over_several_steps(beta):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    params, grad_sequence = _arrays(rng), _gradient_sequence(rng)
    expected = _run_torch(torch.optim.SGD, params, grad_sequence, lr=0.1, momentum=beta, dampening=0)
    state = momentum_init(params)
    for grads in grad_sequence:
        momentum_step(params, grads, state, 0.1, beta=beta)
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("betas, eps", [((0.9, 0.999), 1e-8), ((0.5, 0.9), 1e-3), ((0.0, 0.0), 1e-8)])
def test_adam_matches_torch_adam_over_several_steps(betas, eps):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    params, grad_sequence = _arrays(rng), _gradient_sequence(rng)
    expected = _run_torch(torch.optim.Adam, params, grad_sequence, lr=0.01, betas=betas, eps=eps)
    state = adam_init(params)
    for grads in grad_sequence:
        adam_step(params, grads, state, 0.01, beta1=betas[0], beta2=betas[1], eps=eps)
    assert state["step"] == STEPS
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-12, atol=1e-14)


def test_adam_first_step_moves_every_parameter_by_lr_against_the_sign_of_its_gradient():
    rng = np.random.default_rng(3)
    params, grads = _arrays(rng), _arrays(rng)
    before = {k: v.copy() for k, v in params.items()}
    adam_step(params, grads, adam_init(params), 0.01)
    for k in params:
        # m_hat = g and v_hat = g**2 at t = 1, so the step is lr * g / (|g| + eps): lr * sign(g) up to eps
        step = before[k] - params[k]
        np.testing.assert_allclose(step, 0.01 * grads[k] / (np.abs(grads[k]) + 1e-8), rtol=1e-12)
        np.testing.assert_allclose(step, 0.01 * np.sign(grads[k]), rtol=1e-6)


def test_steps_update_params_and_state_in_place_and_leave_the_gradients_alone():
    rng = np.random.default_rng(4)
    for init, step in [(momentum_init, momentum_step), (adam_init, adam_step)]:
        params, grads = _arrays(rng), _arrays(rng)
        state = init(params)
        grads_before = {k: v.copy() for k, v in grads.items()}
        param_ids = {k: id(v) for k, v in params.items()}
        state_arrays = {
            (part, k): v for part, d in state.items() if isinstance(d, dict) for k, v in d.items()
        }
        assert step(params, grads, state, 0.1) is None
        assert {k: id(v) for k, v in params.items()} == param_ids, f"{step.__name__} replaced a parameter"
        for (part, k), array in state_arrays.items():
            assert state[part][k] is array, f"{step.__name__} replaced state[{part!r}][{k!r}]"
            assert np.any(array != 0), f"{step.__name__} left state[{part!r}][{k!r}] at zero"
        for k in grads:
            np.testing.assert_array_equal(grads[k], grads_before[k])


def test_float32_parameters_and_state_stay_float32():
    rng = np.random.default_rng(5)
    for init, step in [(momentum_init, momentum_step), (adam_init, adam_step)]:
        params = _arrays(rng, np.float32)
        state = init(params)
        for _ in range(3):
            step(params, _arrays(rng, np.float32), state, 0.1)
        assert all(v.dtype == np.float32 for v in params.values())
        assert all(v.dtype == np.float32 for d in state.values() if isinstance(d, dict) for v in d.values())


def test_init_makes_zeros_of_each_parameter_shape_and_dtype():
    params = _arrays(np.random.default_rng(6), np.float32)
    assert adam_init(params)["step"] == 0
    for state, parts in [(momentum_init(params), ["velocity"]), (adam_init(params), ["m", "v"])]:
        for part in parts:
            for k, P in params.items():
                assert state[part][k].shape == P.shape and state[part][k].dtype == P.dtype
                assert not state[part][k].any()
                assert state[part][k] is not P


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"lr": 0.0}, "lr must be a number > 0"),
        ({"lr": -1.0}, "lr must be a number > 0"),
        ({"beta1": 1.0}, r"beta1 must be a number in \[0, 1\)"),
        ({"beta2": -0.1}, r"beta2 must be a number in \[0, 1\)"),
        ({"eps": 0.0}, "eps must be a number > 0"),
    ],
)
def test_adam_refuses_bad_settings(overrides, match):
    params = _arrays(np.random.default_rng(7))
    settings = {"lr": 0.1} | overrides
    with pytest.raises(ValueError, match=match):
        adam_step(params, _arrays(np.random.default_rng(8)), adam_init(params), **settings)


@pytest.mark.parametrize(
    "overrides, match", [({"lr": 0.0}, "lr"), ({"beta": 1.0}, "beta"), ({"beta": -0.5}, "beta")]
)
def test_momentum_refuses_bad_settings(overrides, match):
    params = _arrays(np.random.default_rng(7))
    settings = {"lr": 0.1} | overrides
    with pytest.raises(ValueError, match=match):
        momentum_step(params, _arrays(np.random.default_rng(8)), momentum_init(params), **settings)


def test_steps_refuse_mismatched_keys_and_a_state_made_for_other_params():
    rng = np.random.default_rng(9)
    params = _arrays(rng)
    other = {"W": params["W"]}
    for init, step in [(momentum_init, momentum_step), (adam_init, adam_step)]:
        with pytest.raises(ValueError, match="same keys"):
            step(params, other, init(params), 0.1)
        with pytest.raises(ValueError, match=f"{init.__name__}"):
            step(params, _arrays(rng), init(other), 0.1)
        with pytest.raises(ValueError, match=f"{init.__name__}"):
            step(params, _arrays(rng), {}, 0.1)
