"""The character-level language model around a recurrent layer (lessons 03-05; not an exercise).

Characters in, the mean cross-entropy of the next character out::

    X = one_hot(inputs, V)    Hs = layer(X, h0)    Z = Hs Why + by    loss = cross_entropy(Z, targets)

A model module declares its layer once, as a LanguageModel: the names of the layer's parameters, how to
draw and check them, and the layer's forward, backward and one-step functions, the exercises of its
lessons. The LanguageModel gives the module the four functions that train, evaluate and sample a model,
with one contract for every layer, so that rnnlib.training and rnnlib.sample take any model module:

    init_params(vocab_size, hidden_size, rng, dtype)    params, a dict of arrays (lesson 03)
    lm_forward(params, inputs, targets, h0)             loss, h_last, cache (lessons 03 and 05)
    lm_backward(cache, dh_last=None)                    grads, dh0 (lessons 04 and 05)
    lm_step(params, ids, h)                             logits, h_next (lessons 03 and 11)

rnnlib.rnn (lessons 03-04) and rnnlib.gru (lessons 07-08) declare theirs; both use the output layer of
Exercises 3.3 and 4.3.
"""

import numpy as np

from . import validate
from .losses import cross_entropy, cross_entropy_backward
from .onehot import OneHot


class LanguageModel:
    """A recurrent layer under the output layer, trained to predict the next character (lessons 03-05).

    name: the module's name ("rnn", "gru"), used in error messages. params: the names of every
    parameter, the layer's first, in the order of its functions' arguments, then "Why", "by".
    init_layer(V, H, rng): the layer's parameters for a vocabulary of V characters and H units, a dict
    of float64 arrays. check_layer(*weights): (V, H) after checking the layer's shapes.
    forward(X, h0, *weights) -> (Hs, cache), backward(dHs, cache) -> (dX, dh0, *grads) in the order
    of the layer's parameters, step_forward(x, h, *weights) -> (h_next, cache): the layer's exercises.
    output_forward, output_backward: the output layer Z = Hs Why + by and its gradients.
    """

    def __init__(
        self, name, params, *, init_layer, check_layer, forward, backward, step_forward, output_forward,
        output_backward,
    ):
        if tuple(params[-2:]) != ("Why", "by"):
            raise ValueError(f"{name}: params must end with the output layer's 'Why', 'by', got {params}")
        self.name, self.params, self.layer_params = name, tuple(params), tuple(params[:-2])
        self.init_layer, self.check_layer = init_layer, check_layer
        self.forward, self.backward, self.step_forward = forward, backward, step_forward
        self.output_forward, self.output_backward = output_forward, output_backward

    def init_params(self, vocab_size, hidden_size, rng, dtype=np.float64):
        """Fresh parameters (lesson 03): the layer's (the model's _init_layer), then Why (H, V) drawn from
        N(0, 1/H), the fan-in, and by (V,) zeros, all of ``dtype``. The draws are made in float64, in
        that order, and rounded to ``dtype``, so a seed gives the same model in float32 and float64."""
        where = f"{self.name}.init_params"
        V = validate.count(where, "vocab_size", vocab_size, meaning="V, the number of characters")
        H = validate.count(where, "hidden_size", hidden_size, meaning="H, the number of hidden units")
        validate.generator(where, "rng", rng)
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"dtype must be a floating type such as np.float32 or np.float64, got {dtype!r}")
        params = self.init_layer(V, H, rng)
        params["Why"] = rng.standard_normal((H, V)) / np.sqrt(H)
        params["by"] = np.zeros(V)
        return {k: v.astype(dtype) for k, v in params.items()}

    def lm_forward(self, params, inputs, targets, h0):
        """Loss of the language model on one window of characters (lesson 03; lesson 05 trains with it).

        params from init_params; inputs, targets (B, T) integer ids in [0, V), targets[:, t] being the
        character that follows inputs[:, t]; h0 (B, H) the state to start from (None for zeros;
        converted to the dtype of params). Returns loss (float, the mean NLL over the B*T predictions),
        h_last (B, H) the state after the window, to carry into the next one, and the cache lm_backward
        needs.
        """
        weights, Why, by = self._unpack(params)
        H, V = Why.shape
        inputs = validate.ids("inputs", inputs, V, ndim=2)
        targets = validate.ids("targets", targets, V, ndim=2)
        if targets.shape != inputs.shape:
            raise ValueError(f"targets must have the shape of inputs {inputs.shape}, got {targets.shape}")
        validate.steps("inputs", inputs)
        h0 = validate.state("h0", h0, inputs.shape[0], H, Why.dtype)
        X = OneHot(inputs, V, dtype=Why.dtype)  # one_hot(inputs, V) that stores only the ids
        Hs, layer_cache = self.forward(X, h0, *weights)
        Z, out_cache = self.output_forward(Hs, Why, by)
        Z2d, y = Z.reshape(-1, V), targets.reshape(-1)
        loss = cross_entropy(Z2d, y)
        return loss, Hs[:, -1].copy(), (layer_cache, out_cache, Z2d, y)

    def lm_backward(self, cache, dh_last=None):
        """Gradients of lm_forward's loss (lesson 04): grads (a dict with the keys of params), dh0 (B, H).

        dh_last (B, H), optional, is a gradient arriving at h_last from beyond the window (from the
        next window when the state is carried and the two are differentiated together); truncated BPTT
        leaves it out, so the gradient stops at the window's end.
        """
        layer_cache, out_cache, Z2d, y = cache
        B, T, H = out_cache[0].shape
        dZ = cross_entropy_backward(Z2d, y).reshape(B, T, -1)
        dHs, dWhy, dby = self.output_backward(dZ, out_cache)
        if dh_last is not None:
            validate.shape("dh_last", dh_last, (B, H), "(B, H), the shape of h_last")
            dHs[:, -1] += dh_last
        _, dh0, *layer_grads = self.backward(dHs, layer_cache)
        return {**dict(zip(self.layer_params, layer_grads, strict=True)), "Why": dWhy, "by": dby}, dh0

    def lm_step(self, params, ids, h):
        """One step of the language model, for sampling (lessons 03 and 11): the next logits and state.

        ids (B,) integer ids of the current characters, h (B, H) the state before them (None for zeros).
        Returns logits (B, V) and h_next (B, H).
        """
        weights, Why, by = self._unpack(params)
        H, V = Why.shape
        ids = validate.ids("ids", ids, V, ndim=1)
        h = validate.state("h", h, ids.shape[0], H, Why.dtype)
        h_next, _ = self.step_forward(OneHot(ids, V, dtype=Why.dtype), h, *weights)
        Z, _ = self.output_forward(h_next[:, None], Why, by)
        return Z[:, 0], h_next

    def _unpack(self, params):
        """(the layer's arrays, Why, by), after checking the names, shapes and common floating dtype."""
        if not isinstance(params, dict) or set(params) != set(self.params):
            got = sorted(params) if isinstance(params, dict) else type(params).__name__
            raise ValueError(
                f"params must be the dict of {self.name}.init_params with keys {list(self.params)}, got {got}"
            )
        weights = [params[k] for k in self.layer_params]
        V, H = self.check_layer(*weights)
        validate.shape("Why", params["Why"], (H, V), "(H, V)")
        validate.shape("by", params["by"], (V,), "(V,)")
        dtypes = {np.asarray(params[k]).dtype for k in self.params}
        if len(dtypes) != 1 or not np.issubdtype(dtypes.pop(), np.floating):
            found = {k: str(np.asarray(params[k]).dtype) for k in self.params}
            raise TypeError(f"params must all have the same floating dtype, got {found}")
        return weights, params["Why"], params["by"]
