"""Load once per pack: the runner's model, handed to every notebook kernel.

``kpi report`` loads and validates the data once, builds the :class:`~kpilib.KpiModel` of the
period (the same one ``kpis.json`` and the exports come from) and writes it to a file in the
run's private folder. The kernels find that file through the ``KPI_SNAPSHOT`` environment
variable: when a notebook's ``KpiModel.load(data, period, ...)`` asks for exactly the source,
period, base currency and segment the snapshot was built for, it gets the runner's model, with
everything already computed, instead of reading and validating the source again.

So every page of a pack comes from one read of the data (a table that changes while the pack is
being built cannot make two pages disagree), and no kernel pays for loading or fitting again.
Outside ``kpi report`` (JupyterLab, nbval) the variable is unset and notebooks load as usual.

The file is a pickle: it is written by this user's own run into a folder only this user can read
(``mkdtemp``, named ``kpi-run-<pid>-*``), and deleted with that folder when the run ends, or by
the next run's sweep when the run was killed outright.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import KpiModel

SNAPSHOT_ENV = "KPI_SNAPSHOT"


def snapshot_key(data: str | None, period: str, base_currency: str, segment: str | None) -> tuple:
    """What a snapshot answers for: the notebook parameters, normalised as the model reads them."""
    seg = None if segment in (None, "", "all") else str(segment)
    return (data or "sample", str(period), base_currency.strip().upper(), seg)


def write_snapshot(model: KpiModel, key: tuple, path: Path) -> Path:
    """Write the model, with what it has computed so far, for the kernels of this run.

    A failed write (a full ``$TMPDIR``) raises an :class:`OSError` naming ``path``, so the error
    says which disk is full; a write through an open file names none by itself.
    """
    try:
        with open(path, "wb") as handle:
            pickle.dump({"key": key, "model": model}, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    return path


def read_snapshot(key: tuple) -> KpiModel | None:
    """The runner's model when ``KPI_SNAPSHOT`` names one built for ``key``; else ``None``."""
    path = os.environ.get(SNAPSHOT_ENV)
    if not path or not Path(path).is_file():
        return None
    with open(path, "rb") as handle:
        doc = pickle.load(handle)  # noqa: S301 - written by this user's own run, in a private folder
    if doc.get("key") != key:
        return None
    model = doc["model"]
    from ..data.dataset import ContractWarning

    for note in model.source.notes:  # the warnings a fresh load would have given
        warnings.warn(note, ContractWarning, stacklevel=3)
    return model
