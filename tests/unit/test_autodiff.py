"""rnnlib.autodiff: every operation's rule against central differences and torch.autograd, the RNN and
GRU language models against their hand-derived BPTT to 1e-12, and the errors for bad input."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from rnnlib import PROJECT_ROOT, reference
from rnnlib.autodiff import (
    Tensor,
    concatenate,
    cross_entropy,
    gru_lm_loss,
    lstm_step,
    rnn_lm_loss,
    split,
    stack,
    topological_order,
    unbroadcast,
)
from rnnlib.gradcheck import numerical_gradient, relative_error

torch = pytest.importorskip("torch")

SEEDS = st.integers(0, 2**32 - 1)
BROADCAST = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4)


def _gradients(build, arrays, seed_rng):
    """(value, grads) of L = sum(G * build(*Tensors)), G a fixed random array of the result's shape."""
    leaves = [Tensor(a) for a in arrays]
    out = build(*leaves)
    G = seed_rng.normal(size=out.shape)
    (out * Tensor(G)).sum().backward()
    return out.data, G, [leaf.grad for leaf in leaves]


def _check_op(build, torch_build, arrays, rng):
    """The op's value and gradients against central differences and against torch.autograd."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]  # rng.normal(size=()) is a Python float
    value, G, grads = _gradients(build, arrays, rng)
    for i, (array, grad) in enumerate(zip(arrays, grads, strict=True)):
        assert grad.shape == array.shape and grad.dtype == array.dtype

        def loss(_, i=i):
            return float(np.sum(G * build(*[Tensor(a) for a in arrays]).data))

        numeric = numerical_gradient(loss, array)
        assert relative_error(grad, numeric) < 1e-7, f"operand {i}: analytic {grad}, numerical {numeric}"
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = torch_build(*leaves)
    (out * torch.tensor(G)).sum().backward()
    np.testing.assert_allclose(value, out.detach().numpy(), rtol=1e-12, atol=1e-14)
    for grad, leaf in zip(grads, leaves, strict=True):
        np.testing.assert_allclose(grad, leaf.grad.numpy(), rtol=1e-10, atol=1e-12)


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "subtract": (lambda a, b: a - b, lambda a, b: a - b),
    "multiply": (lambda a, b: a * b, lambda a, b: a * b),
}


@pytest.mark.parametrize("op", BINARY)
@settings(max_examples=15)
@given(shapes=BROADCAST, seed=SEEDS)
def test_broadcasting_binary_operations(op, shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.normal(size=shape) for shape in shapes.input_shapes)
    _check_op(*BINARY[op], [a, b], rng)


UNARY = {
    "tanh": (lambda x: x.tanh(), torch.tanh, lambda rng, s: 2 * rng.normal(size=s)),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid, lambda rng, s: 2 * rng.normal(size=s)),
    "exp": (lambda x: x.exp(), torch.exp, lambda rng, s: rng.normal(size=s)),
    "log": (lambda x: x.log(), torch.log, lambda rng, s: rng.uniform(0.5, 3, size=s)),
    "sum": (lambda x: x.sum(), torch.sum, lambda rng, s: rng.normal(size=s)),
    "mean": (lambda x: x.mean(), torch.mean, lambda rng, s: rng.normal(size=s)),
    "number - x": (lambda x: 1 - x, lambda x: 1 - x, lambda rng, s: rng.normal(size=s)),
    "x * number": (lambda x: x * 0.5 + 2, lambda x: x * 0.5 + 2, lambda rng, s: rng.normal(size=s)),
}


@pytest.mark.parametrize("op", UNARY)
@settings(max_examples=10)
@given(shape=st.lists(st.integers(1, 4), max_size=3).map(tuple), seed=SEEDS)
def test_elementwise_operations_and_reductions(op, shape, seed):
    rng = np.random.default_rng(seed)
    build, torch_build, draw = UNARY[op]
    _check_op(build, torch_build, [draw(rng, shape)], rng)


@settings(max_examples=15)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), data=st.data(), seed=SEEDS)
def test_sum_and_mean_over_an_axis(shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    _check_op(lambda x: x.sum(axis), lambda x: x.sum(axis), [x], rng)
    _check_op(lambda x: x.mean(axis), lambda x: x.mean(axis), [x], rng)


@settings(max_examples=15)
@given(n=st.integers(1, 5), k=st.integers(1, 5), m=st.integers(1, 5), seed=SEEDS)
def test_matmul(n, k, m, seed):
    rng = np.random.default_rng(seed)
    _check_op(lambda a, b: a @ b, lambda a, b: a @ b, [rng.normal(size=(n, k)), rng.normal(size=(k, m))], rng)


@settings(max_examples=10)
@given(B=st.integers(1, 3), m=st.integers(1, 4), H=st.integers(1, 4), seed=SEEDS)
def test_lstm_step_is_torchs_lstm_cell(B, m, H, seed):
    """Exercise 12.7's LSTM on the tape: h and c, and every gradient, those of torch.lstm_cell."""
    rng = np.random.default_rng(seed)
    shapes = ((B, m), (B, H), (B, H), (m, 4 * H), (H, 4 * H), (4 * H,))

    def torch_lstm(x, h, c, Wx, Wh, b):  # torch's weights are ours transposed, its gates [i | f | g | o]
        return torch.cat(torch.lstm_cell(x, (h, c), Wx.T, Wh.T, b, torch.zeros_like(b)), dim=-1)

    _check_op(lambda *t: concatenate(lstm_step(*t)), torch_lstm, [rng.normal(size=s) for s in shapes], rng)


@settings(max_examples=15)
@given(V=st.integers(1, 6), H=st.integers(1, 4), B=st.integers(1, 8), seed=SEEDS)
def test_rows_is_the_one_hot_product_and_collects_repeated_ids(V, H, B, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(V, size=B)  # with B > V some id repeats
    _check_op(
        lambda W: W.rows(ids),
        lambda W: torch.nn.functional.embedding(torch.tensor(ids), W),
        [rng.normal(size=(V, H))],
        rng,
    )


@settings(max_examples=15)
@given(B=st.integers(1, 4), widths=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=SEEDS)
def test_concatenate_split_and_stack(B, widths, seed):
    rng = np.random.default_rng(seed)
    blocks = [rng.normal(size=(B, w)) for w in widths]
    _check_op(lambda *t: concatenate(t), lambda *t: torch.cat(t, dim=-1), blocks, rng)
    parts = len(widths)
    whole = rng.normal(size=(B, 2 * parts))
    weights = list(rng.normal(size=parts))  # weigh the parts differently, so a misplaced one shows
    _check_op(
        lambda x: sum(p * w for p, w in zip(split(x, parts), weights, strict=True)),
        lambda x: sum(p * w for p, w in zip(torch.chunk(x, parts, dim=-1), weights, strict=True)),
        [whole],
        rng,
    )
    same = [rng.normal(size=(B, 3)) for _ in widths]
    _check_op(lambda *t: stack(t, axis=1), lambda *t: torch.stack(t, dim=1), same, rng)


@settings(max_examples=15)
@given(B=st.integers(1, 3), T=st.integers(1, 3), V=st.integers(2, 6), seed=SEEDS)
def test_fused_cross_entropy(B, T, V, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(V, size=(B, T))
    Z = 3 * rng.normal(size=(B, T, V))
    _check_op(
        lambda z: cross_entropy(z, y),
        lambda z: torch.nn.functional.cross_entropy(z.reshape(-1, V), torch.tensor(y.reshape(-1))),
        [Z],
        rng,
    )
    big = Tensor(np.array([[0.0, 1000.0]]))  # no overflow: the loss of the right answer is ~0
    assert cross_entropy(big, np.array([1])).item() == 0.0


@settings(max_examples=25)
@given(shapes=BROADCAST)
def test_unbroadcast_undoes_broadcasting(shapes):
    grad = np.arange(np.prod(shapes.result_shape), dtype=float).reshape(shapes.result_shape)
    for shape in shapes.input_shapes:
        got = unbroadcast(grad, shape)
        assert got.shape == shape
        expected = torch.tensor(grad).sum_to_size(shape).numpy() if shape else grad.sum()
        np.testing.assert_array_equal(got, expected)


def test_a_tensor_used_twice_gets_the_sum_of_both_paths():
    x = Tensor(np.array([2.0, -1.0]))
    y = x * x + x  # three uses of x: d/dx = 2x + 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, -1.0])


def test_the_topological_order_holds_each_tensor_once_after_its_parents():
    x = Tensor(np.ones(3))
    a, b = x.exp(), x.log()
    loss = (a * b + a).sum()
    order = topological_order(loss)
    assert len(order) == len({id(t) for t in order}) == 6 and order[-1] is loss
    position = {id(t): i for i, t in enumerate(order)}
    assert all(position[id(p)] < position[id(t)] for t in order for p in t.parents)


def test_a_graph_deeper_than_the_recursion_limit():
    x = Tensor(np.array([0.1]))
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad[0] == 1.0


# The language models: the tape against the hand-derived BPTT of lessons 04 and 08, and against torch.


def _lm_setup(module, seed, B=3, T=7, V=6, H=5, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = module.init_params(V, H, rng, dtype=dtype)
    params = {k: (v + 0.3 * rng.normal(size=v.shape)).astype(dtype) for k, v in params.items()}
    inputs, targets = rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T))
    return params, inputs, targets, rng.normal(size=(B, H)).astype(dtype)


def _tape(tape_loss, params, inputs, targets, h0):
    tensors, h0 = {k: Tensor(v) for k, v in params.items()}, Tensor(h0)
    loss = tape_loss(tensors, inputs, targets, h0)
    loss.backward()
    return loss.item(), {k: t.grad for k, t in tensors.items()}, h0.grad


MODELS = {"rnn": rnn_lm_loss, "gru": gru_lm_loss}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", range(3))
def test_the_tape_reproduces_the_hand_derived_bptt(model, seed):
    module = reference(model)
    params, inputs, targets, h0 = _lm_setup(module, seed)
    loss, h_last, cache = module.lm_forward(params, inputs, targets, h0)
    grads, dh0 = module.lm_backward(cache)
    tape_loss, tape_grads, tape_dh0 = _tape(MODELS[model], params, inputs, targets, h0)
    assert abs(tape_loss - loss) <= 1e-12
    for k in params:
        np.testing.assert_allclose(tape_grads[k], grads[k], rtol=0, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(tape_dh0, dh0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_the_tape_keeps_float32(model):
    params, inputs, targets, h0 = _lm_setup(reference(model), 0, dtype=np.float32)
    _, grads, dh0 = _tape(MODELS[model], params, inputs, targets, h0)
    assert all(g.dtype == np.float32 for g in grads.values()) and dh0.dtype == np.float32


def _torch_rnn_lm(p, inputs, targets, h):
    logits = []
    for t in range(inputs.shape[1]):
        h = torch.tanh(p["Wxh"][inputs[:, t]] + p["bh"] + h @ p["Whh"])
        logits.append(h @ p["Why"] + p["by"])
    Z = torch.stack(logits, dim=1)
    return torch.nn.functional.cross_entropy(Z.reshape(-1, Z.shape[-1]), targets.reshape(-1))


def _torch_gru_lm(p, inputs, targets, h):
    logits = []
    for t in range(inputs.shape[1]):
        a_xr, a_xz, a_xn = torch.chunk(p["Wx"][inputs[:, t]] + p["bx"], 3, dim=1)
        a_hr, a_hz, a_hn = torch.chunk(h @ p["Wh"] + p["bh"], 3, dim=1)
        r, z = torch.sigmoid(a_xr + a_hr), torch.sigmoid(a_xz + a_hz)
        n = torch.tanh(a_xn + r * a_hn)
        h = (1 - z) * n + z * h
        logits.append(h @ p["Why"] + p["by"])
    Z = torch.stack(logits, dim=1)
    return torch.nn.functional.cross_entropy(Z.reshape(-1, Z.shape[-1]), targets.reshape(-1))


@pytest.mark.parametrize("model, torch_loss", [("rnn", _torch_rnn_lm), ("gru", _torch_gru_lm)])
def test_the_tape_matches_torch_autograd(model, torch_loss):
    params, inputs, targets, h0 = _lm_setup(reference(model), 7, T=9)
    loss, grads, dh0 = _tape(MODELS[model], params, inputs, targets, h0)
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h = torch.tensor(h0, requires_grad=True)
    expected = torch_loss(leaves, torch.tensor(inputs), torch.tensor(targets), h)
    expected.backward()
    assert abs(loss - expected.item()) <= 1e-12
    for k in params:
        np.testing.assert_allclose(grads[k], leaves[k].grad.numpy(), rtol=0, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(dh0, h.grad.numpy(), rtol=0, atol=1e-12)


# Bad input: one error that names the operation and the shapes.


def _raises(exception, pattern, function, *args):
    with pytest.raises(exception, match=pattern):
        function(*args)


def test_shapes_that_do_not_multiply_or_broadcast():
    a, b = Tensor(np.ones((3, 4))), Tensor(np.ones((5, 2)))
    _raises(ValueError, re.escape("matmul: shapes (3, 4) and (5, 2) do not multiply"), a.matmul, b)
    _raises(ValueError, re.escape("matmul: A @ B takes two 2-D tensors"), a.matmul, Tensor(np.ones(4)))
    _raises(ValueError, re.escape("add: shapes (3, 4) and (5, 2) do not broadcast"), a.__add__, b)
    _raises(
        ValueError,
        re.escape("multiply: shapes (3, 4) and (3,) do not broadcast"),
        a.__mul__,
        Tensor(np.ones(3)),
    )
    _raises(ValueError, re.escape("concatenate: shapes (3, 4), (5, 2) cannot be joined"), concatenate, [a, b])
    _raises(ValueError, re.escape("split: cannot cut shape (3, 4) into 3 equal parts"), split, a, 3)
    _raises(ValueError, re.escape("stack: the Tensors must have one shape"), stack, [a, b])
    _raises(ValueError, re.escape("sum: axis must be None or an int in [-2, 2)"), a.sum, 2)


def test_bad_ids_and_targets():
    W = Tensor(np.ones((4, 3)))
    _raises(ValueError, re.escape("rows: ids must be integers in [0, 4)"), W.rows, np.array([0, 4]))
    _raises(ValueError, re.escape("rows: ids must be integers"), W.rows, np.array([0.0]))
    Z = Tensor(np.ones((2, 3, 4)))
    _raises(
        ValueError,
        re.escape("cross_entropy: logits (..., V) need integer targets"),
        cross_entropy,
        Z,
        np.zeros(2, int),
    )
    _raises(
        ValueError,
        re.escape("cross_entropy: targets must lie in [0, 4)"),
        cross_entropy,
        Z,
        np.full((2, 3), 4),
    )


def test_backward_on_a_non_scalar_needs_a_seed():
    y = Tensor(np.ones((2, 3))).tanh()
    _raises(ValueError, re.escape("'tanh' result has shape (2, 3); reduce it first"), y.backward)
    _raises(
        ValueError, re.escape("seed gradient must have this Tensor's shape (2, 3)"), y.backward, np.ones(3)
    )
    x = Tensor(np.zeros((2, 3)))
    x.tanh().backward(np.full((2, 3), 2.0))  # with a seed: dL/dx = seed * (1 - tanh(0)**2)
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


def test_backward_twice_is_refused_and_a_new_forward_pass_works():
    x = Tensor(np.array([0.5, -0.5]))
    loss = (x * x).sum()
    loss.backward()
    _raises(RuntimeError, "already differentiated.*Run the forward pass again", loss.backward)
    x.zero_grad()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, -1.0])
    (x * x).sum().backward()  # without zero_grad the gradients add up, as in PyTorch
    np.testing.assert_array_equal(x.grad, [2.0, -2.0])


def test_mixed_dtypes_and_non_float_data_are_refused():
    a, b = Tensor(np.ones((2, 3), dtype=np.float32)), Tensor(np.ones(3))
    _raises(TypeError, re.escape("add: float32 (2, 3) and float64 (3,) differ in dtype"), a.__add__, b)
    _raises(TypeError, re.escape("matmul: float32 (2, 3) and float64 (3,) differ in dtype"), a.matmul, b)
    _raises(
        TypeError,
        "multiply: the other operand must be a Tensor or a number, got ndarray",
        a.__mul__,
        np.ones(3),
    )
    _raises(TypeError, "concatenate: the Tensors differ in dtype", concatenate, [a, Tensor(np.ones((2, 3)))])
    _raises(TypeError, "Tensor holds floating-point numbers, got dtype int64", Tensor, np.arange(3))
    assert (1 - a).dtype == np.float32  # a number takes the Tensor's dtype


def test_the_lesson_quotes_the_module_line_for_line():
    import nbformat

    source = {
        line.strip() for line in (PROJECT_ROOT / "solutions/rnnlib/autodiff.py").read_text().splitlines()
    }
    notebook = nbformat.read(PROJECT_ROOT / "notebooks/12_autodiff.ipynb", as_version=4)
    quoted = [
        line.strip()
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for block in re.findall(r"```python\n(.*?)```", cell.source, re.S)
        for line in block.splitlines()
        if line.strip() not in ("", "...")  # an ellipsis stands for lines left out of a quote
    ]
    assert quoted and not [line for line in quoted if line not in source]
