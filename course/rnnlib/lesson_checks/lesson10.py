"""The check of lesson 10, notebooks/10_shakespeare.ipynb: Exercise 10.1 (rnnlib/schedule.py).

The warm-up and cosine schedule, step by step over whole runs, against the reference's schedule: the
lesson's own run, the warm-up's edge cases (none, one step) and a constant rate after it.
"""

import numpy as np

from .. import reference
from ..checks import call, expect_close, expect_true
from . import exercise

# (lr, steps, warmup, final_lr): lesson 10's run, a short one, no warm-up, a one-step warm-up, and
# final_lr = lr (constant after the warm-up).
RUNS = (
    (3e-3, 2800, 100, 1e-4),
    (1.0, 110, 10, 0.1),
    (0.5, 50, 0, 0.05),
    (1.0, 10, 1, 0.01),
    (0.2, 30, 5, 0.2),
)


@exercise("10.1", "warmup_cosine")
def _warmup_cosine():
    from ..schedule import warmup_cosine

    ref = reference("schedule")
    for lr, steps, warmup, final_lr in RUNS:
        run = f"warmup_cosine(lr={lr:g}, steps={steps}, warmup={warmup}, final_lr={final_lr:g})"
        schedule = call("warmup_cosine", warmup_cosine, lr, steps, warmup, final_lr)
        expect_true(run, callable(schedule), "must return a function of the step, schedule(step)")
        expected = ref.warmup_cosine(lr, steps, warmup, final_lr)
        rates = [call("the schedule", schedule, step) for step in range(1, steps + 1)]
        odd = next((s for s, rate in enumerate(rates, 1) if not isinstance(rate, float | np.floating)), None)
        expect_true(
            f"{run}(step)",
            odd is None,
            f"must return a float, got {type(rates[(odd or 1) - 1]).__name__} at step {odd}",
        )
        want = np.array([expected(step) for step in range(1, steps + 1)])
        wrong = ~np.isclose(rates, want, rtol=1e-9, atol=0)
        step = int(np.argmax(wrong)) + 1 if wrong.any() else steps  # the first step that differs
        expect_close(f"the learning rate of {run} at step {step}", rates[step - 1], want[step - 1], rtol=1e-9)
