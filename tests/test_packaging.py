"""The install path the README gives (requirements files) pins what pyproject.toml declares."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins(path: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("-r")}


def test_requirements_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pins(ROOT / "requirements.txt") == set(project["dependencies"])
    assert pins(ROOT / "requirements-dev.txt") == set(project["optional-dependencies"]["dev"])
    assert all("==" in p for p in project["dependencies"] + project["optional-dependencies"]["dev"])
    assert pins(ROOT / "requirements-ray.txt") == set(project["optional-dependencies"]["ray"])
    assert "-r requirements-ray.txt" in (ROOT / "requirements-dev.txt").read_text()  # CI runs the Ray tests


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in (ROOT / "README.md").read_text()
