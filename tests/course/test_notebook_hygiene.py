"""Committed notebooks: executed with the reference, clean outputs, and math that MathJax renders."""

import ast
import re

import nbformat
import pytest

from rnnlib import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb")) + sorted(
    (PROJECT_ROOT / "solutions" / "exercises").glob("*.ipynb")
)
MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)
MACRO = re.compile(r"\\([A-Za-z]+)")
# Commands that JupyterLab's MathJax (TeX input with its default packages) defines. A macro missing
# here may still be fine: check that MathJax knows it before adding it; never add a personal
# shorthand such as \R (write \mathbb{R}).
MATHJAX = set(
    """
    alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi rho
    sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega
    ell partial nabla infty approx sim simeq equiv propto ne neq le leq ge geq ll gg in notin subset
    subseteq cup cap setminus mid times cdot cdots ldots dots vdots ddots pm mp div circ odot oplus otimes
    ast star to mapsto rightarrow leftarrow Rightarrow Leftarrow Leftrightarrow implies iff uparrow
    downarrow forall exists neg land lor quad qquad sum prod int lim max min arg argmax argmin sup inf
    exp log ln sin cos tan tanh sinh cosh det dim ker operatorname frac dfrac tfrac sqrt binom hat bar
    tilde vec dot ddot overline underline widehat widetilde overbrace underbrace mathbb mathbf mathcal
    mathrm mathit mathsf mathtt boldsymbol text textbf textit textrm left right big Big bigg Bigg bigl
    bigr Bigl Bigr lfloor rfloor lceil rceil langle rangle lVert rVert lvert rvert Vert vert top intercal
    displaystyle textstyle scriptstyle begin end color colorbox boxed underset overset stackrel limits
    nolimits not prime emptyset varnothing mathop mathord hline cline tag label nonumber phantom
    hphantom vphantom hspace kern mkern quad enspace
    """.split()
)


def _markdown(path):
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_math_uses_only_macros_mathjax_defines(path):
    unknown = set()
    for source in _markdown(path):
        for display, inline in MATH.findall(source):
            unknown |= set(MACRO.findall(display or inline)) - MATHJAX
    assert not unknown, f"{path.name}: MathJax does not define " + ", ".join(sorted(unknown))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_control_characters_in_the_text(path):
    # "\text" typed into a Python string becomes a tab and "ext": MathJax then shows "ext", no error.
    for number, cell in enumerate(nbformat.read(path, as_version=4).cells, start=1):
        found = sorted({repr(c) for c in cell.source if c < " " and c != "\n"})
        assert not found, f"{path.name}, cell {number}: control characters {', '.join(found)} in the source"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_executed_in_order_without_errors_or_machine_paths(path):
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code]
    assert None not in counts, f"{path.name}: {counts.count(None)} code cells were committed unexecuted"
    assert counts == sorted(counts), f"{path.name}: cells were executed out of order"
    for cell in code:
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name}: committed with an error:\n{cell.source}"
            text = str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
            assert str(PROJECT_ROOT) not in text, f"{path.name}: an output shows this machine's path"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_kernel_is_the_environment_python(path):
    assert nbformat.read(path, as_version=4).metadata.kernelspec.name == "python3"


LESSONS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# At most this many characters in a line of code: JupyterLab at 1280 px with the file browser open
# shows about 100 without a horizontal scroll bar.
CODE_LINE = 100


STUDENT_COPIES = sorted((PROJECT_ROOT / "exercises").glob("*.ipynb"))


@pytest.mark.parametrize(
    "path", NOTEBOOKS + STUDENT_COPIES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.name}"
)
def test_code_lines_fit_the_window(path):
    long = [
        f"cell {number}: {len(line)} characters: {line.strip()[:60]}"
        for number, cell in enumerate(nbformat.read(path, as_version=4).cells, start=1)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > CODE_LINE
    ]
    assert not long, f"{path.name}: lines of code longer than {CODE_LINE} characters:\n" + "\n".join(long)


AUTORELOAD = ("%load_ext autoreload", "%autoreload 2")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_edits_to_rnnlib_take_effect_without_a_restart(path):
    """A lesson that imports rnnlib loads IPython's autoreload first, so that a function saved in
    rnnlib/ is the one the next cell runs."""
    code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    if not any(re.search(r"^\s*(import|from) rnnlib\b", source, re.M) for source in code):
        pytest.skip(f"{path.name} does not import rnnlib")
    first = [line for line in code[0].splitlines() if line.strip() and not line.startswith("#")]
    assert tuple(first[:2]) == AUTORELOAD, f"{path.name}: its first code cell must start with {AUTORELOAD}"


def _solution_lines():
    """{line: {exercise numbers}}: each line of code (16 characters or more) between BEGIN and END
    SOLUTION in solutions/rnnlib, with the exercise whose function holds it."""
    found = {}
    for module in sorted((PROJECT_ROOT / "solutions" / "rnnlib").glob("*.py")):
        source = module.read_text()
        exercises = [
            (node.lineno, node.end_lineno, match[1])
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef)
            and (match := re.match(r"Exercise (\d+\.\d+)", ast.get_docstring(node) or ""))
        ]
        inside = False
        for number, line in enumerate(source.splitlines(), start=1):
            inside = (inside or "### BEGIN SOLUTION" in line) and "### END SOLUTION" not in line
            code = _code(line)
            holders = [exercise for first, last, exercise in exercises if first <= number <= last]
            if inside and holders and len(code) >= 16 and not code.endswith(":"):
                found.setdefault(code, set()).add(holders[-1])
    return found


def _code(line):
    """A line of code without its comment and indentation (a "#" inside a string is kept)."""
    code, _, comment = line.partition("  #")
    return (code if comment and code.count('"') % 2 == 0 else line).strip()


def _shown(cell):
    """The lines of code a cell shows: a code cell's, a Markdown cell's code blocks and `code`."""
    if cell.cell_type == "code":
        return cell.source.splitlines()
    blocks = re.findall(r"```[a-z]*\n(.*?)```", cell.source, re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", cell.source, flags=re.S))
    # A bare call such as `sgd_step(params, grads, lr)` names the function to write, not its body.
    return [line for block in blocks for line in block.splitlines()] + [
        span for span in spans if not re.fullmatch(r"[\w.]+\([\w, =.*]*\)", span)
    ]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_no_lesson_shows_the_code_of_an_exercise_before_its_check(path):
    """The lessons derive the mathematics; the code is the student's. No line of an exercise's solution
    appears in a lesson before the check cell of that exercise (after it, it may be discussed)."""
    solutions = _solution_lines()
    assert solutions, "no solution region found in solutions/rnnlib"
    lesson = int(path.name[:2])
    checked = set()
    shown = []
    for number, cell in enumerate(nbformat.read(path, as_version=4).cells, start=1):
        checked |= set(re.findall(r'check_exercise\("(\d+\.\d+)"\)', cell.source))
        for line in map(_code, _shown(cell)):
            for exercise in solutions.get(line, ()):
                if int(exercise.split(".")[0]) >= lesson and exercise not in checked:
                    shown.append(f"cell {number}: Exercise {exercise}'s line {line}")
    assert not shown, f"{path.name} shows the answer before the student has tried:\n" + "\n".join(shown)


def test_no_committed_output_names_a_widget_that_a_reopened_notebook_cannot_find():
    """Widgets live in their kernel; a saved widget output shows "Error displaying widget: model not
    found" once it is gone. Lesson 11's panel is committed as its still (HTML)."""
    found = []
    for path in NOTEBOOKS:
        for number, cell in enumerate(nbformat.read(path, as_version=4).cells, start=1):
            for output in cell.get("outputs", []):
                if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                    found.append(f"{path.name}, cell {number}")
    assert not found, "widget outputs committed: " + ", ".join(found)
    panel = [
        output["data"]
        for cell in nbformat.read(PROJECT_ROOT / "notebooks" / "11_sampling.ipynb", as_version=4).cells
        if cell.cell_type == "code" and cell.source.startswith("panel = sampling_panel(")
        for output in cell.outputs
    ]
    assert len(panel) == 1 and "Run the cell to use the panel." in panel[0]["text/html"], panel


def _lesson_11_model_cell():
    cells = nbformat.read(PROJECT_ROOT / "notebooks" / "11_sampling.ipynb", as_version=4).cells
    (source,) = [c.source for c in cells if c.cell_type == "code" and "LESSON_10 = Config(" in c.source]
    return source


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({}, "lesson 10's GRU from checkpoints/tinyshakespeare_gru.npz: H = 256, 2800 steps of adam"),
        ({"eval_every": 100, "sample_every": 0}, "lesson 10's GRU from checkpoints/"),
        (
            {"hidden_size": 128, "steps": 500},
            "No finished checkpoint of lesson 10 to load: it holds another run than lesson 10's: "
            "hidden_size 128 (lesson 10: 256), steps 500 (lesson 10: 2800).\nTraining a small GRU here",
        ),
        ({"corpus": "shakespeare.txt"}, "corpus 'shakespeare.txt' (lesson 10: 'tinyshakespeare').\nTraining"),
    ],
)
def test_lesson_11_adopts_only_a_finished_run_of_lesson_10(changes, said, capsys):
    """Section 1 of lesson 11, run on a checkpoint whose run differs from lesson 10's in `changes`
    (loading, training and measuring stubbed): it says what it found and trains its own instead."""
    import dataclasses
    import types

    import numpy as np

    import rnnlib
    from rnnlib import checkpoint, gru
    from rnnlib.config import Config
    from rnnlib.data import Vocabulary

    config = dataclasses.replace(Config(steps=2800), **changes)
    saved = types.SimpleNamespace(config=config, params={}, state=types.SimpleNamespace(step=config.steps))
    namespace = {
        "PROJECT_ROOT": PROJECT_ROOT,
        "data": types.SimpleNamespace(
            load_corpus=lambda name: "to be, or not to be\n" * 500, Vocabulary=Vocabulary
        ),
        "checkpoint": types.SimpleNamespace(
            load=lambda *a, **k: saved, CheckpointError=checkpoint.CheckpointError
        ),
        "train": lambda *a, **k: {"seconds": 0.0},
        "measure": lambda *a, **k: {"loss": 1.0},
        **{"Config": Config, "dataclasses": dataclasses, "gru": gru, "np": np, "rnnlib": rnnlib},
    }
    exec(_lesson_11_model_cell(), namespace)
    printed = capsys.readouterr().out
    assert said in printed, printed
    assert (namespace["config"] == config) == ("Training" not in said)
