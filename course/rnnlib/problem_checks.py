"""The check of every problem of the problem sets (exercises/NN_*.ipynb), one function each.

A problem set's check cell names the problem and hands the check your answers, the functions the
problem asks for::

    #NBVAL_CHECK_OUTPUT
    with check("Problem 2: gru_step"):
        check_problem("07_gru_problems", 2, gru_step)

It prints ``✓ Problem 2: gru_step`` or stops with one line that names the problem, the function, the
quantity that is wrong, what was expected and what came back. This is course infrastructure, not an
exercise: the problem sets derive the mathematics and the code is yours to write, so the expected values
live here, out of view of the problems, not in the notebooks.

As in rnnlib/lesson_checks/, expected values never come from your other answers, so a check blames the
problem it follows: they come from numbers computed here, from central differences, or from the solved
problem set, solutions/exercises/NN_*.ipynb, whose functions (its answers and the helpers it gives you)
``_solved`` defines here from their source.
"""

import ast
import json
import sys
from functools import cache
from types import SimpleNamespace

import numpy as np

from . import PROJECT_ROOT, recorded, reference
from .checks import call, expect_close, expect_equal, expect_gradient, expect_shape, expect_true
from .relative_error import relative_error

SOLVED = PROJECT_ROOT / "solutions" / "exercises"
PROBLEMS = {}  # ("07_gru_problems", 2) -> check function, in the order of the problem sets


def problem(problem_set, number):
    """Register the decorated function as the check of Problem ``number`` of ``problem_set``."""

    def register(function):
        PROBLEMS[problem_set, number] = function
        return function

    return register


def check_problem(problem_set, number, *answers):
    """Run the check of Problem ``number`` of ``problem_set`` (e.g. "07_gru_problems", 2) on ``answers``,
    the functions the problem asks for. Call it inside ``with check("Problem N: ...")``, which prints the
    ✓ line or turns a failure into one line."""
    if (problem_set, number) not in PROBLEMS:
        known = ", ".join(f"{name} {n}" for name, n in PROBLEMS)
        raise KeyError(f"there is no check of Problem {number} of {problem_set}; the checks are {known}")
    with recorded.session(f"{problem_set}:{number}"):
        PROBLEMS[problem_set, number](*answers)


@cache
def _solved(problem_set):
    """The functions of the solved problem set, as attributes: every function defined at the top level of
    a code cell of solutions/exercises/<problem_set>.ipynb, defined here from its source (not run: a
    function only runs when a check calls it). Their global names are NumPy, rnnlib, the reference's
    modules the sets use, and each other."""
    if recorded.mode() == "replay":  # the student edition: the solved sets' answers, as recorded
        return recorded.wrap(("solved", problem_set), None)
    path = SOLVED / f"{problem_set}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"the checks of the problem sets read the solved sets, and {path} is missing")
    # The real modules, also while the edition is recorded: these functions stand for a student's.
    gradcheck = recorded.real(reference("gradcheck"))
    names = {
        "np": np,
        "rnnlib": sys.modules[__package__],
        "data": recorded.real(reference("data")),
        "optim": recorded.real(reference("optim")),
        "numerical_gradient": gradcheck.numerical_gradient,
        "relative_error": gradcheck.relative_error,
    }
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] != "code":
            continue
        for node in ast.parse(source).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            try:
                exec(compile(ast.Module([node], type_ignores=[]), str(path), "exec"), names)
            except NameError:  # a default argument that reads the notebook's state: no check uses it
                continue
    solved = SimpleNamespace(**{name: value for name, value in names.items() if callable(value)})
    return recorded.wrap(("solved", problem_set), solved) if recorded.mode() == "record" else solved


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _expect_pair(call_text, answer, what):
    expect_true(
        call_text,
        isinstance(answer, tuple) and len(answer) == 2,
        f"expected the pair ({what}), got {type(answer).__name__}",
    )


def _wrong_names(arrays, grads, loss):
    """The names of ``arrays`` whose gradient in ``grads`` fails a gradient check (relative error 1e-7
    or more against central differences of ``loss()``, which reads the arrays)."""
    gradcheck = reference("gradcheck")
    return {
        name
        for name, x in arrays.items()
        if not relative_error(grads[name], gradcheck.numerical_gradient(lambda _: loss(), x)) < 1e-7
    }


def _expect_gradients(function, what, arrays, grads, loss, setting):
    """``grads``, the tuple ``function`` returned, holds the gradient of ``loss()`` in each of ``arrays``."""
    expect_true(
        function,
        isinstance(grads, tuple) and len(grads) == len(arrays),
        f"expected the {len(arrays)} gradients ({what}), got {type(grads).__name__}",
    )
    for (name, x), grad in zip(arrays.items(), grads, strict=True):
        expect_gradient(f"{name} from {function.split('(')[0]} ({setting})", lambda _: loss(), x, grad)


# Problem set 1: text as numbers, softmax and the loss.

SET_01 = "01_text_and_loss_problems"


@problem(SET_01, 1)
def _one_hot(one_hot):
    r = np.random.default_rng(1)
    W, ids = r.standard_normal((6, 4)), np.array([[5, 0, 2], [2, 2, 1]])
    X = one_hot(ids, 6)
    expect_shape("one_hot(ids, 6)", X, (2, 3, 6))
    expect_equal("one_hot(ids, 6).dtype", np.asarray(X).dtype, np.dtype(np.float64))
    # row (b, t) is all zeros but a 1 in column ids[b, t]
    expect_close("one_hot(ids, 6)", X, (ids[..., None] == np.arange(6)).astype(np.float64), rtol=0, atol=0)
    expect_close("one_hot(ids, 6) @ W, which should be W[ids]", np.asarray(X) @ W, W[ids])
    expect_close("one_hot([3, 0], 5)", one_hot([3, 0], 5), [[0, 0, 0, 1, 0], [1, 0, 0, 0, 0]], rtol=0, atol=0)


@problem(SET_01, 2)
def _output_layer_shapes(shapes):
    for B, H, V in [(4, 3, 5), (2, 7, 6)]:
        r = np.random.default_rng(2)
        h, Why, by = r.standard_normal((B, H)), r.standard_normal((H, V)), r.standard_normal(V)
        y = r.integers(V, size=B)
        Z = h @ Why + by
        Y_hat = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
        L = -np.log(Y_hat[np.arange(B), y]).mean()
        # each gradient has the shape of the quantity it differentiates
        actual = dict(h=h, Why=Why, by=by, Z=Z, Y_hat=Y_hat, y=y, L=L, dZ=Z, dWhy=Why, dby=by, dh=h)
        answer = shapes(B, H, V)
        is_dict = isinstance(answer, dict)
        expect_true(f"shapes{B, H, V}", is_dict, f"expected a dict {{name: shape}}, got {answer!r}")
        expect_equal(f"the names in shapes{B, H, V}", sorted(answer), sorted(actual))
        for name, value in actual.items():
            expect_equal(f"shapes{B, H, V}[{name!r}]", answer[name], np.shape(value))


@problem(SET_01, 3)
def _softmax(softmax):
    r = np.random.default_rng(3)
    Z, c = r.standard_normal((4, 6)), r.standard_normal((4, 1))
    expected = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    expect_close("softmax(Z)", softmax(Z), expected)
    expect_close("softmax(Z + c), each row shifted by its own constant", softmax(Z + c), expected)
    Z3 = r.standard_normal((2, 3, 4))  # a block of logits: softmax over the last axis only
    expected3 = np.exp(Z3) / np.exp(Z3).sum(axis=-1, keepdims=True)
    expect_close("softmax of a (2, 3, 4) block", softmax(Z3), expected3)
    e = np.exp([-2.0, -1.0, 0.0])  # [1000, 1001, 1002] shifted by its max
    big = softmax(np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, -1000.0]]))
    expect_shape("softmax of logits like 1000", big, (2, 3))
    for row, expected_row in enumerate([e / e.sum(), [0.0, 1.0, 0.0]]):  # row by row: a NaN shows on one line
        expect_close(
            f"row {row} of softmax of logits like 1000 (subtract each row's max)", big[row], expected_row
        )
    expect_close("softmax([0, 1, 2]), one row", softmax(np.array([0.0, 1.0, 2.0])), e / e.sum())


@problem(SET_01, 4)
def _cross_entropy(cross_entropy, cross_entropy_backward):
    r = np.random.default_rng(4)
    Z, y = r.standard_normal((3, 5)), np.array([0, 4, 4])

    def naive_loss(Z):
        """The definition, -mean log softmax(Z)[b, y_b]: exact for the small logits it meets here."""
        return -np.log(np.exp(Z)[np.arange(3), y] / np.exp(Z).sum(axis=1)).mean()

    expect_close("cross_entropy(Z, y), the mean of -log y_hat[b, y_b]", cross_entropy(Z, y), naive_loss(Z))
    expect_close("cross_entropy(Z + 1000, y), logits like 1000", cross_entropy(Z + 1000.0, y), naive_loss(Z))
    # central differences of the definition, not of your cross_entropy
    expect_gradient("Z, cross_entropy_backward(Z, y)", naive_loss, Z, cross_entropy_backward(Z, y))


@problem(SET_01, 5)
def _uniform_loss(uniform_loss):
    for V in (65, 2, 1000):
        answer = uniform_loss(V)
        expect_true(
            f"uniform_loss({V})",
            isinstance(answer, tuple) and len(answer) == 2,
            f"expected the pair (mean loss, perplexity), got {answer!r}",
        )
        expect_close(f"the mean loss of uniform_loss({V}), in nats", answer[0], np.log(V))
        expect_close(f"the perplexity of uniform_loss({V})", answer[1], V)


@problem(SET_01, 6)
def _bits_and_perplexity(bits_per_char, perplexity, perplexity_from_bpc):
    losses = np.array([0.1, 1.0, np.log(65), 3.7])
    expect_close("bits_per_char(ln 2), exactly one bit", bits_per_char(np.log(2)), 1.0)
    expect_close("bits_per_char(losses)", bits_per_char(losses), losses / np.log(2))
    expect_close("perplexity(ln 65), the uniform model over 65", perplexity(np.log(65)), 65.0)
    expect_close("perplexity(losses)", perplexity(losses), np.exp(losses))
    expect_close("perplexity_from_bpc(1.5), which is 2**1.5", perplexity_from_bpc(1.5), 2 * np.sqrt(2))
    bpcs = losses / np.log(2)
    expect_close("perplexity_from_bpc(losses / ln 2)", perplexity_from_bpc(bpcs), np.exp(losses))


# Problem set 3: the RNN and backpropagation through time.

SET_03 = "03_rnn_bptt_problems"


@problem(SET_03, 1)
def _n_params(n_params):
    expect_equal("n_params(65, 128)", n_params(65, 128), 33217)
    for V, H in [(3, 2), (65, 1), (10, 50)]:
        sizes = [(V, H), (H, H), (H,), (H, V), (V,)]  # Wxh, Whh, bh, Why, by
        expect_equal(f"n_params({V}, {H})", n_params(V, H), sum(int(np.prod(size)) for size in sizes))


@problem(SET_03, 2)
def _window_shapes(shapes):
    rnn_forward = _solved(SET_03).rnn_forward
    for B, T, m, H, V in [(2, 3, 4, 5, 6), (4, 7, 3, 2, 5)]:
        r = np.random.default_rng(2)
        X, h0 = r.standard_normal((B, T, m)), r.standard_normal((B, H))
        Wxh, Whh, bh = r.standard_normal((m, H)), r.standard_normal((H, H)), r.standard_normal(H)
        Why, by, targets = r.standard_normal((H, V)), r.standard_normal(V), r.integers(V, size=(B, T))
        A_x = X @ Wxh + bh
        Hs = rnn_forward(X, h0, Wxh, Whh, bh)
        Z = Hs @ Why + by
        log_P = Z - np.log(np.exp(Z).sum(axis=-1, keepdims=True))
        L = -np.take_along_axis(log_P, targets[..., None], axis=-1).mean()
        # a gradient has the shape of what it differentiates; Delta is dL/da_t at every step
        actual = dict(
            X=X,
            h0=h0,
            Wxh=Wxh,
            Whh=Whh,
            bh=bh,
            Why=Why,
            by=by,
            targets=targets,
            A_x=A_x,
            Hs=Hs,
            h_last=Hs[:, -1],
            Z=Z,
            L=L,
            dZ=Z,
            dHs=Hs,
            Delta=A_x,
            dh0=h0,
            dWxh=Wxh,
            dWhh=Whh,
            dbh=bh,
            dWhy=Why,
            dby=by,
            X2d=X.reshape(B * T, m),
            Delta2d=A_x.reshape(B * T, H),
        )
        answer, called = shapes(B, T, m, H, V), f"shapes{B, T, m, H, V}"
        expect_true(called, isinstance(answer, dict), f"expected a dict {{name: shape}}, got {answer!r}")
        expect_equal(f"the names in {called}", sorted(answer), sorted(actual))
        for name, value in actual.items():
            expect_equal(f"{called}[{name!r}]", answer[name], np.shape(value))


@problem(SET_03, 3)
def _grad_terms(grad_terms):
    two_step_loss = _solved(SET_03).two_step_loss
    eps = 1e-6
    for w, kw in [(0.5, {}), (-1.3, dict(x=(0.3, -2.0), h0=-0.7, wx=0.4, y=-0.2)), (0.9, dict(h0=0.0))]:
        terms = grad_terms(w, **kw)
        expect_shape(f"grad_terms({w})", terms, (2,))
        d_w1 = (two_step_loss(w + eps, w, **kw) - two_step_loss(w - eps, w, **kw)) / (2 * eps)
        d_w2 = (two_step_loss(w, w + eps, **kw) - two_step_loss(w, w - eps, **kw)) / (2 * eps)
        d_w = (two_step_loss(w + eps, w + eps, **kw) - two_step_loss(w - eps, w - eps, **kw)) / (2 * eps)
        expect_close(f"w = {w}: delta_1 h_0, which is dL/dw1", terms[0], d_w1, atol=1e-8)
        expect_close(f"w = {w}: delta_2 h_1, which is dL/dw2", terms[1], d_w2, atol=1e-8)
        expect_close(f"w = {w}: the sum of the two terms, which is dL/dw", np.sum(terms), d_w, atol=1e-8)


@problem(SET_03, 4)
def _sum_over_steps(dW_loop, dW_one_product):
    r = np.random.default_rng(4)
    X, Delta = r.standard_normal((3, 5, 4)), r.standard_normal((3, 5, 2))
    expected = np.einsum("btm,bth->mh", X, Delta)  # the sum over every row b and step t of x_bt^T delta_bt
    for f in (dW_loop, dW_one_product):
        expect_close(f"{f.__name__}(X, Delta), the sum over t of X_t^T Delta_t", f(X, Delta), expected)


@problem(SET_03, 5)
def _bptt_deltas(tanh_prime, bptt_deltas):
    rnn_forward = _solved(SET_03).rnn_forward
    a = np.linspace(-3, 3, 7)
    expect_close("tanh_prime(tanh(a)), which is 1 / cosh(a)**2", tanh_prime(np.tanh(a)), 1 / np.cosh(a) ** 2)

    r = np.random.default_rng(5)
    B, T, m, H = 2, 4, 3, 5
    X, h0 = r.standard_normal((B, T, m)), r.standard_normal((B, H))
    Wxh, Whh, bh = r.standard_normal((m, H)), r.standard_normal((H, H)) / np.sqrt(H), r.standard_normal(H)
    G = r.standard_normal((B, T, H))  # L = sum(G * Hs), so the output layer sends dHs = G

    def loss(_):  # central differences change Whh, Wxh, bh or h0 in place, and this reads them
        return np.sum(G * rnn_forward(X, h0, Wxh, Whh, bh))

    Hs = rnn_forward(X, h0, Wxh, Whh, bh)
    answer = bptt_deltas(G, Hs, Whh)
    _expect_pair("bptt_deltas(dHs, Hs, Whh)", answer, "Delta, dh0")
    Delta, dh0 = answer
    expect_shape("Delta", Delta, (B, T, H))
    expect_shape("dh0", dh0, (B, H))
    Hprev = np.concatenate([h0[:, None], Hs[:, :-1]], axis=1)
    expect_gradient("Whh, from your Delta", loss, Whh, np.einsum("bti,btj->ij", Hprev, Delta))
    expect_gradient("Wxh, from your Delta", loss, Wxh, np.einsum("bti,btj->ij", X, Delta))
    expect_gradient("bh, from your Delta", loss, bh, np.sum(Delta, axis=(0, 1)))
    expect_gradient("h0", loss, h0, dh0)


@problem(SET_03, 7)
def _jacobian_product(jacobian_product, spectral_norm):
    rnn_forward = _solved(SET_03).rnn_forward
    r = np.random.default_rng(7)
    T, m, H = 6, 3, 4
    X, h0 = r.standard_normal((1, T, m)), r.standard_normal((1, H))
    Wxh, Whh, bh = r.standard_normal((m, H)), r.standard_normal((H, H)), r.standard_normal(H)
    numeric = np.zeros((H, H))
    for i in range(H):  # column i: how h_T moves when entry i of h_0 moves
        step = 1e-6 * np.eye(H)[i]
        h_plus, h_minus = (rnn_forward(X, h0 + s, Wxh, Whh, bh)[0, -1] for s in (step, -step))
        numeric[:, i] = (h_plus - h_minus) / 2e-6
    P = jacobian_product(rnn_forward(X, h0, Wxh, Whh, bh)[0], Whh)
    expect_close("jacobian_product(Hs, Whh), entry (j, i) = d h_T[j] / d h_0[i]", P, numeric, atol=1e-8)
    expect_close("spectral_norm(diag(3, -5, 1))", spectral_norm(np.diag([3.0, -5.0, 1.0])), 5.0)
    expect_close("spectral_norm(Whh)", spectral_norm(Whh), np.linalg.norm(Whh, 2))
    A = r.standard_normal((3, 5))
    expect_close("spectral_norm of a 3 x 5 matrix", spectral_norm(A), np.linalg.norm(A, 2))
    bound = np.linalg.norm(Whh, 2) ** T
    expect_true("spectral_norm(P)", spectral_norm(P) <= bound, f"must be <= ||Whh||^T = {bound:.4g}")


# Problem set 4: find the bug (the backward passes of lesson 04).

SET_04 = "04_find_the_bug_problems"


@problem(SET_04, 1)
def _gradient_errors(gradient_errors):
    gradcheck = reference("gradcheck")
    r = np.random.default_rng(1)
    A, W, C = r.standard_normal((3, 4)), r.standard_normal((4, 2)), r.standard_normal((3, 2))

    def loss():
        return np.sum(C * np.tanh(A @ W))

    delta = C * (1 - np.tanh(A @ W) ** 2)
    grads = {"A": delta @ W.T, "W": A.T @ C}  # dW forgets tanh': wrong on purpose
    A_before, W_before = A.copy(), W.copy()
    errors = gradient_errors(loss, {"A": A, "W": W}, grads)
    expect_true(
        "gradient_errors(...)", isinstance(errors, dict), f"expected a dict {{name: error}}, got {errors!r}"
    )
    expect_equal("the names in gradient_errors(...)", sorted(errors), ["A", "W"])
    expect_true("the error of the correct dA", errors["A"] < 1e-7, f"must be < 1e-7, got {errors['A']!r}")
    wrong = relative_error(grads["W"], gradcheck.numerical_gradient(lambda _: loss(), W))
    expect_close("the error of dW, which forgets tanh'", errors["W"], wrong, rtol=1e-6)
    expect_close("A after gradient_errors, which must restore it", A, A_before, rtol=0, atol=0)
    expect_close("W after gradient_errors, which must restore it", W, W_before, rtol=0, atol=0)


@problem(SET_04, 2)
def _step_backward(wrong_in_step_backward, fixed_step_backward):
    given = _solved(SET_04)
    arrays, G, loss = given.step_bench(seed=2)
    _, cache = given.rnn_step_forward(**arrays)
    grads = dict(zip(arrays, given.buggy_step_backward(G, cache), strict=True))
    expect_equal(
        "wrong_in_step_backward(), the names whose gradient is wrong",
        wrong_in_step_backward(),
        _wrong_names(arrays, grads, loss),
    )
    for B, m, H in [(3, 2, 5), (1, 4, 3)]:
        arrays, G, loss = given.step_bench(B=B, m=m, H=H, seed=B)
        _, cache = given.rnn_step_forward(**arrays)
        grads = call("fixed_step_backward(dh, cache)", fixed_step_backward, G, cache)
        _expect_gradients(
            "fixed_step_backward(dh, cache)",
            "dx, dh_prev, dWxh, dWhh, dbh",
            arrays,
            grads,
            loss,
            f"B, m, H = {B}, {m}, {H}",
        )


def _rnn_backward(number, suffix, wrong_in, fixed):
    """Problems 3 to 5 of problem set 4: wrong_in_rnn_backward<suffix>() against what the given
    buggy_rnn_backward<suffix> gets wrong at T = 3, and fixed_rnn_backward<suffix> against central
    differences at three window lengths."""
    given = _solved(SET_04)
    arrays, G, loss = given.rnn_bench(3, seed=number)
    _, cache = given.rnn_forward(**arrays)
    grads = dict(zip(arrays, getattr(given, f"buggy_rnn_backward{suffix}")(G, cache), strict=True))
    expect_equal(
        f"wrong_in_rnn_backward{suffix}(), the names whose gradient is wrong at T = 3",
        wrong_in(),
        _wrong_names(arrays, grads, loss),
    )
    called = f"fixed_rnn_backward{suffix}(dHs, cache)"
    for T, B in [(1, 3), (4, 3), (6, 1)]:
        arrays, G, loss = given.rnn_bench(T, B=B, m=2, H=5, seed=T)
        _, cache = given.rnn_forward(**arrays)
        grads = call(called, fixed, G, cache)
        _expect_gradients(called, "dX, dh0, dWxh, dWhh, dbh", arrays, grads, loss, f"T = {T}, B = {B}")


@problem(SET_04, 3)
def _rnn_backward_1(wrong_in_rnn_backward, fixed_rnn_backward):
    _rnn_backward(3, "", wrong_in_rnn_backward, fixed_rnn_backward)


@problem(SET_04, 4)
def _rnn_backward_2(wrong_in_rnn_backward_2, fixed_rnn_backward_2):
    _rnn_backward(4, "_2", wrong_in_rnn_backward_2, fixed_rnn_backward_2)


@problem(SET_04, 5)
def _rnn_backward_3(wrong_in_rnn_backward_3, fixed_rnn_backward_3):
    _rnn_backward(5, "_3", wrong_in_rnn_backward_3, fixed_rnn_backward_3)


@problem(SET_04, 6)
def _output_backward(wrong_in_output_backward, fixed_output_backward):
    given = _solved(SET_04)
    arrays, targets, loss = given.output_bench(seed=6)
    Z, cache = given.output_forward(**arrays)
    dZ = given.cross_entropy_backward(Z, targets)
    grads = dict(zip(arrays, given.buggy_output_backward(dZ, cache), strict=True))
    expect_equal(
        "wrong_in_output_backward(), the names whose gradient is wrong",
        wrong_in_output_backward(),
        _wrong_names(arrays, grads, loss),
    )
    for B, T, H, V in [(3, 4, 2, 5), (1, 1, 3, 4)]:
        arrays, targets, loss = given.output_bench(B, T, H, V, seed=B)
        Z, cache = given.output_forward(**arrays)
        dZ = given.cross_entropy_backward(Z, targets)
        grads = call("fixed_output_backward(dZ, cache)", fixed_output_backward, dZ, cache)
        _expect_gradients(
            "fixed_output_backward(dZ, cache)", "dHs, dWhy, dby", arrays, grads, loss, f"B, T = {B}, {T}"
        )


# Problem set 7: the GRU.

SET_07 = "07_gru_problems"


@problem(SET_07, 1)
def _parameter_budget(rnn_layer_params, gru_layer_params, gru_units_for_budget):
    reference_gru_params = _solved(SET_07).gru_layer_params
    for m, H in [(65, 128), (3, 2), (1, 1)]:
        rnn = sum(int(np.prod(size)) for size in [(m, H), (H, H), (H,)])
        gru = sum(int(np.prod(size)) for size in [(m, 3 * H), (H, 3 * H), (3 * H,), (3 * H,)])
        expect_equal(f"rnn_layer_params({m}, {H})", rnn_layer_params(m, H), rnn)
        expect_equal(f"gru_layer_params({m}, {H})", gru_layer_params(m, H), gru)
    for m, budget in [(65, 24832), (10, 1000), (4, 20), (4, 21), (4, 0)]:
        largest = max(H for H in range(budget + 1) if reference_gru_params(m, H) <= budget)
        expect_equal(
            f"gru_units_for_budget({m}, {budget}), the largest H within the budget",
            gru_units_for_budget(m, budget),
            largest,
        )
    expect_equal(
        "gru_units_for_budget(65, 24832), the GRU units in the budget of 128 RNN units",
        gru_units_for_budget(65, 24832),
        63,
    )


@problem(SET_07, 2)
def _gru_step(gru_step):
    reference_step = _solved(SET_07).gru_step
    rg = np.random.default_rng(2)
    B, m, H = 3, 4, 5
    x, h_prev = rg.standard_normal((B, m)), rg.standard_normal((B, H))
    Wx, Wh = rg.standard_normal((m, 3 * H)), rg.standard_normal((H, 3 * H))
    bx, bh = rg.standard_normal(3 * H), rg.standard_normal(3 * H)
    expected = reference_step(x, h_prev, Wx, Wh, bx, bh)
    zero = np.zeros(3)
    halved = gru_step(np.ones((2, 1)), np.array([[0.8], [-0.4]]), zero[None], zero[None], zero, zero)
    expect_close("gru_step with zero weights and biases, which halves h_(t-1)", halved, [[0.4], [-0.2]])
    expect_close(
        "gru_step(x, h_prev, Wx, Wh, bx, bh) (gates [r | z | n], reset after the product)",
        gru_step(x, h_prev, Wx, Wh, bx, bh),
        expected,
    )
    expect_close("gru_step of row 1 alone", gru_step(x[1:2], h_prev[1:2], Wx, Wh, bx, bh), expected[1:2])


@problem(SET_07, 3)
def _switch_biases(switch_biases):
    reference_step = _solved(SET_07).gru_step
    rg = np.random.default_rng(3)  # the weights of the problem's own cell
    m, H = 3, 4
    Wx, Wh = rg.standard_normal((m, 3 * H)) / np.sqrt(m), rg.standard_normal((H, 3 * H)) / np.sqrt(H)
    bh = 0.5 * rg.standard_normal(3 * H)
    answer = switch_biases(H)
    expect_true(
        f"switch_biases({H})",
        isinstance(answer, tuple) and len(answer) == 2,
        f"expected the pair (bx_copy, bx_forget), got {type(answer).__name__}",
    )
    bx_copy, bx_forget = answer
    expect_shape("bx_copy, 3H biases [r | z | n]", bx_copy, (3 * H,))
    expect_shape("bx_forget, 3H biases [r | z | n]", bx_forget, (3 * H,))
    r_and_n = np.concatenate([bx_copy[:H], bx_copy[2 * H :]])
    expect_close("the r and n blocks of bx_copy, which stay zero", r_and_n, np.zeros(2 * H))
    expect_close("the n block of bx_forget, which stays zero", bx_forget[2 * H :], np.zeros(H))

    def step(bx, x, h_prev):
        return reference_step(x, h_prev, Wx, Wh, bx, bh)

    def jacobian(bx, x, h_prev):  # column i: how h_t moves when entry i of h_(t-1) moves
        columns = [(step(bx, x, h_prev + s) - step(bx, x, h_prev - s))[0] / 2e-6 for s in 1e-6 * np.eye(H)]
        return np.stack(columns, axis=1)

    for seed in range(3):
        rs = np.random.default_rng(seed)
        x_, h_ = rs.standard_normal((1, m)), np.tanh(rs.standard_normal((1, H)))
        copied, reset = step(bx_copy, x_, h_), step(bx_forget, x_, h_)
        expect_close("h_t with bx_copy, which should copy h_(t-1) (z = 1)", copied, h_, rtol=0, atol=1e-9)
        expect_close(
            "dh_t/dh_(t-1) with bx_copy, which should be I",
            jacobian(bx_copy, x_, h_),
            np.eye(H),
            rtol=0,
            atol=1e-6,
        )
        n_input_only = np.tanh(x_ @ Wx[:, 2 * H :] + bx_forget[2 * H :])
        expect_close(
            "h_t with bx_forget, tanh(x W_xn + b_xn) (r = z = 0)", reset, n_input_only, rtol=0, atol=1e-9
        )
        expect_close(
            "dh_t/dh_(t-1) with bx_forget, which should be 0",
            jacobian(bx_forget, x_, h_),
            np.zeros((H, H)),
            rtol=0,
            atol=1e-6,
        )


@problem(SET_07, 4)
def _sigmoid_prime(sigmoid_prime):
    a = np.linspace(-6, 6, 13)
    exact = np.exp(-a) / (1 + np.exp(-a)) ** 2  # the derivative of 1 / (1 + exp(-a))
    expect_close("sigmoid_prime(sigmoid(a)), which is sigma'(a)", sigmoid_prime(_sigmoid(a)), exact)
    expect_close("sigmoid_prime(0.5), which is sigma'(0) = 1/4", sigmoid_prime(0.5), 0.25)
    saturated = sigmoid_prime(_sigmoid(30.0))
    expect_true(
        "sigmoid_prime(sigmoid(30))",
        0 <= saturated < 1e-12,
        f"a saturated gate has (almost) zero derivative, in [0, 1e-12); got {saturated!r}",
    )


@problem(SET_07, 5)
def _update_gate_backward(update_gate_backward):
    rg = np.random.default_rng(5)
    B, m, H = 3, 2, 4
    x, h_prev = rg.standard_normal((B, m)), np.tanh(rg.standard_normal((B, H)))
    dh = rg.standard_normal((B, H))
    Wx, Wh = rg.standard_normal((m, 3 * H)), rg.standard_normal((H, 3 * H))
    bx, bh = rg.standard_normal(3 * H), rg.standard_normal(3 * H)

    def step_loss(bx):
        """L = sum(dh * h_t) for one GRU step, so that dL/dh_t = dh; returns L, g_z and the gates z and n."""
        a_x, a_h = x @ Wx + bx, h_prev @ Wh + bh
        r = _sigmoid(a_x[:, :H] + a_h[:, :H])
        g_z = a_x[:, H : 2 * H] + a_h[:, H : 2 * H]
        z = _sigmoid(g_z)
        n = np.tanh(a_x[:, 2 * H :] + r * a_h[:, 2 * H :])
        return np.sum(dh * ((1 - z) * n + z * h_prev)), g_z, z, n

    def loss_in_bxz(bxz):
        return step_loss(np.concatenate([bx[:H], bxz, bx[2 * H :]]))[0]

    _, g_z, z, n = step_loss(bx)
    answer = update_gate_backward(dh, h_prev, z, n)
    _expect_pair("update_gate_backward(dh, h_prev, z, n)", answer, "dz, dg_z")
    dz, dg_z = answer
    expect_gradient("z", lambda z_: np.sum(dh * ((1 - z_) * n + z_ * h_prev)), z.copy(), dz)
    expect_gradient("g_z", lambda g: np.sum(dh * ((1 - _sigmoid(g)) * n + _sigmoid(g) * h_prev)), g_z, dg_z)
    dbxz = np.sum(dg_z, axis=0)
    expect_gradient("b_xz, your dg_z summed over the rows", loss_in_bxz, bx[H : 2 * H].copy(), dbxz)


@problem(SET_07, 6)
def _gru_step_cho(gru_step_cho):
    solved = _solved(SET_07)
    rg = np.random.default_rng(7)
    B, m, H = 3, 2, 4
    x, h_prev = rg.standard_normal((B, m)), np.tanh(rg.standard_normal((B, H)))
    Wx, Wh = rg.standard_normal((m, 3 * H)), rg.standard_normal((H, 3 * H))
    bx, bh = rg.standard_normal(3 * H), rg.standard_normal(3 * H)
    h_cho = gru_step_cho(x, h_prev, Wx, Wh, bx, bh)
    expect_close(
        "gru_step_cho(x, h_prev, Wx, Wh, bx, bh) (reset before the product)",
        h_cho,
        solved.gru_step_cho(x, h_prev, Wx, Wh, bx, bh),
    )
    gap = np.abs(h_cho - solved.gru_step(x, h_prev, Wx, Wh, bx, bh)).max()
    expect_true(
        "gru_step_cho against PyTorch's GRU",
        gap > 1e-3,
        f"the two variants differ on these inputs, but yours is within {gap:.1e} of PyTorch's",
    )
    no_reset = bx.copy()
    no_reset[:H] = 30.0  # r = 1
    expect_close(
        "gru_step_cho with r = 1, where the variants agree",
        gru_step_cho(x, h_prev, Wx, Wh, no_reset, bh),
        solved.gru_step(x, h_prev, Wx, Wh, no_reset, bh),
    )
    one_unit = (
        rg.standard_normal((m, 3)),
        rg.standard_normal((1, 3)),
        rg.standard_normal(3),
        np.array([0.3, -0.2, 0.0]),
    )
    expect_close(
        "gru_step_cho with H = 1 and b_hn = 0, where the variants agree",
        gru_step_cho(x, h_prev[:, :1], *one_unit),
        solved.gru_step(x, h_prev[:, :1], *one_unit),
    )


# Problem set 8b: find the bug in the GRU's backward step.

SET_08B = "08_find_the_bug_problems"


def _gru_step_backward(number, wrong_in, fixed):
    """Problem ``number`` of problem set 8b: wrong_in_N() against what buggy_step_backward_N (given)
    gets wrong, and fixed_step_backward_N against central differences on two benches."""
    given = _solved(SET_08B)
    arrays, G, loss = given.gru_bench(seed=number)
    buggy = getattr(given, f"buggy_step_backward_{number}")
    grads = dict(zip(arrays, buggy(G, given.gru_step_forward(**arrays)[1]), strict=True))
    expect_equal(
        f"wrong_in_{number}(), the names whose gradient is wrong",
        wrong_in(),
        _wrong_names(arrays, grads, loss),
    )
    name = f"fixed_step_backward_{number}"
    for B, m, H, seed in [(3, 2, 4, 11), (1, 3, 2, 12)]:
        arrays, G, loss = given.gru_bench(B, m, H, seed)
        grads = call(f"{name}(dh, cache)", fixed, G, given.gru_step_forward(**arrays)[1])
        _expect_gradients(
            f"{name}(dh, cache)",
            "dx, dh_prev, dWx, dWh, dbx, dbh",
            arrays,
            grads,
            loss,
            f"B, m, H = {B}, {m}, {H}",
        )


@problem(SET_08B, 1)
def _reset_gate_in_da_h(wrong_in_1, fixed_step_backward_1):
    _gru_step_backward(1, wrong_in_1, fixed_step_backward_1)


@problem(SET_08B, 2)
def _reset_gate_gradient(wrong_in_2, fixed_step_backward_2):
    _gru_step_backward(2, wrong_in_2, fixed_step_backward_2)


@problem(SET_08B, 3)
def _direct_path(wrong_in_3, fixed_step_backward_3):
    _gru_step_backward(3, wrong_in_3, fixed_step_backward_3)


# Problem set 8: the LSTM, and Cho's GRU.

SET_08 = "08_lstm_and_cho_problems"


@problem(SET_08, 1)
def _lstm_step(lstm_step):
    solved = _solved(SET_08)
    zero = np.zeros((1, 4))
    h, c, _ = lstm_step(np.ones((2, 1)), np.ones((2, 1)), np.array([[0.8], [-2.0]]), zero, zero, np.zeros(4))
    expect_close("c with zero weights, c_prev / 2", c, [[0.4], [-1.0]])
    expect_close("h with zero weights, tanh(c_prev / 2) / 2", h, 0.5 * np.tanh([[0.4], [-1.0]]))
    s = solved.random_step(3, 2, 4, gates=4, seed=1)
    x, h_prev, c_prev, Wx, Wh, b = s["x"], s["h_prev"], s["c_prev"], s["Wx"], s["Wh"], s["b1"]
    h_expected, c_expected, cache_expected = solved.lstm_step(x, h_prev, c_prev, Wx, Wh, b)
    h, c, cache = call("lstm_step(x, h_prev, c_prev, Wx, Wh, b)", lstm_step, x, h_prev, c_prev, Wx, Wh, b)
    expect_close("c, f * c_prev + i * g (gates [i | f | g | o])", c, c_expected)
    expect_close("h, o * tanh(c)", h, h_expected)
    expect_true(
        "the cache",
        isinstance(cache, tuple) and len(cache) == 10,
        "expected the tuple (x, h_prev, c_prev, Wx, Wh, i, f, g, o, c)",
    )
    names = ("x", "h_prev", "c_prev", "Wx", "Wh", "i", "f", "g", "o", "c")
    for name, got, expected in zip(names, cache, cache_expected, strict=True):
        expect_close(f"{name} in the cache", got, expected)


@problem(SET_08, 2)
def _lstm_step_backward(lstm_step_backward):
    solved = _solved(SET_08)
    for B, m, H, seed in [(3, 2, 4, 2), (1, 3, 2, 3)]:
        s = solved.random_step(B, m, H, gates=4, seed=seed)
        arrays = {name: s[name] for name in ("x", "h_prev", "c_prev", "Wx", "Wh")} | {"b": s["b1"]}
        r = np.random.default_rng(seed)
        dh, dc = r.standard_normal((B, H)), r.standard_normal((B, H))

        def loss(arrays=arrays, dh=dh, dc=dc):  # reads the arrays central differences change in place
            h, c, _ = solved.lstm_step(**arrays)
            return np.sum(dh * h) + np.sum(dc * c)

        cache = solved.lstm_step(**arrays)[2]
        grads = call("lstm_step_backward(dh, dc, cache)", lstm_step_backward, dh, dc, cache)
        expect_true(
            "lstm_step_backward(dh, dc, cache)",
            isinstance(grads, tuple) and len(grads) == 6,
            f"expected the six gradients (dx, dh_prev, dc_prev, dWx, dWh, db), got {type(grads).__name__}",
        )
        for (name, x), grad in zip(arrays.items(), grads, strict=True):
            expect_gradient(f"{name} (B, m, H = {B}, {m}, {H})", lambda _, loss=loss: loss(), x, grad)


@problem(SET_08, 3)
def _cho_step(cho_step):
    solved = _solved(SET_08)
    s = solved.random_step(3, 2, 4, gates=3, seed=4)
    x, h_prev, Wx, Wh, bx, bh = s["x"], s["h_prev"], s["Wx"], s["Wh"], s["b1"], s["b2"]
    h_expected, cache_expected = solved.cho_step(x, h_prev, Wx, Wh, bx, bh)
    h_course = reference("gru").gru_step_forward(x, h_prev, Wx, Wh, bx, bh)[0]  # reset after the product
    h, cache = call("cho_step(x, h_prev, Wx, Wh, bx, bh)", cho_step, x, h_prev, Wx, Wh, bx, bh)
    gap = np.abs(h - h_course).max()
    expect_true(
        "cho_step against the course's GRU",
        gap > 1e-3,
        f"the two variants differ on these inputs, but yours is within {gap:.1e} of the course's",
    )
    expect_close("cho_step(x, h_prev, Wx, Wh, bx, bh) (reset before the product)", h, h_expected)
    expect_true(
        "the cache",
        isinstance(cache, tuple) and len(cache) == 7,
        "expected the tuple (x, h_prev, Wx, Wh, r, z, n)",
    )
    for name, got, expected in zip(
        ("x", "h_prev", "Wx", "Wh", "r", "z", "n"), cache, cache_expected, strict=True
    ):
        expect_close(f"{name} in the cache", got, expected)


@problem(SET_08, 4)
def _cho_step_backward(cho_step_backward):
    solved = _solved(SET_08)
    for B, m, H, seed in [(3, 2, 4, 6), (1, 3, 2, 7)]:
        s = solved.random_step(B, m, H, gates=3, seed=seed)
        arrays = {name: s[name] for name in ("x", "h_prev", "Wx", "Wh")} | {"bx": s["b1"], "bh": s["b2"]}
        dh = np.random.default_rng(seed).standard_normal((B, H))

        def loss(arrays=arrays, dh=dh):  # reads the arrays central differences change in place
            return np.sum(dh * solved.cho_step(**arrays)[0])

        grads = call("cho_step_backward(dh, cache)", cho_step_backward, dh, solved.cho_step(**arrays)[1])
        expect_true(
            "cho_step_backward(dh, cache)",
            isinstance(grads, tuple) and len(grads) == 6,
            f"expected the six gradients (dx, dh_prev, dWx, dWh, dbx, dbh), got {type(grads).__name__}",
        )
        for (name, x), grad in zip(arrays.items(), grads, strict=True):
            expect_gradient(f"{name} (B, m, H = {B}, {m}, {H})", lambda _, loss=loss: loss(), x, grad)


# Problem set 9: Adam's bias correction, AdaGrad and Nadam.

SET_09 = "09_optimizer_problems"


@problem(SET_09, 1)
def _adam_by_hand(adam_by_hand):
    answer = adam_by_hand()
    expected = {name: [] for name in ("m", "v", "m_hat", "v_hat", "dP")}
    m = v = 0.0
    for t, g in enumerate([2.0, -1.0, 0.5], start=1):  # Adam's rule, one number, eta = 0.1
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        for name, value in zip(
            expected, (m, v, m_hat, v_hat, -0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)), strict=True
        ):
            expected[name].append(value)
    expect_true("adam_by_hand()", isinstance(answer, dict), f"expected a dict of lists, got {answer!r}")
    expect_equal("the names in adam_by_hand()", sorted(answer), sorted(expected))
    for name, values in expected.items():
        expect_equal(f"the number of values of {name}", len(answer[name]), 3)
        for t, value in enumerate(values, start=1):
            expect_close(f"{name} at t = {t}", float(answer[name][t - 1]), value, rtol=2e-3)


@problem(SET_09, 2)
def _adagrad_step(adagrad_step):
    adagrad_init = _solved(SET_09).adagrad_init
    # by hand: the first step is lr * g / |g| = lr against the sign of g, the second one lr / sqrt(2)
    params = {"W": np.array([[1.0, -2.0]]), "b": np.array([0.5])}
    grads = {"W": np.array([[0.5, -4.0]]), "b": np.array([1e-3])}
    state = adagrad_init(params)
    W, b, sum_W = params["W"], params["b"], state["sum"]["W"]
    adagrad_step(params, grads, state, lr=0.1)
    expect_close(
        "W after one step (each entry moves by lr against the sign of its gradient)",
        params["W"],
        [[0.9, -1.9]],
    )
    expect_close("b after one step, a gradient of 1e-3", params["b"], [0.4])
    expect_close("state['sum']['W'] after one step, the squared gradients", state["sum"]["W"], [[0.25, 16.0]])
    adagrad_step(params, grads, state, lr=0.1)
    expect_close(
        "W after two equal gradients (the second step is lr / sqrt 2)",
        params["W"],
        [[0.9 - 0.1 / np.sqrt(2), -1.9 + 0.1 / np.sqrt(2)]],
    )
    expect_true(
        "params['W']",
        params["W"] is W and params["b"] is b,
        "adagrad_step must update the arrays in params in place (P -= ...), not put new ones in the dict",
    )
    expect_true(
        "state['sum']['W']",
        state["sum"]["W"] is sum_W and np.allclose(sum_W, [[0.5, 32.0]]),
        "the sum must be updated in place in the state dict (s += ...), so that the next step sees it",
    )

    def reference_adagrad(P, gs, lr, eps):
        """Duchi et al.'s diagonal AdaGrad, as in torch.optim.Adagrad:
        s += g^2; P -= lr g / (sqrt(s) + eps)."""
        P, s = P.astype(np.float64), np.zeros(P.shape)
        for g in gs:
            s = s + g.astype(np.float64) ** 2
            P = P - lr * g / (np.sqrt(s) + eps)
        return P

    r = np.random.default_rng(2)
    for dtype, rtol in [(np.float64, 1e-10), (np.float32, 1e-5)]:
        P0, gs = r.standard_normal((3, 4)).astype(dtype), r.standard_normal((5, 3, 4)).astype(dtype)
        params, state = {"P": P0.copy()}, adagrad_init({"P": P0})
        for g in gs:
            adagrad_step(params, {"P": g}, state, lr=0.05, eps=1e-6)
        expect_equal(f"the dtype of P after {dtype.__name__} steps", params["P"].dtype, np.dtype(dtype))
        expect_close(
            f"P after five {dtype.__name__} steps, lr = 0.05, eps = 1e-6",
            params["P"],
            reference_adagrad(P0, gs, 0.05, 1e-6),
            rtol=rtol,
            atol=1e-6 if dtype == np.float32 else 1e-12,
        )


@problem(SET_09, 3)
def _nadam_step(nadam_step):
    adam_init = _solved(SET_09).adam_init
    # by hand: the first step is lr (1 + 2 beta1) / (1 + beta1) against the sign of g
    params, grads = {"P": np.array([1.0, -1.0, 0.0])}, {"P": np.array([3.0, -0.2, 0.5])}
    state, P = adam_init(params), params["P"]
    nadam_step(params, grads, state, lr=0.1)
    first = 0.1 * (1 + 2 * 0.9) / (1 + 0.9)
    expect_close(
        "P after one step, lr (1 + 2 beta1) / (1 + beta1) against the sign of g",
        params["P"],
        [1.0 - first, -1.0 + first, -first],
    )
    expect_equal("state['step'] after one step", state["step"], 1)
    expect_true(
        "params['P']",
        params["P"] is P,
        "nadam_step must update the arrays in params in place (P -= ...), not put new ones in the dict",
    )
    expect_close("state['m']['P'] after one step, (1 - beta1) g", state["m"]["P"], 0.1 * grads["P"])

    def reference_nadam(P, gs, lr, beta1, beta2, eps):
        """Dozat (2016), Algorithm 2, with the momentum schedule mu_t = beta1 at every t: the corrected
        momentum mu_(t+1) m_t / (1 - mu_1...mu_(t+1)) + (1 - mu_t) g_t / (1 - mu_1...mu_t)."""
        P, m, n = P.astype(np.float64), np.zeros(P.shape), np.zeros(P.shape)
        mu = np.full(len(gs) + 2, beta1)  # mu[t] for t = 1 .. T + 1 (mu[0] unused)
        for t, g in enumerate(gs.astype(np.float64), start=1):
            m = mu[t] * m + (1 - mu[t]) * g
            n = beta2 * n + (1 - beta2) * g * g
            m_bar = mu[t + 1] * m / (1 - np.prod(mu[1 : t + 2])) + (1 - mu[t]) * g / (
                1 - np.prod(mu[1 : t + 1])
            )
            P = P - lr * m_bar / (np.sqrt(n / (1 - beta2**t)) + eps)
        return P

    r = np.random.default_rng(3)
    for dtype, rtol in [(np.float64, 1e-10), (np.float32, 1e-5)]:
        for lr, beta1, beta2, eps in [(0.01, 0.9, 0.999, 1e-8), (0.3, 0.5, 0.9, 1e-3)]:
            P0, gs = r.standard_normal((2, 5)).astype(dtype), r.standard_normal((5, 2, 5)).astype(dtype)
            params = {"P": P0.copy()}
            state = adam_init(params)
            for g in gs:
                nadam_step(params, {"P": g}, state, lr, beta1, beta2, eps)
            setting = f"{dtype.__name__}, lr {lr}, beta1 {beta1}, beta2 {beta2}, eps {eps}"
            expect_equal(f"state['step'] after five steps ({setting})", state["step"], 5)
            expect_equal(f"the dtype of P after five steps ({setting})", params["P"].dtype, np.dtype(dtype))
            expect_close(
                f"P after five steps ({setting})",
                params["P"],
                reference_nadam(P0, gs, lr, beta1, beta2, eps),
                rtol=rtol,
                atol=1e-6 if dtype == np.float32 else 1e-12,
            )


# Problem set 10: experiments.

SET_10 = "10_experiments_problems"


@problem(SET_10, 1)
def _evaluate_windows(evaluate_windows):
    data, training = reference("data"), reference("training")
    rg = np.random.default_rng(10)
    ids = rg.integers(0, 7, size=203)
    for name in ("gru", "rnn"):
        model = reference(name)
        tiny = model.init_params(7, 4, rg)
        tiny = {key: value + 0.5 * rg.standard_normal(value.shape) for key, value in tiny.items()}
        for B, T in [(3, 5), (2, 1), (1, 30)]:
            streams = data.make_streams(ids, B)
            for carry in (True, False):
                h, total, count = np.zeros((B, 4)), 0.0, 0
                for start in range(0, (streams.shape[1] - 1) // T * T, T):  # window by window, as lesson 05
                    window = streams[:, start : start + T + 1]
                    loss, h_last, _ = model.lm_forward(tiny, window[:, :-1], window[:, 1:], h)
                    total, count = total + loss * window[:, 1:].size, count + window[:, 1:].size
                    h = h_last if carry else np.zeros((B, 4))
                state = "carried" if carry else "reset"
                expect_close(
                    f"evaluate_windows({name}, ..., batch_size={B}, T={T}, carry={carry}), the mean "
                    f"loss with the state {state}",
                    evaluate_windows(model, tiny, ids, B, T, carry),
                    total / count,
                )
        expect_close(
            f"evaluate_windows({name}, ..., batch_size=3, T=5, carry=True) against training.evaluate",
            evaluate_windows(model, tiny, ids, 3, 5, True),
            training.evaluate(model, tiny, ids, 3, 5),
        )


@problem(SET_10, 2)
def _train_windows(train_windows):
    data, optim = reference("data"), reference("optim")
    rg = np.random.default_rng(20)
    ids = rg.integers(0, 6, size=150)

    def expected_run(model, params, B, T, steps, lr, carry, clip):
        """Lesson 05's truncated BPTT with Adam, from the reference's lm_forward, lm_backward and
        adam_step."""
        params = {key: value.copy() for key, value in params.items()}
        adam, h, losses = optim.adam_init(params), np.zeros((B, 3), params["Why"].dtype), []
        streams = data.make_streams(ids, B)
        for start in range(0, steps * T, T):
            inputs, targets = streams[:, start : start + T], streams[:, start + 1 : start + T + 1]
            loss, h_last, cache = model.lm_forward(params, inputs, targets, h)
            grads, _ = model.lm_backward(cache)
            optim.clip_grad_norm(grads, clip)
            optim.adam_step(params, grads, adam, lr)
            losses.append(loss)
            h = h_last if carry else np.zeros_like(h)
        return params, losses

    for name in ("gru", "rnn"):
        model = reference(name)
        settings = [
            (2, 4, 6, True, 0.5, np.float64),
            (2, 4, 6, False, 0.5, np.float64),
            (3, 7, 5, True, np.inf, np.float64),
            (1, 3, 8, True, 1.0, np.float32),
        ]
        for B, T, steps, carry, clip, dtype in settings:
            start = model.init_params(6, 3, np.random.default_rng(21), dtype=dtype)
            noise = {key: 0.3 * rg.standard_normal(value.shape) for key, value in start.items()}
            start = {key: value + noise[key].astype(dtype) for key, value in start.items()}
            mine = {key: value.copy() for key, value in start.items()}
            setting = (
                f"{name}, batch_size={B}, T={T}, steps={steps}, carry={carry}, clip={clip}, {np.dtype(dtype)}"
            )
            losses = train_windows(model, mine, ids, B, T, steps, 0.05, carry, clip)
            expected, expected_losses = expected_run(model, start, B, T, steps, 0.05, carry, clip)
            expect_true(
                f"train_windows ({setting})",
                np.shape(losses) == (steps,),
                f"expected {steps} losses, one per window, got {losses!r:.60}",
            )
            rtol = 1e-10 if dtype == np.float64 else 1e-4
            expect_close(
                f"the losses train_windows returned ({setting})",
                np.array(losses, dtype=float),
                np.array(expected_losses),
                rtol=rtol,
            )
            for key in expected:
                expect_equal(
                    f"the dtype of params['{key}'] after train_windows ({setting})",
                    mine[key].dtype,
                    np.dtype(dtype),
                )
                expect_close(
                    f"params['{key}'] after train_windows ({setting})",
                    mine[key],
                    expected[key],
                    rtol=rtol,
                    atol=1e-10 if dtype == np.float64 else 1e-5,
                )


@problem(SET_10, 3)
def _best_unit(best_unit):
    rg = np.random.default_rng(30)
    feature = rg.standard_normal(200)
    for planted, scale, dtype in [(4, -2.0, np.float64), (0, 0.7, np.float64), (5, 1.5, np.float32)]:
        Hs_test = rg.standard_normal((200, 6))
        Hs_test[:, planted] = scale * feature + rg.standard_normal(200)  # one unit follows the feature
        Hs_test[:, 2] = 0.25  # a constant unit
        Hs_test = Hs_test.astype(dtype)
        r = [np.corrcoef(Hs_test[:, j], feature)[0, 1] if j != 2 else 0.0 for j in range(6)]
        expected = int(np.argmax(np.abs(r)))
        with np.errstate(divide="raise", invalid="raise"):  # a constant unit must not divide by zero
            try:
                answer = best_unit(Hs_test, feature)
            except FloatingPointError as error:
                answer = f"FloatingPointError: {error}"
        expect_true(
            "best_unit(Hs, feature) with a constant unit (column 2)",
            not isinstance(answer, str),
            f"a constant unit counts as r = 0, but your code divided by its zero spread ({answer})",
        )
        _expect_pair("best_unit(Hs, feature)", answer, "j, r_j")
        setting = f"the planted unit {planted}, r = {r[planted]:.3f}, {np.dtype(dtype)}"
        expect_equal(f"the unit best_unit found ({setting})", int(answer[0]), expected)
        expect_close(
            f"the correlation best_unit returned for unit {expected} ({setting})",
            float(answer[1]),
            r[expected],
            rtol=1e-5 if dtype == np.float32 else 1e-9,
        )
    step = np.repeat([0.0, 1.0], 50)
    Hs_test = np.stack(
        [np.full(100, 3.0), -step + 0.1 * np.sin(np.arange(100)), np.cos(np.arange(100))], axis=1
    )
    expected_r = np.corrcoef(Hs_test[:, 1], step)[0, 1]
    j, r_j = best_unit(Hs_test, step)
    expect_equal("the unit best_unit found for a unit that falls when the feature rises", j, 1)
    expect_close(
        "the correlation of a unit that falls when the feature rises (negative)", r_j, expected_r, rtol=1e-9
    )
