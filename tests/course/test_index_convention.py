"""The course's one time-index convention, kept honest in the lessons, problem sets and docstrings.

Steps count t = 1..T as in the formulas and arrays count from 0, with H_0 = h0: X[:, t-1] is X_t and
Hs[:, t-1] is H_t (lesson 00). Inside a loop `for t in range(T)` the index counts from 0, so there
X[:, t] is X_{t+1}. The contradicting form, `X[:, t]` or `Hs[:, t]` said to be $X_t$ or $H_t$ (the
state after step t), is what this test rejects, in any Markdown cell and any docstring of
solutions/rnnlib.
"""

import ast
import json
import re

import pytest

from rnnlib import PROJECT_ROOT

ROOT = PROJECT_ROOT
NOTEBOOKS = [
    *sorted((ROOT / "notebooks").glob("*.ipynb")),
    *sorted((ROOT / "solutions" / "exercises").glob("*.ipynb")),
]
MODULES = [
    *sorted((ROOT / "solutions" / "rnnlib").glob("*.py")),
    *sorted((ROOT / "course" / "rnnlib").rglob("*.py")),
]

ARRAY = r"(?:X|Hs|Z|P|A_x|targets|inputs|dHs|Delta|dA_x|dA_h|Rs|Zs|Ns|Hprev)"
SAME_T = r"[A-Za-z](?:_t|_\{t\})"  # a symbol with subscript exactly t: H_t, X_{t}, not H_{t+1}
CONTRADICTIONS = [
    # prose: "`Hs[:, t]` is $H_t$", "`X[:, t]` is $X_t$", "`Hs[:, t]` is the state $H_t$"
    re.compile(rf"`{ARRAY}\[:, t\]`\s+is\s+(?:the\s+\w+\s+)?\$\\?\w*{SAME_T}\$"),
    # tables: a row whose symbol has subscript t and whose code column indexes [:, t]
    re.compile(rf"^\|[^|\n]*\${SAME_T}\$[^|\n]*\|[^|\n]*`[^`|\n]*{ARRAY}\[:, t\]`", re.MULTILINE),
    # docstrings and prose: "Hs[:, t] the state after step t", "Hs[:, t] is the state after step t"
    re.compile(
        rf"{ARRAY}\[:, t\]`?,?\s+(?:is\s+)?the\s+(?:state|input)s?\s+(?:H_t\s+)?"
        r"after\s+step\s+\$?t\$?(?![+\w])"
    ),
]


def contradictions(text):
    """Every passage of text that states the contradicting convention."""
    return [match.group(0) for pattern in CONTRADICTIONS for match in pattern.finditer(text)]


def markdown_cells():
    for path in NOTEBOOKS:
        for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] == "markdown":
                yield f"{path.relative_to(ROOT)} cell {index}", "".join(cell["source"])


def docstrings():
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in [tree, *ast.walk(tree)]:
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)):
                doc = ast.get_docstring(node)
                if doc:
                    yield f"{path.relative_to(ROOT)} {getattr(node, 'name', 'module')}", doc


@pytest.mark.parametrize(
    "text",
    [
        "and `X[:, t]` is $X_t$.",
        "`Hs[:, t]` is $H_t$ with $H_0$ = `h0`",
        "| $X_t$ | `X[:, t]` | $B\\times m$ | the inputs |",
        "| $H_t$ | `h`, `Hs[:, t]` | $B\\times H$ | the states |",
        "Returns Hs (B, T, H), where Hs[:, t] is the state after step t (Hs[:, -1] starts the next one)",
        "with `Hs[:, t]` the state after step $t$, and",
    ],
)
def test_the_contradicting_form_is_detected(text):
    assert contradictions(text), f"the detector misses {text!r}"


@pytest.mark.parametrize(
    "text",
    [
        "`X[:, t-1]` is $X_t$, `Hs[:, t-1]` is $H_t$ and `Hs[:, -1]` is $H_T$",
        "Python counts from 0, so in the loop `X[:, t]` is $X_{t+1}$ and `Hs[:, t]` is $H_{t+1}$.",
        "| $X_t$ | `X[:, t-1]` | $B\\times m$ | the inputs |",
        "Returns Hs (B, T, H), where Hs[:, t-1] is H_t, the state after step t",
        "dHs[:, t] is the gradient reaching Hs[:, t] from the output layer",
    ],
)
def test_the_course_convention_is_not_flagged(text):
    assert not contradictions(text)


def test_lessons_and_problem_sets_use_one_index_convention():
    found = [f"{where}: {passage!r}" for where, text in markdown_cells() for passage in contradictions(text)]
    message = "X[:, t-1] is X_t and Hs[:, t-1] is H_t (lesson 00); contradicted in:\n"
    assert not found, message + "\n".join(found)


def test_docstrings_use_one_index_convention():
    found = [f"{where}: {passage!r}" for where, text in docstrings() for passage in contradictions(text)]
    assert not found, "Hs[:, t-1] is H_t (lesson 00); contradicted in:\n" + "\n".join(found)


def test_lesson_00_states_the_convention():
    cells = dict(markdown_cells())
    text = "\n".join(v for k, v in cells.items() if k.startswith("notebooks/00_"))
    for statement in ("`X[:, t-1]` is\n$X_t$", "`Hs[:, t-1]` is $H_t$", "$H_0$"):
        assert statement.replace("\n", " ") in text.replace("\n", " "), (
            f"lesson 00 should state {statement!r}"
        )


def test_the_modules_state_the_convention():
    source = (ROOT / "solutions" / "rnnlib" / "rnn.py").read_text(encoding="utf-8")
    rnn_doc = ast.get_docstring(ast.parse(source))
    assert "Hs[:, t-1] is H_t" in rnn_doc.replace("\n", " ")
