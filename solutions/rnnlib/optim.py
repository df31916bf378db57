"""Optimisation: SGD, momentum and Adam updates, and gradient clipping by global norm.

Lessons: notebooks/05_training.ipynb (SGD, clipping), notebooks/09_optimizers.ipynb (momentum, Adam).
Parameters and gradients are dicts of arrays with the same keys
(``Wxh``, ``Whh``, ``bh``, ``Why``, ``by`` for the RNN; the GRU's keys for the GRU), as returned by
``init_params`` and ``lm_backward``. Every step function, and ``clip_grad_norm``, changes the arrays in
place: the training loop holds one dict of parameters for the whole run, and the gradients are thrown
away after each step.

Momentum and Adam keep a state per parameter (a velocity; two moments and a step count), a dict made
once by ``momentum_init`` / ``adam_init`` and updated in place by each step, beside the parameters.

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
    _check_same_keys("sgd_step", params, grads)
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


def momentum_init(params):
    """The state of momentum for ``params``: {"velocity": {name: zeros of P's shape and dtype}}."""
    return {"velocity": {name: np.zeros_like(P) for name, P in params.items()}}


def momentum_step(params, grads, state, lr, beta=0.9):
    """Exercise 9.1: one step of SGD with momentum, in place (PyTorch's convention).

    params, grads: dicts of arrays with the same keys and shapes, as for sgd_step.
    state:         momentum_init(params); state["velocity"][name] (P's shape) is updated in place.
    lr:            the learning rate, > 0; beta: the momentum, 0 <= beta < 1 (0 is plain SGD).
    For every parameter P with gradient dP and velocity v:
        v <- beta * v + dP
        P <- P - lr * v
    both written into the arrays already in ``state`` and ``params``. Returns None.
    """
    _check_same_keys("momentum_step", params, grads)
    _check_state("momentum_step", "momentum_init", params, state, ("velocity",))
    _check_positive("momentum_step", "lr", lr)
    _check_beta("momentum_step", "beta", beta)
    ### BEGIN SOLUTION
    for name, P in params.items():
        v = state["velocity"][name]
        v[...] = beta * v + grads[name]
        P -= lr * v
    ### END SOLUTION


def adam_init(params):
    """The state of Adam for ``params``: {"step": 0, "m": {name: zeros}, "v": {name: zeros}}, the zeros
    of each parameter's shape and dtype."""
    return {
        "step": 0,
        "m": {name: np.zeros_like(P) for name, P in params.items()},
        "v": {name: np.zeros_like(P) for name, P in params.items()},
    }


def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Exercise 9.2: one step of Adam (Kingma and Ba 2015; torch.optim.Adam's update), in place.

    params, grads: dicts of arrays with the same keys and shapes, as for sgd_step.
    state:         adam_init(params): "step" the number of steps taken (an int), "m" and "v" dicts of
                   arrays of the parameters' shapes, all updated in place.
    lr > 0; beta1, beta2 in [0, 1), the decay rates of the two moving averages; eps > 0.
    First state["step"] += 1, so that s = 1 at the first step; then for every parameter P, gradient g:
        m <- beta1 * m + (1 - beta1) * g           moving average of g
        v <- beta2 * v + (1 - beta2) * g**2        moving average of g squared (elementwise)
        m_hat = m / (1 - beta1**s),  v_hat = v / (1 - beta2**s)    bias correction
        P <- P - lr * m_hat / (sqrt(v_hat) + eps)
    A float32 P, m and v stay float32. Returns None.
    """
    _check_same_keys("adam_step", params, grads)
    _check_state("adam_step", "adam_init", params, state, ("m", "v"))
    _check_positive("adam_step", "lr", lr)
    _check_beta("adam_step", "beta1", beta1)
    _check_beta("adam_step", "beta2", beta2)
    _check_positive("adam_step", "eps", eps)
    ### BEGIN SOLUTION
    state["step"] += 1
    s = state["step"]
    for name, P in params.items():
        g, m, v = grads[name], state["m"][name], state["v"][name]
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**s)
        v_hat = v / (1 - beta2**s)
        P -= lr * m_hat / (np.sqrt(v_hat) + eps)
    ### END SOLUTION


# Input checks: one clear error naming the function and the argument, before any array is touched.


def _check_same_keys(function, params, grads):
    if params.keys() != grads.keys():
        raise ValueError(
            f"{function}: params and grads must have the same keys, got {sorted(params)} and "
            f"{sorted(grads)}; pass the grads dict that lm_backward returned for these params"
        )


def _check_state(function, init, params, state, parts):
    """The state must be ``init(params)``: a dict with a dict per part, of the parameters' keys."""
    fix = f"make it once with {init}(params) and pass the same dict to every step"
    if not isinstance(state, dict) or any(not isinstance(state.get(part), dict) for part in parts):
        raise ValueError(f"{function}: state must be the dict {init}(params) returns; {fix}")
    for part in parts:
        if state[part].keys() != params.keys():
            raise ValueError(
                f"{function}: state[{part!r}] has the keys {sorted(state[part])}, params has "
                f"{sorted(params)}; {fix}"
            )


def _check_positive(function, name, value):
    if not value > 0:
        raise ValueError(f"{function}: {name} must be a number > 0, got {value!r}")


def _check_beta(function, name, value):
    if not 0 <= value < 1:
        raise ValueError(f"{function}: {name} must be a number in [0, 1) (e.g. 0.9), got {value!r}")
