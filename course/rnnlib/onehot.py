"""One-hot rows that keep only their ids: the language models' input, without the zeros.

Lesson 01: a one-hot row times a matrix picks a row, ``one_hot(ids, V) @ W == W[ids]``. The language
models (rnn.lm_forward, gru.lm_forward) give their recurrent layer ``OneHot(inputs, V)`` where they
would give ``one_hot(inputs, V)``. To the layer's code (Exercises 3.1-4.2, 7.1-8.2) it is the same
(B, T, V) matrix of rows: it has the shape and dtype, reshapes, slices and multiplies like one. Two
things differ, and both are why it exists:

- ``X @ W`` is the row lookup ``W[ids]``: for finite weights the same numbers bit for bit (each sum
  has one nonzero term), without a (B*T, V) x (V, n) product, most of whose multiplications are by zero;
- the cache holds the B*T ids instead of B*T*V floats that are all zeros but one a row.

``X.T`` (a 2-D X's transpose, as in the weight gradient ``X2d.T @ dA``) is the real one-hot matrix,
made when it is asked for: summing the rows of dA by character as a matrix product is faster than
np.add.at's scatter. Anything else a layer does with X (arithmetic, comparisons, np.einsum,
X.transpose, ...) is done on the full array, through ``__array_ufunc__``, ``__array__`` or
``__getattr__``, so every correct layer stays correct.
"""

import math

import numpy as np


class OneHot(np.lib.mixins.NDArrayOperatorsMixin):
    """The one-hot rows of integer ``ids`` (any shape) over a vocabulary of V: shape ids.shape + (V,)."""

    def __init__(self, ids, V, dtype=np.float64):
        # A copy, as one_hot makes: changing the caller's ids later must not change a cache's gradients.
        self.ids, self.V, self.dtype = np.array(ids), int(V), np.dtype(dtype)

    @property
    def shape(self):
        return self.ids.shape + (self.V,)

    @property
    def ndim(self):
        return self.ids.ndim + 1

    def __len__(self):
        return len(self.ids)

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a OneHot stores ids, so its array of rows is always a new array")
        return np.eye(self.V, dtype=dtype or self.dtype)[self.ids]

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # X * 2, X == 1, np.matmul(X, W), ...: NumPy's ufunc on the full array, but X @ W stays a lookup.
        if (
            ufunc is np.matmul
            and method == "__call__"
            and inputs[0] is self
            and len(inputs) == 2
            and not kwargs
        ):
            return self @ inputs[1]
        inputs = [np.asarray(x) if isinstance(x, OneHot) else x for x in inputs]
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getattr__(self, name):
        # Called only for what OneHot does not define: the full array answers (X.sum(), X.swapaxes, ...).
        # NumPy itself asks for __array_interface__ and the like before it calls __array__: say no.
        if name.startswith("__") or name in ("ids", "V", "dtype"):
            raise AttributeError(name)
        return getattr(np.asarray(self), name)

    def __repr__(self):
        return f"OneHot(ids of shape {self.ids.shape}, V={self.V}, dtype={self.dtype})"

    def reshape(self, *shape, order="C"):
        """Reshape the rows (the last axis stays V); any other reshape gets the full array's."""
        shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) else shape
        rows, last = shape[:-1], shape[-1] if shape else None
        fits = -1 in rows or math.prod(rows) == self.ids.size
        rows_only = (last == self.V and fits) or (
            last == -1 and -1 not in rows and math.prod(rows) == self.ids.size
        )
        if rows_only and order == "C":
            return OneHot(self.ids.reshape(rows), self.V, self.dtype)
        return np.asarray(self).reshape(shape, order=order)  # NumPy's result, or NumPy's error

    def astype(self, dtype, copy=True):
        return OneHot(self.ids, self.V, dtype)

    def __getitem__(self, key):
        """X[:, t] (and X[:, t, :]) are one-hot rows again; an index into the last axis gets numbers."""
        key = key if isinstance(key, tuple) else (key,)
        if len(key) == self.ids.ndim + 1 and isinstance(key[-1], slice) and key[-1] == slice(None):
            key = key[:-1]
        if len(key) <= self.ids.ndim and not any(k is Ellipsis or k is None for k in key):
            return OneHot(self.ids[key], self.V, self.dtype)
        return np.asarray(self)[key]

    def __matmul__(self, W):
        """X @ W for W (V, n): the rows W[ids], in the dtype the product of the full arrays would have."""
        W = np.asarray(W)
        if W.ndim != 2 or W.shape[0] != self.V:
            return np.asarray(self) @ W  # NumPy's own result, or its own error for mismatched shapes
        return W[self.ids].astype(np.result_type(self.dtype, W.dtype), copy=False)

    @property
    def T(self):
        return np.asarray(self).T
