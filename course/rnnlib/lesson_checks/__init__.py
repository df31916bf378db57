"""The check of every exercise, one function each, run by a lesson's check cell and by ``make check``.

A lesson's check cell is one line, ``check_exercise("3.2")``; it prints ``✓ Exercise 3.2: rnn_forward``
or stops with one line that names the exercise, the function, the quantity that is wrong, what was
expected and what came back. This is course infrastructure, not an exercise: read it to see exactly
what is checked, in the module of the lesson (lesson03.py for Exercise 3.2; shared.py holds the helpers
that several lessons use).

Three rules make a check blame the right exercise:

- expected values come from the reference (solutions/rnnlib, through ``rnnlib.reference``) or from
  numbers computed here, never from your other functions: check 3.2 does not compare your rnn_forward
  with your rnn_step_forward, and a backward check builds its cache with the reference's forward pass;
- every call goes through ``call``, which fails when your function changes an argument in place;
- gradients are compared part by part, closest to the bug first: a GRU gate's block of the weight
  gradients (dW_xz is columns H:2H of dWx) before the mixed dx.
"""

import importlib

from .. import recorded
from ..checks import check

EXERCISES = {}  # "3.2" -> (title, check function), in the order of the lessons


def _lesson_order(number):
    """(11, 2) for "11.2": exercise numbers in the order of the lessons, 9.2 before 11.1 before 12.1."""
    return tuple(int(part) for part in number.split("."))


def exercise(number, title):
    """Register the decorated function as the check of Exercise ``number``."""

    def register(function):
        EXERCISES[number] = (f"Exercise {number}: {title}", function)
        ordered = sorted(EXERCISES.items(), key=lambda item: _lesson_order(item[0]))
        EXERCISES.clear()  # the same dict, reordered: whoever imported it sees the lessons' order
        EXERCISES.update(ordered)
        return function

    return register


def check_exercise(number):
    """Run the check of Exercise ``number`` (a str such as "3.2"); prints one ✓ line or stops."""
    if number not in EXERCISES:
        raise KeyError(f"there is no Exercise {number}; the exercises are {', '.join(EXERCISES)}")
    title, function = EXERCISES[number]
    with check(title), recorded.session(number):
        function()


# The lessons that have exercises. Each one's module (lesson05.py) registers its checks with @exercise,
# defined above, as it is imported.
LESSONS = ("01", "02", "03", "04", "05", "07", "08", "09", "10", "11", "12")
for _lesson in LESSONS:
    importlib.import_module(f".lesson{_lesson}", __name__)
