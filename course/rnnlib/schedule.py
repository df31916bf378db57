"""Learning-rate schedules: the learning rate as a function of the step, the lr of rnnlib.training.Settings.

Lesson: notebooks/10_shakespeare.ipynb. Adam's first steps are taken with moving averages built from a
handful of gradients, from random weights where the gradient changes fastest: a short linear **warm-up**
keeps those steps small. Late in a run the loss no longer falls because the steps are too long to settle
into the valley they bounce across: a **cosine decay** shrinks them smoothly to ``final_lr`` at the last
step, so the run ends settled, and the total number of steps decides the whole curve.
"""

import math


def warmup_cosine(lr, steps, warmup, final_lr):
    """The schedule step -> learning rate for steps 1..``steps``: a linear ramp from lr / warmup to ``lr``
    over the first ``warmup`` steps, then half a cosine from ``lr`` down to ``final_lr`` at ``steps``.

    warmup=0 starts at ``lr``; final_lr=lr keeps it constant after the warm-up.
    """
    if not 0 <= warmup < steps:
        raise ValueError(f"warmup_cosine: warmup must be from 0 to steps - 1 = {steps - 1}, got {warmup!r}")
    if not 0 < final_lr <= lr:
        raise ValueError(f"warmup_cosine: need 0 < final_lr <= lr, got final_lr={final_lr!r}, lr={lr!r}")

    def schedule(step):
        if step <= warmup:
            return lr * step / warmup
        progress = (step - warmup) / (steps - warmup)  # 0 just after the warm-up, 1 at the last step
        return final_lr + (lr - final_lr) * 0.5 * (1 + math.cos(math.pi * progress))

    return schedule
