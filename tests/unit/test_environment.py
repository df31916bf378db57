"""pyproject.toml (pip, uv) and environment.yml (conda, Binder) must install the same packages."""

import re
import sys

import yaml

from rnnlib import PROJECT_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def _requirement(text):
    """'numpy>=1.26; python_version < "3.11"' -> ('numpy', '>=1.26'), ignoring the marker."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*([^;]*?)\s*(;.*)?", text)
    return match[1].lower().replace("_", "-"), match[2].replace(" ", "")


def _pyproject():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    return project, dict(_requirement(r) for r in wanted)


def _conda():
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return dict(_requirement(d) for d in conda), pip


def test_environment_yml_lists_the_same_packages_as_pyproject():
    _, pyproject = _pyproject()
    conda, _ = _conda()
    conda.pop("pip")
    conda.pop("python")
    assert conda == pyproject


def test_environment_yml_asks_for_the_same_python_and_installs_the_package():
    project, _ = _pyproject()
    conda, pip = _conda()
    assert conda["python"] == project["requires-python"]
    assert pip == ["-e ."]


def test_torch_stays_out_of_the_student_environment_and_pinned_in_its_extra():
    _, pyproject = _pyproject()
    conda, _ = _conda()
    torch = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "torch" not in pyproject and "torch" not in conda
    assert torch["torch"] == ["torch==2.13.0"]


def _binder():
    env = yaml.safe_load((PROJECT_ROOT / ".binder" / "environment.yml").read_text())
    return dict(_requirement(d) for d in env["dependencies"] if isinstance(d, str)), env["dependencies"]


def test_binder_installs_the_packages_of_environment_yml_with_an_exact_python_and_the_package_last():
    binder, dependencies = _binder()
    conda, _ = _conda()
    assert all(isinstance(d, str) for d in dependencies), "pip -e . belongs in .binder/postBuild"
    python = binder.pop("python")
    conda.pop("python")
    assert binder == conda
    minimum = tuple(int(n) for n in _pyproject()[0]["requires-python"].removeprefix(">=").split("."))
    exact = tuple(int(n) for n in python.removeprefix("=").split("."))
    assert python.startswith("=") and exact >= minimum, f"binder needs an exact python=X.Y, got {python!r}"
    post_build = PROJECT_ROOT / ".binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, ".binder/postBuild must be executable"
    assert "pip install --no-deps -e ." in post_build.read_text()
