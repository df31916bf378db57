"""Optimisation: the SGD update and gradient clipping by global norm.

Lesson: notebooks/05_training.ipynb. Parameters and gradients are dicts of arrays with the same keys
(``Wxh``, ``Whh``, ``bh``, ``Why``, ``by`` for the RNN; the GRU's keys for the GRU), as returned by
``init_params`` and ``lm_backward``. Both functions change the arrays in place: the training loop holds
one dict of parameters for the whole run, and the gradients are thrown away after each step.

Clipping lives here, in the training loop, and not inside ``lm_backward``: ``lm_backward`` computes the
exact gradient of the loss, which lesson 04 checks against finite differences. A clipped gradient is
no longer the gradient of anything, so clipping inside it would make that check fail whenever it bites.
"""

import numpy as np


def sgd_step(params, grads, lr):
    """Exercise 5.1: one step of stochastic gradient descent, in place.

    params: dict of parameter arrays, e.g. Wxh (V, H), Whh (H, H), bh (H,), Why (H, V), by (V,).
    grads:  dict with the same keys and shapes, the gradient of the loss for each parameter.
    lr:     the learning rate, a float > 0.
    Every parameter takes a step against its gradient, P <- P - lr * dP, written into the array that
    is already in ``params`` (no new arrays: the caller's dict sees the change). Returns None.
    """
    _check_same_keys(params, grads)
    if not lr > 0:
        raise ValueError(f"sgd_step: the learning rate must be a number > 0, got {lr!r}")
    ### BEGIN SOLUTION
    for name, P in params.items():
        P -= lr * grads[name]
    ### END SOLUTION


def clip_grad_norm(grads, max_norm):
    """Exercise 5.2: scale all gradients down together when their global norm exceeds max_norm.

    grads:    dict of gradient arrays (any shapes), changed in place.
    max_norm: a float > 0 (np.inf: never clip, only measure).
    The global norm treats all the arrays as one long vector g:
        total_norm = sqrt(sum over arrays dP of sum(dP ** 2))
    When total_norm > max_norm every array is multiplied by max_norm / total_norm, so g keeps its
    direction and its norm becomes max_norm; otherwise nothing changes. Returns total_norm, the norm
    BEFORE clipping, as a float (nan or inf when a gradient is not finite; the loop stops on that).

    Sum the squares in float64: in float32 a gradient entry above ~1.8e19 squares to inf.
    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be a number > 0 (np.inf: never), got {max_norm!r}")
    ### BEGIN SOLUTION
    total_norm = float(np.sqrt(sum(np.sum(np.square(dP, dtype=np.float64)) for dP in grads.values())))
    if total_norm > max_norm:
        scale = max_norm / total_norm
        for dP in grads.values():
            dP *= scale
    return total_norm
    ### END SOLUTION


def _check_same_keys(params, grads):
    if params.keys() != grads.keys():
        raise ValueError(
            f"sgd_step: params and grads must have the same keys, got {sorted(params)} and {sorted(grads)}; "
            "pass the grads dict that lm_backward returned for these params"
        )
