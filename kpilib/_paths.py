"""Paths resolved from the package, never from the working directory.

papermill runs kernels in the caller's folder and nbval in the notebook's, so
every path the kit uses is anchored here.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SAMPLE_DATA_DIR = PROJECT_DIR / "data" / "sample"
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
REPORTS_DIR = PROJECT_DIR / "reports"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
