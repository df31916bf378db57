"""The checks of lesson 12, notebooks/12_autodiff.ipynb: Exercises 12.1-12.7 (rnnlib/autodiff.py).

Reverse-mode automatic differentiation. Each rule is called directly (a Tensor's ``rule``), so that a
check depends only on its own exercise; expected values are lesson 04's formulas computed here, and
central differences.
"""

import contextlib

import numpy as np

from .. import reference
from ..checks import CheckFailed, call, expect_close, expect_equal, expect_gradient, expect_shape, expect_true
from . import exercise
from .shared import as_float32, expect_dtype, no_float_warnings, rng_for


def _expect_rule(function, node, d, expected, numerical):
    """Call ``node.rule(d)`` and compare its gradients with ``expected`` {name: array}, and, for the names
    in ``numerical`` {name: (f, x)}, with central differences of f at x."""
    grads = call(f"the rule of {function}", node.rule, d)
    expect_true(
        f"{function}: its rule",
        isinstance(grads, tuple),
        f"must return a tuple of gradients, one per parent, got {type(grads).__name__}",
    )
    expect_equal(f"{function}: the number of gradients its rule returns", len(grads), len(expected))
    for (name, value), grad in zip(expected.items(), grads, strict=True):
        expect_close(f"{function}: {name}", grad, value)
        if name in numerical:
            expect_gradient(name.split(" ")[0][1:], *numerical[name], grad)
    return grads


@exercise("12.1", "Tensor.matmul")
def _matmul():
    from ..autodiff import Tensor

    rng = rng_for("12.1")
    for n, k, m in ((3, 3, 3), (4, 3, 2)):  # square first: a missing transpose gives wrong values there
        A, B, dC = rng.normal(size=(n, k)), rng.normal(size=(k, m)), rng.normal(size=(n, m))
        C = call("Tensor.matmul", Tensor(A).matmul, Tensor(B))
        expect_close(f"Tensor.matmul: (A @ B).data for A {A.shape}, B {B.shape}", C.data, A @ B)

        def loss(_, A=A, B=B, dC=dC):  # L = sum(dC * (A B)), whose gradient with respect to C is dC
            return float(np.sum(dC * (A @ B)))

        dA, dB = f"dA = dC B^T for A {A.shape}, B {B.shape}", f"dB = A^T dC for A {A.shape}, B {B.shape}"
        _expect_rule("Tensor.matmul", C, dC, {dA: dC @ B.T, dB: A.T @ dC}, {dA: (loss, A), dB: (loss, B)})
    # By hand: A = [1 2], B = [[1 0 2], [0 1 3]], dC = [1 1 1]: dA = [1+0+2, 0+1+3], dB = [[1 1 1], [2 2 2]].
    C = Tensor(np.array([[1.0, 2.0]])).matmul(Tensor(np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])))
    dA, dB = C.rule(np.ones((1, 3)))
    expect_close("Tensor.matmul on the worked example: dA", dA, np.array([[3.0, 4.0]]))
    expect_close("Tensor.matmul on the worked example: dB", dB, np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]))
    A32, B32 = as_float32(A, B)
    dA32, _ = Tensor(A32).matmul(Tensor(B32)).rule(np.ones((4, 2), dtype=np.float32))
    expect_dtype("Tensor.matmul: dA for float32 operands", dA32, np.float32)


@exercise("12.2", "unbroadcast")
def _unbroadcast():
    from ..autodiff import unbroadcast

    rng = rng_for("12.2")
    G, G3 = rng.normal(size=(4, 3)), rng.normal(size=(2, 4, 3))
    cases = (  # (what was broadcast, grad, the operand's shape, the expected gradient, computed here)
        ("b (3,) added to Z (4, 3)", G, (3,), G.sum(axis=0)),
        ("b (1, 3) added to Z (4, 3)", G, (1, 3), G.sum(axis=0, keepdims=True)),
        ("c (4, 1) added to Z (4, 3)", G, (4, 1), G.sum(axis=1, keepdims=True)),
        ("an operand of shape (4, 3), not broadcast", G, (4, 3), G),
        ("a scalar, shape (), added to Z (4, 3)", G, (), G.sum()),
        ("b (3,) added to Z (2, 4, 3)", G3, (3,), G3.sum(axis=(0, 1))),
        ("c (4, 1) added to Z (2, 4, 3)", G3, (4, 1), G3.sum(axis=(0, 2))[:, None]),
        ("d (2, 1, 3) added to Z (2, 4, 3)", G3, (2, 1, 3), G3.sum(axis=1, keepdims=True)),
    )
    for what, grad, shape, expected in cases:
        got = call("unbroadcast", unbroadcast, grad, shape)
        expect_shape(f"unbroadcast(grad {grad.shape}, {shape}) for {what}", got, shape)
        expect_close(f"unbroadcast(grad {grad.shape}, {shape}) for {what}", got, expected)
    expect_dtype("unbroadcast of a float32 gradient", unbroadcast(G.astype(np.float32), (3,)), np.float32)


def _expect_elementwise_rule(function, method, x, forward, slope):
    """Check the Tensor method ``method`` (e.g. "tanh") at ``x``: its value forward(x) and its rule,
    dx = dy * slope."""
    from ..autodiff import Tensor

    y = call(f"Tensor.{method}", getattr(Tensor(x), method))
    expect_close(f"{function}: the value {method}(x)", y.data, forward(x))
    dy = np.random.default_rng(12).normal(size=x.shape)

    def loss(_):
        return float(np.sum(dy * forward(x)))

    _expect_rule(function, y, dy, {"dx": dy * slope}, {"dx": (loss, x)})
    x32, dy32 = as_float32(x, dy)
    expect_dtype(f"{function}: dx for float32", getattr(Tensor(x32), method)().rule(dy32)[0], np.float32)


@exercise("12.3", "Tensor.tanh")
def _tanh():
    x = np.array([[-3.0, -1.2, -0.3, 0.0], [0.3, 0.8, 1.5, 2.5]])  # away from 0 the input is not the output
    _expect_elementwise_rule("Tensor.tanh", "tanh", x, np.tanh, 1 - np.tanh(x) ** 2)


@exercise("12.4", "Tensor.sigmoid")
def _sigmoid():
    x = np.array([[-4.0, -1.5, -0.4, 0.0], [0.4, 1.0, 2.0, 5.0]])
    s = 1 / (1 + np.exp(-x))
    _expect_elementwise_rule("Tensor.sigmoid", "sigmoid", x, lambda x: 1 / (1 + np.exp(-x)), s * (1 - s))
    # |x| up to 1000: exp(-x) overflows below x = -710 in float64 (-89 in float32), so a slope computed
    # from x again warns or gives NaN there; the output s, which the forward pass already has, cannot.
    from ..autodiff import Tensor

    far = np.array([[-1000.0, -100.0, -30.0, -5.0], [5.0, 30.0, 100.0, 1000.0]])
    for dtype in (np.float64, np.float32):
        x, ds = far.astype(dtype), np.ones(far.shape, dtype=dtype)
        label = f"Tensor.sigmoid: dx for {np.dtype(dtype)} x from -1000 to 1000"
        with no_float_warnings(label):
            dx = call("the rule of Tensor.sigmoid", Tensor(x).sigmoid().rule, ds)[0]
        s = Tensor(x).sigmoid().data.astype(np.float64)  # the forward pass is the course's, not the exercise
        expect_close(label, dx, s * (1 - s), rtol=1e-5 if dtype == np.float32 else 1e-7)
        expect_dtype(label, dx, dtype)


def _expect_topological(order, root, label):
    """``order`` holds every Tensor reachable from ``root`` once, each after its parents, ``root`` last."""
    reachable, stack = {}, [root]
    while stack:
        node = stack.pop()
        if id(node) not in reachable:
            reachable[id(node)] = node
            stack.extend(node.parents)
    expect_true(f"topological_order({label})", isinstance(order, list), f"must return a list, got {order!r}")
    ids = [id(node) for node in order]
    expect_equal(
        f"topological_order({label}): the number of Tensors (each Tensor once, however many paths reach it)",
        len(order),
        len(reachable),
    )
    expect_true(
        f"topological_order({label})",
        set(ids) == set(reachable),
        "must hold the loss and every Tensor it was computed from, down to the leaves",
    )
    position = {i: k for k, i in enumerate(ids)}
    late = [(node.op, p.op) for node in order for p in node.parents if position[id(p)] > position[id(node)]]
    expect_true(
        f"topological_order({label})",
        not late,
        "every Tensor must come after its parents, the loss last; "
        + (f"a {late[0][0]!r} Tensor comes before its parent made by {late[0][1]!r}" if late else ""),
    )


@exercise("12.5", "topological_order")
def _topological_order():
    from ..autodiff import Tensor, concatenate, topological_order

    # A diamond: a = exp(x) feeds b = log(a) and the concatenation, so x reaches the loss by two paths.
    x_data = rng_for("12.5").normal(size=(2, 3))
    x = Tensor(x_data)
    a = x.exp()
    loss = concatenate([a, a.log()]).sum()
    order = call("topological_order", topological_order, loss)
    _expect_topological(order, loss, "the loss of sum([exp(x) | log(exp(x))])")
    loss.backward()
    expect_close(
        "x.grad after loss.backward() (exp(x) + 1: each rule run once, in your order)",
        x.grad,
        np.exp(x_data) + 1,
    )
    chain = Tensor(np.array([0.5]))
    for _ in range(1500):  # 3,000 Tensors deep, like an RNN of 600 steps
        chain = chain.exp().log()
    try:
        order = topological_order(chain)
    except RecursionError:
        raise CheckFailed(
            "topological_order on a chain of 3,000 Tensors: RecursionError; a recursive walk goes one Python "
            "call deeper per Tensor, so walk with a list as your own stack"
        ) from None
    _expect_topological(order, chain, "a chain of 3,000 Tensors")


@exercise("12.6", "Tensor.rows")
def _rows():
    from ..autodiff import Tensor

    rng = rng_for("12.6")
    W = rng.normal(size=(5, 3))
    cases = (  # ids, what they show; the expected dW is summed here, lookup by lookup
        ([4, 1, 0], "each id once"),
        ([2, 2, 0, 2], "row 2 looked up 3 times: dW[2] is the sum of the 3 rows of d that came from it"),
        ([3, 3], "row 3 twice, no other: dW[3] = d[0] + d[1]"),
    )
    for ids, what in cases:
        ids = np.array(ids)
        out = call("Tensor.rows", Tensor(W).rows, ids)
        expect_close(f"Tensor.rows: W[ids] for ids {ids.tolist()}", out.data, W[ids])
        d = rng.normal(size=(len(ids), W.shape[1]))
        expected = np.zeros_like(W)
        for b, v in enumerate(ids):
            expected[v] += d[b]

        def loss(_, ids=ids, d=d):  # L = sum(d * W[ids]), whose gradient with respect to W[ids] is d
            return float(np.sum(d * W[ids]))

        name = f"dW for ids {ids.tolist()} ({what})"
        _expect_rule("Tensor.rows", out, d, {name: expected}, {name: (loss, W)})
    W32, d32 = as_float32(W, np.ones((2, 3)))
    expect_dtype(
        "Tensor.rows: dW for a float32 table", Tensor(W32).rows(np.array([1, 1])).rule(d32)[0], np.float32
    )


def _lstm_here(x, h_prev, c_prev, Wx, Wh, b):
    """Problem set 8's LSTM step in NumPy, computed here: (h, c)."""
    a_i, a_f, a_g, a_o = np.split(x @ Wx + h_prev @ Wh + b, 4, axis=-1)
    c = 1 / (1 + np.exp(-a_f)) * c_prev + 1 / (1 + np.exp(-a_i)) * np.tanh(a_g)
    return 1 / (1 + np.exp(-a_o)) * np.tanh(c), c


@contextlib.contextmanager
def _reference_tape():
    """Your autodiff module with the reference's Tensor and its helpers in place of yours, so that your
    lstm_step runs on the reference's rules (Exercises 12.1-12.6): a bug in those fails their own checks."""
    from .. import autodiff

    ref = reference("autodiff")
    names = ("Tensor", "split", "concatenate", "stack", "unbroadcast", "topological_order")
    yours = {name: getattr(autodiff, name) for name in names}
    for name in names:
        setattr(autodiff, name, getattr(ref, name))
    try:
        yield ref.Tensor
    finally:
        for name, value in yours.items():
            setattr(autodiff, name, value)


@exercise("12.7", "lstm_step")
def _lstm_step():
    from ..autodiff import lstm_step

    rng = rng_for("12.7")
    B, m, H = 2, 3, 4
    arrays = {
        "x": rng.normal(size=(B, m)),
        "h_prev": np.tanh(rng.normal(size=(B, H))),
        "c_prev": rng.normal(size=(B, H)),
        "Wx": rng.normal(scale=0.7, size=(m, 4 * H)),
        "Wh": rng.normal(scale=0.7, size=(H, 4 * H)),
        "b": rng.normal(scale=0.5, size=4 * H),
    }
    dh, dc = rng.normal(size=(B, H)), rng.normal(size=(B, H))

    def loss(_):  # L = sum(dh * h) + sum(dc * c), computed here from the arrays as they are now
        h, c = _lstm_here(**arrays)
        return float(np.sum(dh * h) + np.sum(dc * c))

    with _reference_tape() as Tensor:
        leaves = {name: Tensor(value) for name, value in arrays.items()}
        got = call("lstm_step", lstm_step, *leaves.values())
        expect_true(
            "lstm_step",
            isinstance(got, tuple) and len(got) == 2 and all(isinstance(t, Tensor) for t in got),
            f"must return the pair (h, c) of Tensors, got {type(got).__name__}",
        )
        expected_h, expected_c = _lstm_here(**arrays)
        expect_close("lstm_step: c, the cell state (f * c_prev + i * candidate)", got[1].data, expected_c)
        expect_close("lstm_step: h (o * tanh(c))", got[0].data, expected_h)
        ((got[0] * Tensor(dh)).sum() + (got[1] * Tensor(dc)).sum()).backward()
        for name, leaf in leaves.items():
            expect_true(
                f"lstm_step: {name}.grad after backward",
                leaf.grad is not None,
                f"is None: h and c must be computed from {name}",
            )
            expect_gradient(f"{name} (by your tape, from h and c)", loss, arrays[name], leaf.grad)
        h32, c32 = lstm_step(*(Tensor(value.astype(np.float32)) for value in arrays.values()))
        expect_dtype("lstm_step: h for float32 Tensors", h32.data, np.float32)
