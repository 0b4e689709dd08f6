"""Paths resolved from the package, never from the working directory.

papermill runs kernels in the caller's folder and nbval in the notebook's, so every path the kit
uses is anchored here. In a checkout (or an editable install) the sample data, notebooks and docs
are the project's own folders; in an installed wheel they are package resources
(``kpilib/sample_data``, ``kpilib/notebooks``, ``kpilib/docs``), and reports default to
``./reports`` of the current folder instead of a folder inside site-packages.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
IN_CHECKOUT = (PROJECT_DIR / "pyproject.toml").is_file() and (PROJECT_DIR / "notebooks").is_dir()


def _resource(checkout: Path, installed: str) -> Path:
    return checkout if IN_CHECKOUT else PACKAGE_DIR / installed


SAMPLE_DATA_DIR = _resource(PROJECT_DIR / "data" / "sample", "sample_data")
NOTEBOOKS_DIR = _resource(PROJECT_DIR / "notebooks", "notebooks")
DOCS_DIR = _resource(PROJECT_DIR / "docs", "docs")
TEMPLATES_DIR = PACKAGE_DIR / "templates"


def default_reports_dir() -> Path:
    """Where packs go without ``--out``: the project's reports/ in a checkout, else ./reports."""
    return PROJECT_DIR / "reports" if IN_CHECKOUT else Path.cwd() / "reports"


REPORTS_DIR = PROJECT_DIR / "reports"  # the checkout's folder (kept for the tests and make report)
