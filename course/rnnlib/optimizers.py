"""The optimisers a run can name, in one table: what each keeps, how it updates, its usual settings.

Lesson: notebooks/09_optimizers.ipynb (the updates themselves are Exercises 5.1, 9.1 and 9.2, in
rnnlib/optim.py). rnnlib.training steps with them, rnnlib.config's Config names one, a checkpoint stores
its state and the command line offers them as --optimizer; all of them read this table.
"""

import dataclasses
from collections.abc import Callable

from . import optim


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """init(params): the state it keeps ({} for SGD); step(params, grads, state, lr): one update, in
    place. lr and clip: its peak learning rate and clipping norm when a run gives none (Config's, the
    command line's). copies: the arrays the size of the parameters its state holds (memory, file size)."""

    init: Callable
    step: Callable
    lr: float
    clip: float
    copies: int

    def update(self, state):
        """The update rule train_step takes, update(params, grads, lr), with this optimiser's ``state``."""
        return lambda params, grads, lr: self.step(params, grads, state, lr)


# SGD's are lesson 05's for the RNN (lesson 08's GRU took lr 5): with clip 5, lr 1 throws the RNN off at the
# end of a warm-up. Momentum's lr, with beta = 0.9, gives the same effective rate lr / (1 - beta) (lesson
# 09). Adam's are lesson 10's.
OPTIMIZERS = {
    "sgd": Optimizer(
        lambda params: {}, lambda params, grads, state, lr: optim.sgd_step(params, grads, lr), 1.0, 1.0, 0
    ),
    "momentum": Optimizer(optim.momentum_init, optim.momentum_step, 0.1, 1.0, 1),
    "adam": Optimizer(optim.adam_init, optim.adam_step, 3e-3, 5.0, 2),
}
