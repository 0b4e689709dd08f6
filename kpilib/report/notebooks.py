"""Refresh the stored outputs of the notebooks (``make notebooks``).

Each notebook in ``notebooks/`` is executed in place with its default
parameters, then volatile metadata (papermill timings, paths, execution
timestamps) is stripped so that the stored files change only when a number,
a table or a figure does. nbval then compares fresh runs against them.
"""

from __future__ import annotations

import os
import sys

import nbformat

from ..paths import NOTEBOOKS_DIR
from .sitemap import NOTEBOOKS
from .worker import KERNEL_NAME, normalise_addresses

_VOLATILE_CELL_KEYS = ("papermill", "execution")


def strip_volatile(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove run-specific metadata from a notebook (in place) and return it."""
    nb.metadata.pop("papermill", None)
    normalise_addresses(nb)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": KERNEL_NAME}
    for cell in nb.cells:
        for key in _VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        tags = cell.metadata.get("tags")
        if tags is not None and not tags:
            cell.metadata.pop("tags")
    return nb


def refresh(names: list[str] | None = None) -> None:
    """Execute notebooks in place and strip volatile metadata."""
    import papermill as pm

    os.environ.pop("MPLBACKEND", None)
    for name in names or list(NOTEBOOKS):
        path = NOTEBOOKS_DIR / f"{name}.ipynb"
        print(f"executing {path.name}", flush=True)
        pm.execute_notebook(str(path), str(path), kernel_name=KERNEL_NAME, progress_bar=False,
                            cwd=str(NOTEBOOKS_DIR))
        nb = strip_volatile(nbformat.read(path, as_version=4))
        nbformat.write(nb, path)


if __name__ == "__main__":
    refresh(sys.argv[1:] or None)
