"""The reference's part in every check, recorded: what ``rnnlib.reference`` gives in the student edition.

The student edition (``make release``, tools/release.py) holds no reference. Its checks still compare with
the reference's values, because those were computed when the edition was made: tools/release.py runs every
check on the reference and on every planted bug of the mutation suite with the reference's modules
wrapped by this module, which writes down each thing a check (or the student's code inside it) asked of
the reference, in order, and what came back: a call and its result (and what it did to its arguments),
an attribute read, an operator on a reference object. A check asks the same things whatever the student's
answer, as long as the answer leads it down a path some run took: the reference's, or a planted bug's.

In the edition, ``reference(module)`` inside a check gives a stand-in that walks that record: each request
finds the recorded one equal to it (arrays within 1e-6) among those that came next, and answers as the
reference did. So a student's answer gets the same verdict and line as in the full course. A request no
run made (an answer that takes the check where neither the reference nor a planted bug did) stops the
check with a line that says so, naming the full course and the grader, which can check it.

Outside a check (a lesson's demonstration), there is nothing recorded to follow: ``reference(module)`` in
the edition is the student's own module, which by that lesson is done (each lesson stands alone).
"""

import atexit
import gzip
import os
import pickle
import types
from pathlib import Path

import numpy as np

RECORD = Path(__file__).resolve().parent.parent / "recorded.pickle.gz"  # course/recorded.pickle.gz


class NotRecorded(Exception):
    """The check asked the reference something that no recorded run asked it."""


# -- the session of one check ----------------------------------------------------------------------------
_state = {
    "mode": None,
    "record": None,
    "trace": None,
    "nodes": None,
    "node": None,
    "key": None,
    "objects": [],
    "depth": 0,
}


def mode():
    """ "live" (the full course), "record" (tools/release.py: RNNLIB_RECORD names the file this process
    writes its record to when it ends) or "replay" (the student edition, which has no reference)."""
    if _state["mode"] is None:
        from . import REFERENCE_DIR

        if os.environ.get("RNNLIB_RECORD"):
            _state.update(mode="record", record={})
            atexit.register(_write, Path(os.environ["RNNLIB_RECORD"]))
        else:
            _state["mode"] = "live" if REFERENCE_DIR.is_dir() else "replay"
    return _state["mode"]


def replaying():
    return mode() == "replay"


def _write(path):
    with open(path, "wb") as file:
        pickle.dump(_state["record"], file, protocol=pickle.HIGHEST_PROTOCOL)


def merge(records):
    """The edition's record, from the traces of many runs ({check key: [trace, ...]} each): for each check,
    a tree of its requests, the runs sharing the path they have in common. The tree is flat, a list of
    nodes, each a list of [request, response, the index of the node that follows], node 0 its root."""
    merged = {}
    for record in records:
        for key, traces in record.items():
            nodes = merged.setdefault(key, [[]])
            for trace in traces:
                _merge(nodes, trace)
    return merged


def _merge(nodes, trace):
    here = 0
    for request, response in trace:
        for child in nodes[here]:
            if _equal(child[0], request, exact=True):
                here = child[2]
                break
        else:
            nodes.append([])
            nodes[here].append([request, response, len(nodes) - 1])
            here = len(nodes) - 1


class session:
    """``with session("3.2"):`` around one check: its requests to the reference follow (or make) the record
    under that key."""

    def __init__(self, key):
        self.key = key

    def __enter__(self):
        if mode() == "replay":
            if _state["record"] is None:
                with gzip.open(RECORD, "rb") as file:
                    _state["record"] = pickle.load(file)
            if self.key not in _state["record"]:
                raise NotRecorded(f"the edition has no record of the check {self.key}")
            _state.update(nodes=_state["record"][self.key], node=0)
        elif _state["mode"] == "record":
            _state["trace"] = []
        _state.update(key=self.key, objects=[], depth=0)
        return self

    def __exit__(self, *exc):
        if _state["mode"] == "record" and _state["trace"] is not None:
            _state["record"].setdefault(self.key, []).append(_state["trace"])
        _state.update(key=None, trace=None, node=None, objects=[])


def active():
    return _state["key"] is not None


# -- requests ---------------------------------------------------------------------------------------------
def _ask(request, perform, args, kwargs):
    """The response to ``request``: recorded from ``perform()`` (live), or found in the record (edition).
    A response is ("value", value, the arguments after, the keyword arguments after) or ("raise", type
    name, message)."""
    if _state["mode"] == "replay":
        return _answer(_find(request))
    if _state["mode"] != "record" or _state["depth"] or _state["trace"] is None:
        return perform()
    _state["depth"] += 1  # what the reference does inside a request is not a request of the check's
    try:
        value = perform()
        response = ("value", _encode(value), [_encode(a) for a in args], _encode(kwargs))
    except Exception as error:
        _state["trace"].append((request, ("raise", type(error).__name__, str(error))))
        raise
    finally:
        _state["depth"] -= 1
    _state["trace"].append((request, response))
    return value


def _find(request):
    node = _state["nodes"][_state["node"]]
    for exact in (True, False):
        for child in node:
            if _equal(child[0], request, exact=exact):
                _state["node"] = child[2]
                return child
    raise NotRecorded(
        f"your answer led the check to ask the reference for {_describe(request)} in a way no recorded run "
        "did, so this edition cannot say more here; the full course's check, or your instructor's grader, "
        "can check it"
    )


def _answer(child):
    response = child[1]
    if response[0] == "raise":
        _, name, message = response
        error = {"ValueError": ValueError, "TypeError": TypeError, "KeyError": KeyError}.get(
            name, RuntimeError
        )
        raise error(message)
    _, value, new_args, new_kwargs = response
    return value, new_args, new_kwargs


def _describe(request):
    kind, target, name = request[:3]
    return f"{'.'.join(str(t) for t in target)}.{name}" if kind != "op" else f"the operator {name}"


# -- values -----------------------------------------------------------------------------------------------
def _encode(value, depth=0):
    """``value`` as recorded: data as itself, a reference object as its number in the check, a function as
    its name, code and what it closes over (so that a lambda reading other arrays is another request)."""
    if isinstance(value, Stand):
        return ("object", value._number, type(value).__name__)
    if isinstance(value, (tuple, list)):
        return type(value)(_encode(v, depth) for v in value)
    if isinstance(value, dict):
        return {k: _encode(v, depth) for k, v in value.items()}
    if isinstance(value, np.random.Generator):
        return ("generator", value.bit_generator.state)
    if isinstance(value, (types.FunctionType, types.MethodType)) and depth < 2:
        # Named by what does not change with Python's version: its name, line, the names and constants
        # it uses, and what it closes over (a lambda reading other arrays is another function).
        function = getattr(value, "__func__", value)
        cells = [c.cell_contents for c in function.__closure__ or () if _filled(c)]
        code = function.__code__
        constants = tuple(c for c in code.co_consts if isinstance(c, (int, float, str, bytes, type(None))))
        owner = _encode((getattr(value, "__self__", None), function.__defaults__), depth + 1)
        return (
            "function",
            function.__qualname__,
            code.co_firstlineno,
            code.co_names,
            constants,
            _encode(cells, depth + 1),
            owner,
        )
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, types.ModuleType):
        return ("module", value.__name__)
    if value is None or isinstance(
        value, (bool, int, float, complex, str, bytes, np.ndarray, np.generic, np.dtype)
    ):
        return value
    if isinstance(value, type):
        return ("type", value.__qualname__)
    return ("other", type(value).__qualname__)


def _filled(cell):
    try:
        return cell.cell_contents is not _EMPTY
    except ValueError:
        return False


_EMPTY = object()


def _equal(a, b, exact):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.shape != b.shape:
            return False
        if a.dtype != b.dtype:
            return False
        if exact or a.dtype.kind not in "fc":
            return np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        return bool(np.allclose(a, b, rtol=1e-6, atol=1e-12, equal_nan=True))
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_equal(x, y, exact) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k], exact) for k in a)
    if isinstance(a, float) and not exact:
        return bool(np.isclose(a, b, rtol=1e-6, atol=1e-12, equal_nan=True))
    if isinstance(a, np.generic):
        return _equal(np.asarray(a), np.asarray(b), exact)
    return a == b


def _decode(value):
    """A recorded value as the check gets it: object numbers become the stand-ins of those objects."""
    if _marked(value, "object", 3):
        objects = _state["objects"]
        while len(objects) <= value[1]:  # first seen here: its stand-in, named as the reference's type
            objects.append(_stand_class(value[2])(("object", len(objects)), None, len(objects)))
        return objects[value[1]]
    if isinstance(value, (tuple, list)):
        return type(value)(_decode(v) for v in value)
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def _marked(value, kind, length):
    """Whether ``value`` is a tuple _encode marked: ("object", n, type name) or ("generator", state)."""
    if not (isinstance(value, tuple) and len(value) == length):
        return False
    return isinstance(value[0], str) and value[0] == kind


def _apply(argument, new):
    """Make an argument what the reference made it during the recorded call (sgd_step's params)."""
    if isinstance(argument, np.ndarray) and isinstance(new, np.ndarray) and argument.shape == new.shape:
        if not np.array_equal(argument, new, equal_nan=True):
            np.copyto(argument, new, casting="unsafe")
    elif isinstance(argument, dict) and isinstance(new, dict):
        for key in [k for k in argument if k not in new]:
            del argument[key]
        for key, value in new.items():
            if key in argument and isinstance(argument[key], (np.ndarray, dict, list)):
                _apply(argument[key], value)
            else:
                argument[key] = _decode(value)
    elif isinstance(argument, list) and isinstance(new, list) and len(argument) == len(new):
        for i, value in enumerate(new):
            _apply(argument[i], value)
    elif isinstance(argument, np.random.Generator) and _marked(new, "generator", 2):
        argument.bit_generator.state = new[1]


# -- the stand-ins ----------------------------------------------------------------------------------------
def wrap(target, real):
    """The reference's ``real`` (a module, a namespace of functions) as a check sees it: recorded while
    tools/release.py records; in the edition, a stand-in with no ``real`` behind it."""
    return Stand(("module", *target), real, None)


class Stand:
    """A reference object as a check sees it: each use is a request, recorded or replayed."""

    __slots__ = ("_target", "_real", "_number", "__weakref__")

    def __init__(self, target, real, number):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_number", number)

    def _request(self, kind, name, args=(), kwargs=None, perform=None):
        kwargs = kwargs or {}
        if _state["mode"] != "replay" and (_state["mode"] != "record" or not active()):
            return _result(perform())
        request = (kind, self._target, name, [_encode(a) for a in args], _encode(kwargs))
        outcome = _ask(request, lambda: _result(perform()), args, kwargs)
        if _state["mode"] != "replay":
            return outcome
        value, new_args, new_kwargs = outcome
        for argument, new in zip(args, new_args, strict=False):
            _apply(argument, new)
        for key, new in new_kwargs.items():
            _apply(kwargs.get(key), new)
        return _decode(value)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._request("getattr", name, perform=lambda: getattr(self._real, name))

    def __call__(self, *args, **kwargs):
        return self._request(
            "call", "()", args, kwargs, perform=lambda: self._real(*_reals(args), **_reals(kwargs))
        )

    def __setattr__(self, name, value):
        self._request("setattr", name, (value,), perform=lambda: setattr(self._real, name, _reals(value)))

    def __instancecheck__(self, value):
        return self._request(
            "isinstance", "", (value,), perform=lambda: isinstance(_reals(value), self._real)
        )

    def __iter__(self):
        return iter(self._request("op", "list", (), perform=lambda: list(self._real)))

    def __repr__(self):
        return f"<the reference's {'.'.join(map(str, self._target))}>"


def _operator(name, method):
    def forward(self, *others):
        return self._request("op", name, others, perform=lambda: method(self._real, *_reals(others)))

    return forward


for _name, _method in {
    "__add__": lambda a, b: a + b,
    "__radd__": lambda a, b: b + a,
    "__sub__": lambda a, b: a - b,
    "__rsub__": lambda a, b: b - a,
    "__mul__": lambda a, b: a * b,
    "__rmul__": lambda a, b: b * a,
    "__truediv__": lambda a, b: a / b,
    "__rtruediv__": lambda a, b: b / a,
    "__matmul__": lambda a, b: a @ b,
    "__rmatmul__": lambda a, b: b @ a,
    "__pow__": lambda a, b: a**b,
    "__neg__": lambda a: -a,
    "__getitem__": lambda a, k: a[k],
    "__len__": len,
}.items():
    setattr(Stand, _name, _operator(_name, _method))
Stand.__array_ufunc__ = None  # array (op) stand-in is the stand-in's reflected operator, not NumPy's


def real(value):
    """The reference's object behind a stand-in (while recording), or ``value`` itself."""
    return value._real if isinstance(value, Stand) else value


def _reals(value):
    """The real objects behind stand-ins, for the reference to compute with (recording only). A container
    with no stand-in in it is passed as itself: the reference may change it in place (adam_step's state)."""
    if isinstance(value, Stand):
        return value._real
    if isinstance(value, (tuple, list)):
        parts = [_reals(v) for v in value]
        same = all(p is v for p, v in zip(parts, value, strict=True))
        return value if same else type(value)(parts)
    if isinstance(value, dict):
        parts = {k: _reals(v) for k, v in value.items()}
        return value if all(parts[k] is value[k] for k in value) else parts
    return value


def _result(value):
    """What a request gives the check: data as itself, a reference object (a function, a class, a Tensor)
    as a stand-in numbered in order of appearance in this check."""
    if isinstance(value, (tuple, list)):
        return type(value)(_result(v) for v in value)
    if isinstance(value, dict) and type(value) is dict:
        return {k: _result(v) for k, v in value.items()}
    if _is_data(value) or not active():
        return value
    objects = _state["objects"]
    for stand in objects:
        if stand._real is value:
            return stand
    stand = _stand_class(type(value).__name__)(("object", len(objects)), value, len(objects))
    objects.append(stand)
    return stand


def _is_data(value):
    return (
        value is None
        or isinstance(
            value,
            (bool, int, float, complex, str, bytes, np.ndarray, np.generic, np.dtype, np.random.Generator),
        )
        or (isinstance(value, type) and issubclass(value, np.generic))
    )


def _stand_class(name):
    """A Stand subclass named as the object's type: ``type(x).__name__`` in a message reads the same."""
    return _CLASSES.setdefault(name, type(name, (Stand,), {"__slots__": ()}))


_CLASSES = {}
