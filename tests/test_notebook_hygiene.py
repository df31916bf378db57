"""Committed notebooks: executed with the reference, clean outputs, and math that MathJax renders."""

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


@pytest.mark.parametrize(
    "lesson, module",
    [("03_rnn_forward", "rnn"), ("04_rnn_bptt", "rnn"), ("07_gru_forward", "gru"), ("08_gru_bptt", "gru")],
)
def test_lessons_quote_each_equation_as_a_line_of_their_module(lesson, module):
    """Lessons 03-04 and 07-08 show each equation as the line of rnnlib that computes it, with the same
    names; a change to one must be made in the other."""
    source = (PROJECT_ROOT / "solutions" / "rnnlib" / f"{module}.py").read_text()
    lines = {line.strip() for line in source.splitlines()}
    quoted = [
        line.strip()
        for cell in _markdown(PROJECT_ROOT / "notebooks" / f"{lesson}.ipynb")
        for block in re.findall(r"```python\n(.*?)```", cell, re.S)
        for line in block.splitlines()
    ]
    assert quoted, f"{lesson} quotes no code"
    missing = [line for line in quoted if line not in lines]
    assert not missing, f"{lesson} quotes lines that solutions/rnnlib/{module}.py does not have: {missing}"
