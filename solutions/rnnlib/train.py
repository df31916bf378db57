"""Training a character-level language model with truncated backpropagation through time.

Lesson: notebooks/05_training.ipynb. ``model`` is a module with the language-model glue of
rnnlib.rnn or rnnlib.gru: ``init_params``, ``lm_forward``, ``lm_backward`` and ``lm_step``; nothing here
depends on which one it is. Parameters are a dict of arrays; float32 parameters train in float32.

Truncated BPTT: the training text is cut into B streams (rnnlib.data.make_streams) read T characters at
a time (rnnlib.data.windows). The state the network ends a window in is where it starts the next one,
so the forward pass sees the whole stream; the backward pass stops at the start of each window, so
memory and time per step stay those of T steps. NumPy keeps no graph, so "detaching" the state, the
word autograd libraries use, just means dropping lm_backward's dh0, the gradient that would flow into
the previous window.
"""

from .optim import clip_grad_norm, sgd_step


def train_step(model, params, inputs, targets, h, lr, clip, update=sgd_step):
    """Exercise 5.3: one step of truncated BPTT on one window: forward, backward, clip, update.

    model:           rnnlib.rnn or rnnlib.gru (uses model.lm_forward and model.lm_backward).
    params:          the model's parameter dict, updated in place.
    inputs, targets: (B, T) int ids of one window.
    h:               (B, H) the state the previous window ended in (zeros at the start of an epoch).
    lr, clip:        learning rate; maximum global gradient norm (np.inf: no clipping).
    update:          the update rule, update(params, grads, lr), in place: sgd_step (lesson 05) unless
                     another is given (lesson 09's momentum and Adam, with their state: rnnlib.training).
    Returns (loss, h_last, grad_norm): the window's mean NLL (float), the (B, H) state to start the
    next window with, and the global gradient norm before clipping.

    The gradient dh0 with respect to h is dropped: h came out of the previous window, which has
    already been trained on; backpropagating into it would mean keeping that window's cache, and the
    one before it, back to the start of the text. That is the truncation in truncated BPTT.
    """
    ### BEGIN SOLUTION
    loss, h_last, cache = model.lm_forward(params, inputs, targets, h)
    grads, _ = model.lm_backward(cache)  # dh0 dropped: the state is detached
    grad_norm = clip_grad_norm(grads, clip)
    update(params, grads, lr)
    return loss, h_last, grad_norm
    ### END SOLUTION


# The loop that runs train_step window after window (validation, samples, the plot, lesson 09's optimisers,
# schedules, runs that stop and resume) is the course's, not an exercise: rnnlib.training, in
# course/rnnlib/training.py.
