"""Draw the course's architecture from its code: docs/architecture.md.

    python tools/architecture.py           # write docs/architecture.md
    python tools/architecture.py --check   # exit 1 if docs/architecture.md is not what the code gives

Every line of the page is read off the sources, never typed: the exercises are the functions of
solutions/rnnlib/ whose docstring starts "Exercise N.k:", the lessons are notebooks/NN_*.ipynb, the checks
are the registrations of course/rnnlib/lesson_checks/ and problem_checks.py, the planted bugs are
tools/planted_bugs.py's MUTANTS and PROBLEM_MUTANTS (proven by tests/course/test_mutations.py and
test_problem_sets.py).
tests/course/test_architecture.py keeps the page current.
"""

import ast
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE_NAME = "docs/architecture.md"
PAGE = ROOT / PAGE_NAME
REFERENCE = ROOT / "solutions" / "rnnlib"
COURSE = ROOT / "course" / "rnnlib"
EXERCISE = re.compile(r"Exercise (\d+)\.(\d+):")


def exercises():
    """{"1.2": (module file name, "Vocabulary.encode, Vocabulary.decode")} for every exercise of the
    reference, in lesson order: the functions (methods named with their class) that an exercise asks for."""
    found = defaultdict(list)
    for path in sorted(REFERENCE.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            methods = node.body if isinstance(node, ast.ClassDef) else [node]
            prefix = f"{node.name}." if isinstance(node, ast.ClassDef) else ""
            for function in methods:
                docstring = ast.get_docstring(function) if isinstance(function, ast.FunctionDef) else None
                if match := EXERCISE.match(docstring or ""):
                    found[f"{match[1]}.{match[2]}"].append((path.name, prefix + function.name))
    return {
        number: (found[number][0][0], ", ".join(f"`{name}`" for _, name in found[number]))
        for number in sorted(found, key=lambda number: tuple(map(int, number.split("."))))
    }


def lesson_check_files():
    """The files that register the lessons' checks: the modules of course/rnnlib/lesson_checks/."""
    return sorted(COURSE.glob("lesson_checks/*.py"))


def registered(path, decorator):
    """The arguments of every ``@decorator(...)`` in the file (the checks it registers); a name among them
    is a constant the module assigns (``SET_01 = "01_text_and_loss_problems"``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def value(arg):
        return constants[arg.id] if isinstance(arg, ast.Name) else ast.literal_eval(arg)

    return [
        tuple(value(arg) for arg in call.args)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        for call in node.decorator_list
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == decorator
    ]


def literal(path, name):
    """The value of the module-level assignment ``name = {...}`` in the file, read without running it."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{path} assigns no {name}")


def lessons():
    """{lesson number: notebook file name} of notebooks/NN_*.ipynb."""
    return {int(path.name[:2]): path.name for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))}


def render():
    """The page, as text."""
    solved = exercises()
    checked = {  # "5.3" -> "lesson_checks/lesson05.py", the module that holds its check
        number: path.relative_to(COURSE).as_posix()
        for path in lesson_check_files()
        for number, _ in registered(path, "exercise")
    }
    planted_bugs = ROOT / "tools" / "planted_bugs.py"
    planted = literal(planted_bugs, "MUTANTS").values()
    mutants = Counter(exercise for exercise, *_ in planted)
    problems = Counter(name for name, _ in registered(COURSE / "problem_checks.py", "problem"))
    problem_mutants = Counter(
        name for name, *_ in literal(planted_bugs, "PROBLEM_MUTANTS").values()
    )
    by_lesson = defaultdict(list)
    for number, (module, function) in solved.items():
        by_lesson[int(number.split(".")[0])].append((number, module, function))
    exercise_modules = sorted({module for module, _ in solved.values()})

    lines = [
        "# The course's architecture",
        "",
        "Drawn from the code by `tools/architecture.py` (do not edit; `tests/course/test_architecture.py`",
        "checks that it is current). A lesson introduces exercises; each is a function of",
        "`solutions/rnnlib/` that the generator turns into a stub of `rnnlib/`; each has one check, which",
        "takes its expected values from the reference; and the mutation suite plants realistic bugs in the",
        "reference, each of which that check must catch and blame on its own exercise.",
        "",
        "```mermaid",
        "flowchart LR",
    ]
    for lesson, notebook in lessons().items():
        lines.append(f'  L{lesson:02d}["{notebook.removesuffix(".ipynb")}"]')
    for module in exercise_modules:
        numbers = ", ".join(number for number, (m, _) in solved.items() if m == module)
        lines.append(f'  {module.removesuffix(".py")}["rnnlib/{module}<br/>{numbers}"]')
    edges = sorted({(lesson, module) for lesson, items in by_lesson.items() for _, module, _ in items})
    lines += [f"  L{lesson:02d} --> {module.removesuffix('.py')}" for lesson, module in edges]
    lines += [
        f'  checks["course/rnnlib/lesson_checks<br/>{len(checked)} checks"]',
        f'  mutants["tools/planted_bugs.py<br/>{sum(mutants.values())} planted bugs"]',
    ]
    lines += [f"  {module.removesuffix('.py')} --> checks" for module in exercise_modules]
    lines += ["  checks --> mutants", "```", ""]

    lines += [
        "## Lessons, exercises, checks and planted bugs",
        "",
        "| lesson | exercise | function | module | check | planted bugs |",
        "|---|---|---|---|---|---|",
    ]
    for lesson, items in sorted(by_lesson.items()):
        for number, module, function in items:
            check = f"`{checked[number]}`" if number in checked else "**none**"
            lines.append(
                f"| {lessons().get(lesson, '?')} | {number} | {function} | `rnnlib/{module}` | {check} "
                f"| {mutants[number]} |"
            )
    lines += [
        "",
        "## Problem sets",
        "",
        "| problem set | checks (`course/rnnlib/problem_checks.py`) "
        "| planted bugs (`tools/planted_bugs.py`) |",
        "|---|---|---|",
    ]
    for name in sorted(problems):
        lines.append(f"| `exercises/{name}.ipynb` | {problems[name]} | {problem_mutants[name]} |")
    lines += [
        "",
        "## The course's own modules",
        "",
        "`course/rnnlib/`: the modules of `rnnlib` in which the student writes nothing, one copy shared by",
        "the student's `rnnlib/` and the reference (`rnnlib/__init__.py` says how):",
        "",
        "| module | what it is |",
        "|---|---|",
    ]
    for path in sorted(COURSE.rglob("*.py")):
        summary = (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").split("\n")[0]
        lines.append(f"| `{path.relative_to(COURSE).as_posix()}` | " + summary.replace("|", "\\|") + " |")
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if argv == ["--check"]:
        if not PAGE.is_file() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE_NAME} is out of date: run python tools/architecture.py")
            return 1
        print(f"OK: {PAGE_NAME} is what the code gives")
        return 0
    if argv:
        print("usage: python tools/architecture.py [--check]")
        return 2
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
