"""The project's set-up files agree with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pip_section(text: str) -> set[str]:
    lines = text.split("- pip:", 1)[1].splitlines()
    return {m[1].strip() for line in lines if (m := re.match(r"^\s+-\s+(.+)$", line))} - {"-e ."}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    assert _pip_section((ROOT / "environment.yml").read_text()) == wanted


def test_python_versions_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
