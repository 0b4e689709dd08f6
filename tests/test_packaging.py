"""The project's set-up files agree with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

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


def test_ci_runs_make_test_and_the_slow_tests():
    """`make test` leaves the tests marked slow to `make test-slow`; CI runs both, so it runs every test."""
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make test" in commands and "make test-slow" in commands
    makefile = (ROOT / "Makefile").read_text()
    assert '-m "not slow" $(NBVAL) notebooks tests' in makefile and "-m slow tests" in makefile


@pytest.mark.slow
def test_a_built_wheel_carries_its_data_and_notebooks_and_reports_from_any_folder(tmp_path):
    """`pip install .` then `kpi report` from any folder builds the sample pack (no checkout needed)."""
    import os
    import subprocess
    import sys
    import zipfile

    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w",
                            str(tmp_path / "dist")], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("kpilib-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"kpilib/sample_data/subscriptions.csv", "kpilib/notebooks/00_overview.ipynb",
            "kpilib/docs/metrics.md", "kpilib/templates/kpi/index.html.j2", "kpilib/py.typed"} <= names
    target, work = tmp_path / "site", tmp_path / "anywhere"
    work.mkdir()
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                                str(target), str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"} | {"PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import kpilib, kpilib.paths as p; print(kpilib.__file__); "
                            "print(p.NOTEBOOKS_DIR); print(p.SAMPLE_DATA_DIR)"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert all(line.startswith(str(target)) for line in where.stdout.split()), where.stdout  # not the checkout
    done = subprocess.run([sys.executable, "-m", "kpilib.cli", "report", "--notebooks", "00_overview",
                           "--no-progress"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    pack = work / "reports" / "2025-12"
    assert (pack / "00_overview.html").exists() and (pack / "glossary.html").exists()
    import json

    assert json.loads((pack / "kpis.json").read_text())["data_source"] == "the bundled sample company"


def test_kpi_notebooks_copies_the_notebooks_and_keeps_existing_files(tmp_path, capsys):
    from kpilib.cli import main

    assert main(["notebooks", str(tmp_path / "nbs")]) == 0
    assert sorted(p.name for p in (tmp_path / "nbs").iterdir())[0] == "00_overview.ipynb"
    (tmp_path / "nbs" / "00_overview.ipynb").write_text("mine")
    assert main(["notebooks", str(tmp_path / "nbs")]) == 6
    assert (tmp_path / "nbs" / "00_overview.ipynb").read_text() == "mine"
    assert "nothing was copied" in capsys.readouterr().err
    assert main(["notebooks", str(tmp_path / "nbs"), "--force"]) == 0
