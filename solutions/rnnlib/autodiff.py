"""Reverse-mode automatic differentiation over NumPy arrays (lesson 12): what PyTorch's autograd does.

A Tensor holds an array, ``data``, and, once ``backward`` has run, ``grad``, the gradient of the loss with
respect to it, of the same shape. Every operation on Tensors returns a new Tensor that remembers its
``parents`` (the Tensors it was computed from) and a backward ``rule``: a function that takes the
gradient arriving at the result and returns one gradient per parent. The rules are lesson 04's, in
row-vector form: for C = A B, dA = dC B^T and dB = A^T dC.

``loss.backward()`` orders the graph so that every Tensor comes after its parents, walks that order
backwards from the loss, runs each rule once and adds up the gradients arriving at each Tensor: a
Tensor used twice (the state h_{t-1} feeds both the next step and, in the GRU, the mix) receives the
sum of both paths, which is the chain rule. The graph is built while the forward pass runs (a
dynamic tape, as in PyTorch), so a Python loop over time steps needs nothing special.

Shapes: a batch is rows, as everywhere in the course; matmul takes 2-D operands, (B, m) @ (m, H).
``+``, ``-`` and ``*`` broadcast like NumPy, and their rules sum the gradient back over the broadcast
axes (``unbroadcast``). Every Tensor of one graph has one floating dtype: a float32 model stays float32.

At the end, the language models of lessons 04 (``rnn_lm_loss``) and 08 (``gru_lm_loss``), written
with Tensors: the same losses and gradients as rnn.lm_forward/lm_backward and gru.lm_forward/lm_backward.
"""

import numpy as np

from . import validate
from .gru import sigmoid


class Tensor:
    """A node of the graph: ``data`` (an array of floats), ``grad`` (None until backward reaches it),
    ``parents`` (the Tensors it was computed from, empty for a leaf) and ``rule`` (its backward rule,
    None for a leaf), ``op`` naming the operation that made it."""

    def __init__(self, data):
        data = np.asarray(data)
        if not np.issubdtype(data.dtype, np.floating):
            raise TypeError(
                f"Tensor holds floating-point numbers, got dtype {data.dtype}; convert first, e.g. "
                "np.asarray(x, dtype=np.float64)"
            )
        self.data, self.grad = data, None
        self.parents, self.rule, self.op = (), None, "leaf"

    @staticmethod
    def _result(data, parents, rule, op):
        """The Tensor ``data`` computed by ``op`` from ``parents``, with its backward ``rule``."""
        out = Tensor(data)
        out.parents, out.rule, out.op = tuple(parents), rule, op
        return out

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)

    def __repr__(self):
        return f"Tensor(shape={self.shape}, dtype={self.dtype}, op={self.op!r})"

    def item(self):
        """The value of a one-element Tensor as a Python float."""
        return self.data.item()

    def zero_grad(self):
        """Forget the gradient: backward adds to ``grad``, so reset the parameters before each step."""
        self.grad = None

    # Matrix product and elementwise operations.

    def matmul(self, other):
        """Exercise 12.1: C = A @ B for A (n, k), this Tensor, and B (k, m); C is (n, m).

        Lesson 04's rule in row-vector form, which the lesson derives: the rule gets dC (n, m) and
        returns (dA, dB), dA of A's shape (n, k) and dB of B's shape (k, m).
        """
        other = self._operand(other, "matmul")
        A, B = self.data, other.data
        if A.ndim != 2 or B.ndim != 2:
            raise ValueError(
                f"matmul: A @ B takes two 2-D tensors (a batch of rows times a matrix), got shapes "
                f"{A.shape} and {B.shape}"
            )
        if A.shape[1] != B.shape[0]:
            raise ValueError(
                f"matmul: shapes {A.shape} and {B.shape} do not multiply; the columns of A ({A.shape[1]}) "
                f"must equal the rows of B ({B.shape[0]})"
            )

        ### BEGIN SOLUTION
        def rule(dC):
            return dC @ B.T, A.T @ dC

        ### END SOLUTION
        return Tensor._result(A @ B, (self, other), rule, "matmul")

    __matmul__ = matmul

    def __add__(self, other):
        other = self._operand(other, "add")
        a, b = self.shape, self._broadcast(other, "add")
        return Tensor._result(
            self.data + other.data, (self, other), lambda d: (unbroadcast(d, a), unbroadcast(d, b)), "add"
        )

    __radd__ = __add__

    def __sub__(self, other):
        other = self._operand(other, "subtract")
        a, b = self.shape, self._broadcast(other, "subtract")
        return Tensor._result(
            self.data - other.data,
            (self, other),
            lambda d: (unbroadcast(d, a), -unbroadcast(d, b)),
            "subtract",
        )

    def __rsub__(self, other):  # 1 - z: the number becomes a Tensor of this one's dtype
        return self._operand(other, "subtract") - self

    def __mul__(self, other):
        other = self._operand(other, "multiply")
        x, y = self.data, other.data
        a, b = self.shape, self._broadcast(other, "multiply")
        return Tensor._result(
            x * y, (self, other), lambda d: (unbroadcast(d * y, a), unbroadcast(d * x, b)), "multiply"
        )

    __rmul__ = __mul__

    def tanh(self):
        """Exercise 12.3: y = tanh(x), elementwise, for x this Tensor.

        The rule gets dy and returns (dx,), dx of x's shape: the slope written with the output y,
        which the forward pass already has (lessons 04 and 08).
        """
        x = self.data
        y = np.tanh(x)

        ### BEGIN SOLUTION
        def rule(dy):
            return (dy * (1 - y**2),)

        ### END SOLUTION
        return Tensor._result(y, (self,), rule, "tanh")

    def sigmoid(self):
        """Exercise 12.4: s = sigmoid(x) = 1 / (1 + exp(-x)), elementwise, for x this Tensor.

        The rule gets ds and returns (dx,), dx of x's shape, again from the output s.
        """
        x = self.data
        s = sigmoid(x)

        ### BEGIN SOLUTION
        def rule(ds):
            return (ds * s * (1 - s),)

        ### END SOLUTION
        return Tensor._result(s, (self,), rule, "sigmoid")

    def exp(self):
        y = np.exp(self.data)
        return Tensor._result(y, (self,), lambda dy: (dy * y,), "exp")

    def log(self):
        x = self.data
        return Tensor._result(np.log(x), (self,), lambda dy: (dy / x,), "log")

    # Reductions and indexing.

    def sum(self, axis=None):
        """The sum over ``axis`` (an int, or None for every element): each element gets the gradient of
        the sum it went into."""
        shape, axis = self.shape, self._axis(axis, "sum")

        def rule(d):
            d = d if axis is None else np.expand_dims(d, axis)
            return (np.broadcast_to(d, shape).copy(),)

        return Tensor._result(self.data.sum(axis=axis), (self,), rule, "sum")

    def mean(self, axis=None):
        """The mean over ``axis`` (an int, or None): the sum divided by the number of elements summed."""
        axis = self._axis(axis, "mean")
        count = self.data.size if axis is None else self.shape[axis]
        return self.sum(axis) * (1 / count)

    def rows(self, ids):
        """Exercise 12.6: rows ``ids`` of this (V, H) Tensor W: ids of shape (B,) give (B, H), W[ids].

        It is x_t W for one-hot rows x_t (lesson 01) without the product. The rule gets d (B, H) and
        returns (dW,), dW (V, H) of W's dtype: row b of d belongs to row ids[b] of W, and a row of W
        looked up several times in the batch collects the gradients of all its lookups.
        """
        ids = np.asarray(ids)
        if self.data.ndim != 2:
            raise ValueError(f"rows: the table must be 2-D (V, H), got shape {self.shape}")
        if ids.dtype.kind not in "iu" or (ids.size and not 0 <= ids.min() <= ids.max() < self.shape[0]):
            raise ValueError(
                f"rows: ids must be integers in [0, {self.shape[0]}) for a table of shape {self.shape}, "
                f"got dtype {ids.dtype}" + (f" and values {ids.min()} to {ids.max()}" if ids.size else "")
            )
        shape = self.shape

        ### BEGIN SOLUTION
        def rule(d):
            dW = np.zeros(shape, dtype=d.dtype)
            np.add.at(dW, ids, d)  # dW[ids] += d would add a repeated id's rows once, not once each
            return (dW,)

        ### END SOLUTION
        return Tensor._result(self.data[ids], (self,), rule, "rows")

    # The backward pass.

    def backward(self, grad=None):
        """Fill the ``grad`` of every leaf this Tensor was computed from with dL/dleaf, L being this Tensor.

        ``grad`` is the seed dL/d(this Tensor), of its shape; leave it out for a scalar loss (shape ()),
        where it is 1. Gradients add up in the leaves' ``grad`` (call ``zero_grad`` between steps); the
        Tensors inside the graph keep their ``data`` but hand back their gradients and saved arrays as
        soon as their rule has run, so one graph can be differentiated once: run the forward pass again
        for a new graph (PyTorch frees the same way unless told ``retain_graph=True``).
        """
        seed = self._seed(grad)
        order = topological_order(self)
        freed = [node for node in order if node.parents and node.rule is None]
        if freed:
            raise RuntimeError(
                f"backward: this graph was already differentiated, and its {freed[0].op!r} node (shape "
                f"{freed[0].shape}) has freed what its rule saved. Run the forward pass again to build a new "
                "graph (and zero_grad() the parameters first, or the new gradients add to the old ones)."
            )
        self.grad = seed
        for node in reversed(order):  # every Tensor after the Tensors computed from it: its grad is whole
            if not node.parents:
                continue
            for parent, g in zip(node.parents, node.rule(node.grad), strict=True):
                if parent.grad is None:
                    parent.grad = g.copy() if not parent.parents else g  # a leaf's grad is its own array
                else:
                    parent.grad = parent.grad + g
            node.grad, node.rule = None, None

    # Input checks: one clear error naming the operation and the shapes, not a NumPy traceback.

    def _operand(self, other, op):
        """``other`` as a Tensor of this one's dtype: a Tensor of the same dtype, or a number."""
        if validate.is_number(other):
            return Tensor(np.asarray(other, dtype=self.dtype))
        if not isinstance(other, Tensor):
            raise TypeError(
                f"{op}: the other operand must be a Tensor or a number, got {type(other).__name__}; wrap "
                "arrays in Tensor(...)"
            )
        if other.dtype != self.dtype:
            raise TypeError(
                f"{op}: {self.dtype} {self.shape} and {other.dtype} {other.shape} differ in dtype; build "
                "every Tensor of a graph from arrays of one dtype (a silent upcast would turn float32 "
                "training into float64)"
            )
        return other

    def _broadcast(self, other, op):
        """``other``'s shape, after checking that it broadcasts against this Tensor's shape."""
        try:
            np.broadcast_shapes(self.shape, other.shape)
        except ValueError:
            raise ValueError(
                f"{op}: shapes {self.shape} and {other.shape} do not broadcast; aligned from the right, each "
                "pair of sizes must be equal or one of them 1"
            ) from None
        return other.shape

    def _axis(self, axis, op):
        """``axis`` as a non-negative int, or None for every axis."""
        if axis is None:
            return None
        ndim = self.data.ndim
        if not validate.is_int(axis) or not -ndim <= axis < ndim:
            raise ValueError(
                f"{op}: axis must be None or an int in [-{ndim}, {ndim}) for shape {self.shape}, got {axis!r}"
            )
        return int(axis) % ndim

    def _seed(self, grad):
        if grad is None:
            if self.shape != ():
                raise ValueError(
                    f"backward: without a seed gradient the Tensor must be a scalar loss (shape ()), this "
                    f"{self.op!r} result has shape {self.shape}; reduce it first (.sum() or .mean()) or pass "
                    f"grad=dL/d(this Tensor), an array of shape {self.shape}"
                )
            return np.ones((), dtype=self.dtype)
        grad = np.asarray(grad)
        if grad.shape != self.shape or grad.dtype != self.dtype:
            raise ValueError(
                f"backward: the seed gradient must have this Tensor's shape {self.shape} and dtype "
                f"{self.dtype}, got shape {grad.shape} and dtype {grad.dtype}"
            )
        return grad


def unbroadcast(grad, shape):
    """Exercise 12.2: the gradient ``grad`` of a broadcast result, summed back to an operand's ``shape``.

    Broadcasting copies an operand along the axes it lacks (on the left) and along its axes of size 1;
    each copy sends back a gradient, and the copies' gradients add up, so the operand's gradient is
    ``grad`` summed over the axes along which it was copied, in the operand's exact shape (the lesson
    works out which). For b (H,) added to Z (B, H), grad (B, H) gives (H,), the
    sum over the rows: lesson 04's db = the sum of dZ over the rows. Returns an array of ``shape``.
    """
    ### BEGIN SOLUTION
    leading = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(leading)))
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)
    ### END SOLUTION


def topological_order(root):
    """Exercise 12.5: every Tensor ``root`` was computed from, each once, each after its parents.

    Returns a list that holds ``root`` and every Tensor reachable through ``parents``, with each
    Tensor placed after all of its parents, so ``root`` comes last. A depth-first walk does it: a
    Tensor goes into the list once all of its parents are in. The walk uses a stack of its own, not
    recursion: a graph is as deep as the network is long (its longest path has three Tensors per RNN
    step and ten per GRU step, so a GRU window of T = 100 is about 1,000 deep), and Python stops a
    recursion at about 1,000 calls.
    """
    ### BEGIN SOLUTION
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in node.parents)
    return order
    ### END SOLUTION


# Operations on several Tensors.


def concatenate(tensors, axis=-1):
    """The Tensors joined along ``axis`` (the columns by default); the rule cuts the gradient apart."""
    tensors = list(tensors)
    _same_dtype(tensors, "concatenate")
    try:
        data = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(
            f"concatenate: shapes {shapes} cannot be joined along axis {axis}; every other axis must match"
        ) from None
    cuts = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return Tensor._result(data, tensors, lambda d: tuple(np.split(d, cuts, axis=axis)), "concatenate")


def split(tensor, parts, axis=-1):
    """``tensor`` cut into ``parts`` equal Tensors along ``axis`` (the GRU's [r | z | n] blocks). Each
    part's rule puts its gradient back at its place in a zero array of the whole's shape."""
    size = tensor.shape[axis] if tensor.data.ndim else 0
    if not validate.is_int(parts) or parts < 1 or size % parts:
        raise ValueError(
            f"split: cannot cut shape {tensor.shape} into {parts!r} equal parts along axis {axis}"
        )
    width, shape = size // parts, tensor.shape

    def part(k):
        where = [slice(None)] * len(shape)
        where[axis] = slice(k * width, (k + 1) * width)
        where = tuple(where)

        def rule(d):
            whole = np.zeros(shape, dtype=d.dtype)
            whole[where] = d
            return (whole,)

        return Tensor._result(tensor.data[where], (tensor,), rule, "split")

    return [part(k) for k in range(parts)]


def stack(tensors, axis=1):
    """The Tensors, all of one shape, stacked along a new ``axis``: T states (B, H) give (B, T, H)."""
    tensors = list(tensors)
    _same_dtype(tensors, "stack")
    if len({t.shape for t in tensors}) != 1:
        raise ValueError(f"stack: the Tensors must have one shape, got {sorted({t.shape for t in tensors})}")
    data = np.stack([t.data for t in tensors], axis=axis)
    return Tensor._result(data, tensors, lambda d: tuple(np.moveaxis(d, axis, 0)), "stack")


def cross_entropy(logits, targets):
    """The mean cross-entropy of ``logits`` (..., V) for the integer ``targets`` (...), a scalar Tensor.

    One fused operation (lesson 02): a stable log-softmax forward, and the rule dZ = (P - Y) / N, P the
    softmax and Y the one-hot targets over the N predictions; built from exp, log and sum it would be
    slower, and the exp of a large logit would overflow.
    """
    targets = np.asarray(targets)
    V = logits.shape[-1] if logits.data.ndim else 0
    if logits.shape[:-1] != targets.shape or targets.dtype.kind not in "iu" or targets.size == 0:
        raise ValueError(
            f"cross_entropy: logits (..., V) need integer targets of shape (...), got logits of shape "
            f"{logits.shape} and targets of shape {targets.shape}, dtype {targets.dtype}"
        )
    if targets.min() < 0 or targets.max() >= V:
        raise ValueError(
            f"cross_entropy: targets must lie in [0, {V}), got {targets.min()} to {targets.max()}"
        )
    Z, y = logits.data.reshape(-1, V), targets.reshape(-1)
    N = len(y)
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_P = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_P[np.arange(N), y].mean()

    def rule(d):
        dZ = np.exp(log_P)
        dZ[np.arange(N), y] -= 1
        return ((d / N * dZ).reshape(logits.shape),)

    return Tensor._result(loss, (logits,), rule, "cross_entropy")


def _same_dtype(tensors, op):
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"{op}: expects a non-empty list of Tensors")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) != 1:
        shapes = ", ".join(f"{t.dtype} {t.shape}" for t in tensors)
        raise TypeError(f"{op}: the Tensors differ in dtype ({shapes}); build a graph from one dtype")


# The language models of lessons 04 and 08, with Tensors. params: a dict of Tensors with the names and
# shapes of rnn.init_params or gru.init_params; inputs, targets (B, T) integer ids; h0 a (B, H) Tensor.


def rnn_lm_loss(params, inputs, targets, h0):
    """The mean cross-entropy of rnn.lm_forward, as a scalar Tensor."""
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    h, logits = h0, []
    for t in range(inputs.shape[1]):
        h = (Wxh.rows(inputs[:, t]) + bh + h @ Whh).tanh()
        logits.append(h @ Why + by)
    return cross_entropy(stack(logits, axis=1), targets)


def gru_lm_loss(params, inputs, targets, h0):
    """The mean cross-entropy of gru.lm_forward, as a scalar Tensor."""
    Wx, Wh, bx, bh, Why, by = (params[k] for k in ("Wx", "Wh", "bx", "bh", "Why", "by"))
    h, logits = h0, []
    for t in range(inputs.shape[1]):
        a_xr, a_xz, a_xn = split(Wx.rows(inputs[:, t]) + bx, 3)
        a_hr, a_hz, a_hn = split(h @ Wh + bh, 3)
        r = (a_xr + a_hr).sigmoid()
        z = (a_xz + a_hz).sigmoid()
        n = (a_xn + r * a_hn).tanh()
        h = (1 - z) * n + z * h
        logits.append(h @ Why + by)
    return cross_entropy(stack(logits, axis=1), targets)


def lstm_step(x, h_prev, c_prev, Wx, Wh, b):
    """Exercise 12.7: one step of problem set 8's LSTM with Tensors, so that backward derives its gradients.

    x (B, m), h_prev (B, H), c_prev (B, H), Wx (m, 4H), Wh (H, 4H), b (4H,): Tensors, the gates
    [i | f | g | o] along the 4H columns (PyTorch's nn.LSTMCell). Returns (h, c), two (B, H) Tensors:
    the input, forget and output gates are the sigmoids of their blocks, the candidate the tanh of its
    block, c = f * c_prev + i * candidate and h = o * tanh(c).
    """
    ### BEGIN SOLUTION
    a_i, a_f, a_g, a_o = split(x @ Wx + h_prev @ Wh + b, 4)
    c = a_f.sigmoid() * c_prev + a_i.sigmoid() * a_g.tanh()
    return a_o.sigmoid() * c.tanh(), c
    ### END SOLUTION
