"""docs/architecture.md is drawn from the code (tools/architecture.py) and stays what the code gives."""

from tools import architecture


def test_the_architecture_page_is_what_the_code_gives(capsys):
    assert architecture.main(["--check"]) == 0, capsys.readouterr().out


def test_a_stale_page_is_named(tmp_path, monkeypatch, capsys):
    page = tmp_path / "docs" / "architecture.md"
    page.parent.mkdir()
    page.write_text(architecture.render().replace("planted bugs", "bugs"), encoding="utf-8")
    monkeypatch.setattr(architecture, "PAGE", page)
    assert architecture.main(["--check"]) == 1
    assert "docs/architecture.md is out of date: run python tools/architecture.py" in capsys.readouterr().out


def test_every_exercise_has_a_check_and_planted_bugs():
    page = architecture.render()
    rows = [line for line in page.splitlines() if line.startswith("| ") and "| `rnnlib/" in line]
    assert len(rows) == len(architecture.exercises()) >= 32
    assert not [row for row in rows if "**none**" in row or row.endswith("| 0 |")], "an exercise unchecked"


def test_each_lesson_has_a_module_of_checks_that_names_its_notebook():
    lessons = architecture.lessons()
    for path in architecture.lesson_check_files():
        numbers = [number for number, _ in architecture.registered(path, "exercise")]
        if path.name in ("__init__.py", "shared.py"):
            assert not numbers, f"{path.name} registers checks: they belong to their lesson's module"
            continue
        lesson = int(path.stem.removeprefix("lesson"))
        assert numbers and {int(n.split(".")[0]) for n in numbers} == {lesson}, f"{path.name}: {numbers}"
        assert f"notebooks/{lessons[lesson]}" in path.read_text(encoding="utf-8").split('"""')[1], path.name
