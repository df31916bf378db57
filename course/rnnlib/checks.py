"""Checks that lesson notebooks run on your code. This is course infrastructure, not an exercise.

A check cell looks like this::

    #NBVAL_CHECK_OUTPUT
    with check("Exercise 2.1: softmax"):
        P = softmax(Z)
        expect_shape("softmax(Z)", P, (4, 5))
        expect_close("softmax(Z)", P, P_expected)

and prints one stable line, ``✓ Exercise 2.1: softmax``, when every expectation inside holds.
Otherwise it stops with one short message instead of a traceback:

- ``ExerciseNotDone`` when the code reached a stub: it names the exercise and the file to edit;
- ``CheckFailed`` when an answer is wrong: it names the function, what was expected and what came back,
  or the exception your code raised and the line of yours it came from.

A kernel runs a module as it was when the kernel imported it (each lesson's first cell loads IPython's
autoreload, which reloads a saved file before the next cell runs). When a file of the package changed on
disk since and was not reloaded, either message ends by naming the file and saying to restart the kernel.
"""

import contextlib
import functools
import inspect
import re
import sys
import traceback
import types
from pathlib import Path

import numpy as np

from . import PROJECT_ROOT, reference
from .relative_error import relative_error

_STUB = re.compile(r"^Exercise (?P<number>\d+\.\d+): implement (?P<function>[\w.]+)")
# A problem set's placeholder.
_PROBLEM_STUB = re.compile(r"^(Problem \d+|An answer) of \w+ is not done yet: ")


class ExerciseNotDone(Exception):
    """Raised by a check when the code it runs reaches an exercise stub."""


class CheckFailed(AssertionError):
    """Raised by a check when an answer is wrong."""


@contextlib.contextmanager
def check(title):
    """Run the expectations in the ``with`` block and print ``✓ <title>`` when all of them hold."""
    state = {"expectations": 0}
    _active.append(state)
    try:
        yield
    except ExerciseNotDone:
        raise
    except CheckFailed as error:
        function = title.rsplit(": ", 1)[-1]  # "Exercise 3.2: rnn_forward" names rnn_forward once
        message = str(error).removeprefix(f"{function}: ")
        raise CheckFailed(_noting_stale_modules(f"{title}: {message}")) from None
    except NotImplementedError as error:
        raise not_done(error) or error from None
    except Exception as error:
        raise CheckFailed(_noting_stale_modules(f"{title}: your code raised {describe(error)}")) from None
    finally:
        _active.pop()
    if state["expectations"] == 0:
        raise RuntimeError(f"{title}: the check made no expectation, so it could not fail.")
    print(f"✓ {title}")


_active = []


def _count_expectation():
    """One more expectation for the check running now: a check that makes none could not fail."""
    if _active:
        _active[-1]["expectations"] += 1


def expect_shape(name, got, shape):
    """Expect an array (or anything with ``.shape``) of exactly ``shape``."""
    _count_expectation()
    if got is None:
        raise CheckFailed(f"{name}: expected an array of shape {tuple(shape)}, got None (a missing return?)")
    got_shape = tuple(np.shape(got))
    if got_shape != tuple(shape):
        raise CheckFailed(f"{name}: expected shape {tuple(shape)}, got shape {got_shape}")


def expect_close(name, got, expected, *, rtol=1e-7, atol=1e-10):
    """Expect values equal to ``expected`` within ``|got - expected| <= atol + rtol * |expected|``."""
    expected = np.asarray(expected)
    expect_shape(name, got, expected.shape)
    got = np.asarray(got)
    if not np.all(np.isfinite(got)):
        raise CheckFailed(f"{name}: got non-finite values (NaN or inf): {_preview(got)}")
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        raise CheckFailed(
            f"{name}: {int(bad.sum())} of {bad.size} values differ; at index {where} expected "
            f"{expected[where].item()!r}, got {got[where].item()!r}"
        )


def expect_equal(name, got, expected):
    """Expect exact equality (integers, strings, lists)."""
    _count_expectation()
    same = np.array_equal(got, expected) if isinstance(expected, np.ndarray) else got == expected
    if not same:
        raise CheckFailed(f"{name}: expected {_preview(expected)}, got {_preview(got)}")


def expect_true(name, condition, explanation):
    """Expect a property to hold; ``explanation`` says what the property is."""
    _count_expectation()
    if not condition:
        raise CheckFailed(f"{name}: {explanation}")


def expect_raises(name, exception, function, *args, **kwargs):
    """Expect ``function(*args, **kwargs)`` to raise ``exception`` (bad input must be refused)."""
    _count_expectation()
    try:
        function(*args, **kwargs)
    except exception:
        return
    except NotImplementedError:
        raise
    except Exception as error:
        raise CheckFailed(f"{name}: expected {exception.__name__}, got {describe(error)}") from None
    raise CheckFailed(f"{name}: expected {exception.__name__}, but nothing was raised")


def call(name, function, *args, changes=None):
    """``function(*args)``, expecting it to leave its array arguments as they were (also the arrays in a
    dict or tuple argument). ``changes`` names the one argument that is meant to change (sgd_step's
    params). A function that writes into its caller's arrays passes a check once and corrupts the
    caller's data the next time, so it fails here with a message that says so."""
    _count_expectation()
    try:
        names = list(inspect.signature(function).bind(*args).arguments)
    except (TypeError, ValueError):  # a signature other than the docstring's: name them by position
        names = [f"argument {i + 1}" for i in range(len(args))]
    before = [_snapshot(a) for a in args]
    result = function(*args)
    for arg_name, value, old in zip(names, args, before, strict=False):
        if arg_name == changes:
            continue
        for where, array, copy in _arrays(arg_name, value, old):
            if array.shape != copy.shape or not np.array_equal(
                array, copy, equal_nan=array.dtype.kind == "f"
            ):
                raise CheckFailed(
                    f"{name} changed its argument {where} in place; it must leave its inputs as they were "
                    f"(the caller uses them again): compute into a new array ({where} + ..., not +=)"
                )
    return result


def _snapshot(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_snapshot(v) for v in value]
    return None


def _arrays(where, value, copy):
    """(name, array, its copy) for every array in ``value``, e.g. ("params['W']", ...)."""
    if isinstance(value, np.ndarray):
        yield where, value, copy
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _arrays(f"{where}[{k!r}]", v, copy.get(k))
    elif isinstance(value, (tuple, list)):
        for i, (v, c) in enumerate(zip(value, copy, strict=False)):
            yield from _arrays(f"{where}[{i}]", v, c)


def expect_gradient(name, f, x, analytic, *, tol=1e-7, h=1e-6):
    """Expect ``analytic`` to be the gradient of the scalar function ``f(x)`` at ``x``.

    The numerical gradient comes from central differences in float64, computed by the reference
    ``numerical_gradient`` so that this check does not depend on your Exercise 2.4. ``x`` is changed in
    place between calls, so ``f`` must compute from it (or from arrays sharing its memory). Returns the
    maximum relative error, for printing.
    """
    expect_shape(f"d{name}", analytic, np.shape(x))
    if np.asarray(x).dtype != np.float64:
        raise CheckFailed(f"{name}: gradient checks need float64 inputs, got {np.asarray(x).dtype}")
    numeric = reference("gradcheck").numerical_gradient(f, x, h=h)
    error = relative_error(analytic, numeric)
    if not error < tol:
        analytic = np.asarray(analytic)
        worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), numeric.shape)
        raise CheckFailed(
            f"d{name}: relative error {error:.1e} (must be < {tol:.0e}); at index {tuple(map(int, worst))} "
            f"the numerical gradient is {numeric[worst].item()!r}, yours is {analytic[worst].item()!r}"
        )
    return error


def not_done(error):
    """Turn the NotImplementedError of a stub into ExerciseNotDone naming the exercise and its file."""
    if _PROBLEM_STUB.match(str(error)):
        return ExerciseNotDone(str(error))
    match = _STUB.match(str(error))
    if not match:
        return None
    # An error raised in a sandboxed submission (tools/grading) says itself which file it came from.
    path = getattr(error, "remote_file", None) or _relative(
        traceback.extract_tb(error.__traceback__)[-1].filename
    )
    return ExerciseNotDone(
        _noting_stale_modules(
            f"Exercise {match['number']} is not done yet: implement {match['function']} in {path}"
        )
    )


_PACKAGE = __name__.rpartition(".")[0]  # "rnnlib", whichever folder RNNLIB chose


def _noting_stale_modules(message):
    """``message``, and if files of the package changed on disk since this kernel imported them (so what
    runs is not what the student saved), a sentence that names them and says what to do."""
    stale = sorted(
        _relative(module.__file__)
        for name, module in list(sys.modules.items())
        if (name == _PACKAGE or name.startswith(f"{_PACKAGE}.")) and _changed_on_disk(module)
    )
    if not stale:
        return message
    files, pronoun = (stale[0], "it") if len(stale) == 1 else (", ".join(stale), "them")
    # A lesson's first cell loads autoreload, which reloads a saved file before the next cell runs; so
    # this kernel has none, or a reload failed. Loading it now would not reload what changed before.
    restart = "restart the kernel to run what you saved"
    return f"{message}. {files} changed since this kernel imported {pronoun}: {restart}"


def _changed_on_disk(module):
    """Whether the module's file now compiles to code other than what the module's functions run.

    Comparing code (not times) holds whichever way the module was loaded, from source or a cached .pyc,
    and after %autoreload has put a saved file's code into the functions already imported."""
    path = getattr(module, "__file__", None)
    if not path or module.__spec__ is None:  # not imported from a file: a graded submission's stand-in
        return False
    try:
        stat = Path(path).stat()
        on_disk = _compiled(path, (stat.st_mtime_ns, stat.st_size))
    except (OSError, SyntaxError, ValueError):
        return True  # deleted or broken since: not what the kernel runs either
    functions = _functions_of(module, path)
    return any(on_disk.get(function.__qualname__) != function.__code__ for function in functions)


@functools.lru_cache(maxsize=256)
def _compiled(path, version):
    """{qualified name: code} of the file at ``path``, compiled once per ``version`` (time and size)."""
    return dict(_code_objects(compile(Path(path).read_bytes(), path, "exec", dont_inherit=True)))


def _code_objects(code, prefix=""):
    """(qualified name, code) of every function and class body compiled in ``code``."""
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            name = prefix + const.co_name
            yield name, const
            inside = f"{name}.<locals>." if const.co_flags & inspect.CO_NEWLOCALS else f"{name}."
            yield from _code_objects(const, inside)


def _functions_of(module, path):
    """The functions and methods the module defines in its file (not ones it imports, nor those a
    decorator or dataclass generates elsewhere)."""
    members = []
    for value in vars(module).values():
        members += vars(value).values() if isinstance(value, type) else [value]
    for member in members:
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        for function in (member.fget, member.fset) if isinstance(member, property) else (member,):
            if not isinstance(function, types.FunctionType):
                continue
            function = inspect.unwrap(function)  # a contextmanager's or functools.wraps' function
            if (
                isinstance(function, types.FunctionType)
                and function.__code__.co_filename == path
                and "<" not in function.__qualname__
            ):
                yield function


def describe(error):
    """``ValueError: ... (rnnlib/x.py, line 12)``: the exception and the last line of project code."""
    where = getattr(error, "remote_where", None)  # raised in a sandboxed submission, as in not_done
    if where is None:
        frames = [f for f in traceback.extract_tb(error.__traceback__) if _inside_project(f.filename)]
        where = f" ({_relative(frames[-1].filename)}, line {frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def _inside_project(filename):
    """Whether a traceback frame is the student's code: a file of the course, not a library installed
    in the course's environment (.venv/ sits under the course root) and not the checks themselves."""
    relative = _relative(filename)
    installed = {".venv", "venv", "site-packages"} & set(Path(relative).parts)
    checks = Path(filename).name in _CHECK_FILES or Path(filename).parent.name == "lesson_checks"
    return relative != filename and not installed and not checks


# The course's own files, never the place to blame, beside the modules of lesson_checks/ (onehot.py: a
# OneHot that the student's line used).
_CHECK_FILES = {"checks.py", "problem_checks.py", "onehot.py"}


def _relative(filename):
    """``rnnlib/x.py`` for a file of the project, the name unchanged for anything else."""
    try:
        return str(Path(filename).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return filename


def _preview(value, limit=160):
    """A short one-line picture of a value: a message is one line, so a matrix's rows are run together.
    Arrays of up to 32 entries are shown whole, so that the one entry that differs is not left out."""
    text = np.array2string(value, threshold=32) if isinstance(value, np.ndarray) else repr(value)
    text = " ".join(text.split()) if isinstance(value, np.ndarray) else text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short_error(shell, etype, value, tb, tb_offset=None):
    """IPython handler: check errors and stubs show as one line; other errors as usual."""
    unfinished = not_done(value.with_traceback(tb)) if issubclass(etype, NotImplementedError) else None
    if unfinished is not None:
        value, etype = unfinished, ExerciseNotDone
    if issubclass(etype, (ExerciseNotDone, CheckFailed)):
        stb = [f"{etype.__name__}: {value}"]
    else:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    # IPython drops what a handler returns when the cell itself raised, so show it here.
    shell._showtraceback(etype, value, stb)


def _install_notebook_handler():
    # In a kernel IPython is loaded already; elsewhere (make check, the tests' many processes) importing it
    # would only cost time.
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        shell.set_custom_exc((ExerciseNotDone, CheckFailed, NotImplementedError), _short_error)


_install_notebook_handler()
