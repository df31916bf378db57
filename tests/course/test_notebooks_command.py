"""`make notebooks` (tools/notebooks.py): executes the lessons with the reference, never over changes.

Most tests run the command on tiny notebooks in a temporary repository with the executor replaced by a
fake (executing the real lessons takes half an hour); one executes two tiny notebooks in a real kernel.
"""

import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import types

import nbformat
import pytest

from rnnlib import PROJECT_ROOT
from tools import notebooks as tool

LESSONS = ("notebooks/00_a.ipynb", "notebooks/01_b.ipynb", "solutions/exercises/01_p.ipynb")


def notebook(*sources):
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells)) + "\n"


def make_course(root, **sources):
    """A repository with LESSONS (each one cell), recorded as make notebooks last wrote them."""
    (root / "tools").mkdir()
    for path in LESSONS:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(notebook(sources.get(path, "x = 1")))
    with contextlib.redirect_stdout(io.StringIO()):
        assert tool.main(["--record", "--root", str(root)]) == 0
    return root


@pytest.fixture
def executed(monkeypatch):
    """The paths the command executes, in order; a fake execution adds one output to the first cell."""
    calls = []

    def fake_execute(root, path):
        calls.append(path)
        nb = nbformat.read(root / path, as_version=4)
        nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="ran with the reference\n")]
        return nbformat.writes(nb) + "\n"

    monkeypatch.setattr(tool, "execute", fake_execute)
    return calls


def files_of(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run(root, *args, capsys):
    code = tool.main([*args, "--root", str(root)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_unchanged_notebooks_are_executed_and_recorded(tmp_path, executed, capsys):
    root = make_course(tmp_path)
    code, out = run(root, capsys=capsys)
    assert code == 0, out
    assert executed == sorted(LESSONS)
    record = json.loads((root / tool.RECORD).read_text())
    for path in LESSONS:
        assert "ran with the reference" in (root / path).read_text()
        assert record[path] == tool.generate.digest((root / path).read_bytes()), "the record follows"
        assert f"executing {path} ... done in " in out
    assert run(root, capsys=capsys)[0] == 0, "what the command wrote counts as unchanged"


def test_a_changed_notebook_is_refused_and_nothing_is_written(tmp_path, executed, capsys):
    root = make_course(tmp_path)
    (root / "notebooks" / "01_b.ipynb").write_text(notebook("x = 1", "my note = 2"))
    (root / "notebooks" / "00_a-Copy1.ipynb").write_text(notebook("a copy of my own"))
    before = files_of(root)
    code, out = run(root, capsys=capsys)
    assert code == 1
    assert out.splitlines() == [
        "refused: notebooks/00_a-Copy1.ipynb was never executed by make notebooks (a notebook of your own?)",
        "refused: notebooks/01_b.ipynb holds changes made since make notebooks last executed it",
        "Nothing was executed: executing a notebook replaces its outputs and saves it. To execute these "
        "anyway (each is first copied under backups/), run",
        "  make notebooks FORCE=1 FILES='notebooks/00_a-Copy1.ipynb notebooks/01_b.ipynb'",
    ]
    assert executed == [] and files_of(root) == before

    code, out = run(root, "notebooks/00_a.ipynb", "notebooks/01_b.ipynb", capsys=capsys)  # named, still held
    assert code == 1 and "FORCE=1 FILES='notebooks/01_b.ipynb'\n" in out
    assert executed == [] and files_of(root) == before


def test_force_backs_up_a_changed_notebook_then_executes_it(tmp_path, executed, capsys, monkeypatch):
    monkeypatch.setattr(
        tool.generate, "time", types.SimpleNamespace(strftime=lambda format: "20260101-120000")
    )
    root = make_course(tmp_path)
    mine = notebook("x = 1", "my note = 2")
    (root / "notebooks" / "01_b.ipynb").write_text(mine)
    untouched = (root / "notebooks" / "00_a.ipynb").read_bytes()
    code, out = run(root, "--force", "notebooks/01_b.ipynb", capsys=capsys)
    assert code == 0, out
    assert out.startswith("saved the notebooks as they were under backups/20260101-120000/\n")
    assert (root / "backups" / "20260101-120000" / "notebooks" / "01_b.ipynb").read_text() == mine
    assert executed == ["notebooks/01_b.ipynb"], "FILES selects what is executed"
    assert "ran with the reference" in (root / "notebooks" / "01_b.ipynb").read_text()
    assert (root / "notebooks" / "00_a.ipynb").read_bytes() == untouched
    assert run(root, capsys=capsys)[0] == 0, "after FORCE, the notebook counts as unchanged again"


def test_ctrl_c_leaves_the_notebook_being_executed_as_it_was(tmp_path, executed, capsys, monkeypatch):
    root = make_course(tmp_path)
    before = (root / "notebooks" / "01_b.ipynb").read_bytes()
    fake = tool.execute

    def interrupted_at_the_second(root, path):
        if executed:
            raise KeyboardInterrupt
        return fake(root, path)

    monkeypatch.setattr(tool, "execute", interrupted_at_the_second)
    code, out = run(root, capsys=capsys)
    assert code == 130 and out.endswith("interrupted: notebooks/01_b.ipynb was left as it was\n")
    assert (root / "notebooks" / "01_b.ipynb").read_bytes() == before
    assert executed == ["notebooks/00_a.ipynb"]
    assert tool.holding_changes(root, LESSONS) == {}, "the first one was recorded as executed"


def test_only_lessons_and_solved_problem_sets_can_be_named(tmp_path, executed, capsys):
    root = make_course(tmp_path)
    (root / "exercises").mkdir()
    (root / "exercises" / "01_p.ipynb").write_text(notebook("a student's answer"))
    with pytest.raises(SystemExit) as stopped:
        tool.main(["notebooks/00_a.ipynb", "exercises/01_p.ipynb", "00_a.ipynb", "--root", str(root)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "error: exercises/01_p.ipynb is not a notebook in notebooks/ or solutions/exercises/" in err
    assert "error: 00_a.ipynb is not a notebook in notebooks/ or solutions/exercises/ (name it" in err
    assert executed == []


def test_record_takes_the_notebooks_as_they_are(tmp_path, executed, capsys):
    root = make_course(tmp_path)
    (root / "notebooks" / "01_b.ipynb").write_text(notebook("executed another way"))
    assert run(root, "--record", "notebooks/01_b.ipynb", capsys=capsys) == (
        0,
        "recorded: notebooks/01_b.ipynb\n",
    )
    assert executed == []
    assert run(root, capsys=capsys)[0] == 0 and executed == sorted(LESSONS)


def test_a_notebook_is_executed_with_the_reference_in_its_folder_and_left_as_it_was_on_an_error(
    tmp_path, capsys
):
    """The real executor, on two one-line notebooks: one runs, the other stops on an error."""
    root = make_course(
        tmp_path,
        **{
            "notebooks/00_a.ipynb": "import os\nprint(os.environ['RNNLIB'], os.path.basename(os.getcwd()))",
            "notebooks/01_b.ipynb": "1 / 0",
        },
    )
    failing = (root / "notebooks" / "01_b.ipynb").read_bytes()
    record = (root / tool.RECORD).read_text()
    code, out = run(root, "notebooks/00_a.ipynb", "notebooks/01_b.ipynb", capsys=capsys)
    assert code == 1
    assert out.endswith(
        "error: notebooks/01_b.ipynb: cell 1 raised ZeroDivisionError: division by zero; the notebook "
        "was left as it was\n"
    )
    [cell] = nbformat.read(root / "notebooks" / "00_a.ipynb", as_version=4).cells
    assert [o.text for o in cell.outputs] == ["reference notebooks\n"] and cell.execution_count == 1
    assert (root / "notebooks" / "01_b.ipynb").read_bytes() == failing
    after = json.loads((root / tool.RECORD).read_text())
    assert after["notebooks/01_b.ipynb"] == json.loads(record)["notebooks/01_b.ipynb"]
    assert after["notebooks/00_a.ipynb"] == tool.generate.digest((root / "notebooks/00_a.ipynb").read_bytes())


@pytest.mark.skipif(shutil.which("make") is None, reason="the course's commands need make")
def test_make_notebooks_runs_the_tool_with_the_courses_python():
    done = subprocess.run(
        [
            "make",
            "--dry-run",
            "--silent",
            "notebooks",
            "FORCE=1",
            "FILES=notebooks/a.ipynb notebooks/b.ipynb",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert shlex.split(done.stdout.splitlines()[-1]) == [
        ".venv/bin/python",
        "tools/notebooks.py",
        "--force",
        "notebooks/a.ipynb",
        "notebooks/b.ipynb",
    ]


@pytest.mark.skipif(not os.environ.get("CI"), reason="outside CI, the lessons may hold your notes")
def test_the_committed_record_matches_the_committed_notebooks():
    """So that a clean clone counts as unchanged: whoever commits notebooks executed another way records
    them (.venv/bin/python tools/notebooks.py --record)."""
    record = tool.read_record(PROJECT_ROOT)
    assert sorted(record) == tool.default_selection(PROJECT_ROOT)
    stale = [
        path
        for path, sha in record.items()
        if tool.generate.digest((PROJECT_ROOT / path).read_bytes()) != sha
    ]
    assert not stale, f"tools/notebooks.json does not match {stale}: run tools/notebooks.py --record"
