"""The learning rate as a function of the step: a warm-up, then a cosine decay (the lr of Settings).

Lesson: notebooks/10_shakespeare.ipynb. Adam's step divides by the square root of v_hat, an average of
squared gradients that rests on a handful of them in the first steps (lesson 09): a noisy estimate, so
a short linear **warm-up** keeps those steps small until it has more to rest on. Late in a run the loss
no longer falls because the steps are too long to settle into the valley they bounce across: a
**cosine decay** shrinks them to ``final_lr`` at the last step, slowly at both ends and fastest half way,
and the total number of steps decides the whole curve.
"""

import math


def warmup_cosine(lr, steps, warmup, final_lr):
    """Exercise 10.1: the schedule step -> learning rate of a run of ``steps`` steps (1, 2, ..., steps).

    lr:       the peak learning rate, a float > 0.
    steps:    the run's last step S, an int.
    warmup:   the warm-up's steps s_w, 0 <= warmup < steps.
    final_lr: the learning rate at the last step, 0 < final_lr <= lr.
    Returns a function ``schedule(step)`` that returns a float:
        step <= warmup:  lr * step / warmup                 (a linear ramp from lr / warmup up to lr)
        step > warmup:   final_lr + (lr - final_lr) * (1 + cos(pi * p)) / 2,
                         p = (step - warmup) / (steps - warmup)
    so that the cosine starts at lr just after the warm-up (p near 0) and ends at final_lr at step
    ``steps`` (p = 1). warmup=0 starts at ``lr``; final_lr=lr keeps it constant after the warm-up.
    """
    if not 0 <= warmup < steps:
        raise ValueError(f"warmup_cosine: warmup must be from 0 to steps - 1 = {steps - 1}, got {warmup!r}")
    if not 0 < final_lr <= lr:
        raise ValueError(f"warmup_cosine: need 0 < final_lr <= lr, got final_lr={final_lr!r}, lr={lr!r}")
    ### BEGIN SOLUTION
    def schedule(step):
        if step <= warmup:
            return lr * step / warmup
        progress = (step - warmup) / (steps - warmup)  # 0 just after the warm-up, 1 at the last step
        return final_lr + (lr - final_lr) * 0.5 * (1 + math.cos(math.pi * progress))

    return schedule
    ### END SOLUTION
