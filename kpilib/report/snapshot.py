"""Load once per pack: the runner's model, handed to every notebook kernel.

``kpi report`` loads and validates the data once, builds the :class:`~kpilib.KpiModel` of the
period (the same one ``kpis.json`` and the exports come from) and writes it to a file in the
run's private folder. The kernels find that file through the ``KPI_SNAPSHOT`` environment
variable: when a notebook's ``KpiModel.load(data, period, ...)`` asks for exactly the source,
period, base currency, segment and language the snapshot was built for, it gets the runner's model, with
everything already computed (the headline figures included), instead of reading and validating
the source again.

So every page of a pack comes from one read of the data (a table that changes while the pack is
being built cannot make two pages disagree), and no kernel pays for loading or fitting again.
Outside ``kpi report`` (JupyterLab, nbval) the variable is unset and notebooks load as usual.

The file (``model.pickle``) holds every table of the models' datasets (the source as validated,
each period's cut, the runner's own dataset) once each, in the Arrow IPC format (a table under
:data:`_MAPPED_ROWS` rows is pickled with the models), then one pickle per model of the cache (the
period, the previous one, a year ago) with references in place of the datasets, their tables and
the other models (small data, with no table in Arrow: one pickle of everything). A reader
memory-maps the file; it unpickles the period's model, turns a table into a DataFrame only when
a model first asks for it (text columns stay in the mapped file, zero-copy) and another period's
model only when a page compares with it. The datasets answer the page header's questions (the
data's end, each table's rows and date range) without loading a table. So a kernel holds the
tables and models its page uses, and nothing else.

Layout: the 8-byte magic, the tables (each an Arrow IPC file, 64-byte aligned), the pickles (the
runner's model and dataset first, then the other cached models), a small head pickle (the key,
the offsets), and a trailer with the head's offset and length and the magic again. It is written
by this user's own run into a folder only this user can read (``mkdtemp``, named
``kpi-run-<pid>-*``), and deleted with that folder when the run ends, or by the next run's sweep
when the run was killed outright.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import struct
import warnings
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

from ..data.dataset import Dataset

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from .model import KpiModel

SNAPSHOT_ENV = "KPI_SNAPSHOT"
_MAGIC = b"KPISNAP2"
_TRAILER = struct.Struct("<2Q8s")  # the head pickle's offset and length, the magic
_ALIGN = 64  # Arrow's buffer alignment: each table starts on it, so mapped buffers stay aligned
_MAPPED_ROWS = 10_000  # a table from this many rows is stored in Arrow and mapped; a smaller one pickled


def snapshot_key(data: str | None, period: str, base_currency: str, segment: str | None,
                 lang: str | None = None) -> tuple:
    """What a snapshot answers for: the notebook parameters, normalised as the model reads them.

    ``lang`` (default: the current language, which ``KpiModel.load`` sets first) is part of it: a
    model holds words (its notes, the headline's texts) in the language it was built in, so a French
    snapshot is never read by an English page."""
    from ..i18n import current_language

    seg = None if segment in (None, "", "all") else str(segment)
    return (data or "sample", str(period), base_currency.strip().upper(), seg,
            current_language() if lang is None else lang)


# --------------------------------------------------------------------------- writing


def _datasets(model: KpiModel, extra: Dataset | None) -> list[Dataset]:
    """Every dataset the snapshot holds: each cached model's source and cut, and ``extra``."""
    found: dict[int, Dataset] = {}
    for m in list(model._models.values()):
        for d in (m.source, m.data):
            found.setdefault(id(d), d)
    if extra is not None:
        found.setdefault(id(extra), extra)
    return list(found.values())


def _to_arrow(frame: pd.DataFrame) -> pa.Table | None:
    """The frame as an Arrow table that reads back equal (dtypes and index), or ``None`` (pickled)."""
    import pyarrow as pa

    if frame.attrs or not all(isinstance(c, str) for c in frame.columns) or frame.columns.has_duplicates:
        return None
    try:
        return pa.Table.from_pandas(frame, preserve_index=None)
    except (pa.ArrowException, TypeError, ValueError):
        return None


def _edges(dataset: Dataset) -> dict[str, Any]:
    """What every page header asks of a dataset's tables, kept so that a reader need not load them:
    ``data_end``, and per table its row count and first and last row date
    (:func:`kpilib.report.manifest.table_edges`). Of a lazy cut, only the tables cut so far (and no
    ``data_end`` unless all are): nothing is cut here that no model read."""
    from ..data.asof import cut_so_far
    from .manifest import table_edges, usage_edges

    tables = dataset.tables
    read = cut_so_far(tables)
    end: Any = None
    if len(read) == len(tables):
        with contextlib.suppress(ValueError):  # no table holds a date: the reader finds out as a fresh load would
            end = dataset.data_end
    edges = {name: table_edges(name, frame) for name, frame in read.items()}
    if dataset.usage_sums is not None:  # the usage summed where it is stored
        edges["product_usage"] = usage_edges(dataset.usage_sums)
    return {"data_end": end, "tables": edges}


@dataclasses.dataclass
class _Refs:
    """What the model pickles refer to instead of holding: datasets, their tables, the models' cache."""

    datasets: dict[int, tuple[Dataset, int, dict]]  # id -> (dataset, index, edges)
    tables: dict[int, tuple[Mapping, Any]]  # id of a tables mapping -> (it, its entries: see _entries)
    frames: dict[int, tuple[Any, int]]  # id of a stored frame -> (frame, table index)
    cache: dict  # the models' shared cache (KpiModel._models)
    labels: dict[int, str]  # id of a cached model -> its period label


class _Pickler(pickle.Pickler):
    """Pickles one model with references in place of datasets, tables, the cache and the other models."""

    def __init__(self, file: BinaryIO, refs: _Refs, own: KpiModel) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._refs, self._own = refs, own

    def persistent_id(self, obj: Any) -> Any:  # noqa: D401 - pickle's hook
        refs, ident = self._refs, id(obj)
        if obj is refs.cache and refs.labels:
            return ("cache",)
        if ident in refs.labels and obj is not self._own and refs.cache.get(refs.labels[ident]) is obj:
            return ("model", refs.labels[ident])
        known = refs.datasets.get(ident)
        if known is not None and known[0] is obj:
            fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            sums = refs.frames.get(id(fields["usage_sums"]))
            if sums is not None and sums[0] is fields["usage_sums"]:  # read by a kernel only if it asks
                fields["usage_sums"] = _Mapped(sums[1])
            return ("dataset", known[1], fields, known[2])
        held = refs.tables.get(ident)
        if held is not None and held[0] is obj:
            return ("tables", held[1])
        stored = refs.frames.get(ident)
        if stored is not None and stored[0] is obj:
            return ("frame", stored[1])
        return None


def _pad(handle: BinaryIO) -> None:
    handle.write(b"\0" * (-handle.tell() % _ALIGN))


def _write_tables(handle: BinaryIO, datasets: list[Dataset], refs: _Refs) -> list[tuple[int, int]]:
    """Each distinct table of :data:`_MAPPED_ROWS` rows or more once, as an Arrow IPC file; returns
    their (offset, length). Smaller tables are pickled with the models."""
    directory: list[tuple[int, int]] = []
    for dataset in datasets:
        _entries(handle, dataset.tables, refs, directory)
        if dataset.usage_sums is not None and len(dataset.usage_sums) >= _MAPPED_ROWS:  # read when used
            _store_frame(handle, dataset.usage_sums, refs, directory)
    return directory


def _store_frame(handle: BinaryIO, frame: pd.DataFrame, refs: _Refs, directory: list[tuple[int, int]]) -> bool:
    """Write ``frame`` once as an Arrow IPC file and register it in ``refs.frames``; False (nothing
    written) for a frame Arrow cannot express, which is then pickled with the models."""
    import pyarrow as pa

    if id(frame) in refs.frames:
        return True
    table = _to_arrow(frame)
    if table is None:
        return False
    _pad(handle)
    start = handle.tell()
    with pa.ipc.new_file(pa.PythonFile(handle, mode="w"), table.schema) as writer:
        writer.write_table(table)
    del table
    refs.frames[id(frame)] = (frame, len(directory))
    directory.append((start, handle.tell() - start))
    return True


def _entries(handle: BinaryIO, tables: Mapping, refs: _Refs, directory: list[tuple[int, int]]) -> Any:
    """What stands for a dataset's ``tables`` in the snapshot: per table, the index of its Arrow file
    (written here, once) or the small frame itself. Tables cut lazily (:class:`~kpilib.data.asof.CutTables`)
    keep their recipe: the source's entries, the day and the dropped customers, with the tables cut so
    far; a kernel cuts the others from the mapped source if a page reads them."""
    from ..data.asof import CutTables, cut_so_far

    if id(tables) in refs.tables:
        return refs.tables[id(tables)][1]
    entries: dict[str, Any] = {}
    for name, frame in cut_so_far(tables).items():
        # small (mapping it would save nothing) or not expressible in Arrow: pickled with the model
        mapped = len(frame) >= _MAPPED_ROWS and _store_frame(handle, frame, refs, directory)
        entries[name] = refs.frames[id(frame)][1] if mapped else frame
    found: Any = entries
    if isinstance(tables, CutTables):
        found = ("cut", _entries(handle, tables.source, refs, directory), tables.end, tables.dropped, entries)
    refs.tables[id(tables)] = (tables, found)
    return found


def _write(handle: BinaryIO, model: KpiModel, key: tuple, extra: Dataset | None) -> None:
    handle.write(_MAGIC)
    for name in model.data.tables:  # every page header describes the period's own tables: all are cut
        model.data.tables[name]  # noqa: B018 - a cut that keeps a whole table costs only its check
    datasets = _datasets(model, extra)
    cache = model._models
    refs = _Refs(datasets={id(d): (d, i, _edges(d)) for i, d in enumerate(datasets)}, tables={}, frames={},
                 cache=cache, labels={id(m): label for label, m in cache.items()})
    directory = _write_tables(handle, datasets, refs)
    if not directory:  # small data: one pickle of everything, as compact as it gets
        refs.cache, refs.labels = {}, {}
    segments: dict[str | None, tuple[int, int]] = {}  # None: the root document, else a cached model
    others = [(label, m) for label, m in cache.items() if m is not model] if directory else []
    for label, own in [(None, model), *others]:
        start = handle.tell()
        _Pickler(handle, refs, own).dump({"model": model, "dataset": extra} if label is None else own)
        segments[label] = (start, handle.tell() - start)
    head_at = handle.tell()
    pickle.dump({"key": key, "directory": directory, "segments": segments, "root": model.period.label,
                 "split": bool(directory)},
                handle, protocol=pickle.HIGHEST_PROTOCOL)
    handle.write(_TRAILER.pack(head_at, handle.tell() - head_at, _MAGIC))


def write_snapshot(model: KpiModel, key: tuple, path: Path, dataset: Dataset | None = None) -> Path:
    """Write the model, with what it has computed so far, for the kernels of this run.

    ``dataset`` (the runner's own, as loaded) travels with it for :func:`load_snapshot`; a kernel
    never reads it. A failed write (a full ``$TMPDIR``) raises an :class:`OSError` naming ``path``,
    so the error says which disk is full; a write through an open file names none by itself.
    """
    try:
        with open(path, "wb") as handle:
            _write(handle, model, key, dataset)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    return path


# --------------------------------------------------------------------------- reading


class _Store:
    """One mapped snapshot: its tables, each made a DataFrame once, when first asked for, and its models."""

    def __init__(self, buffer: pa.Buffer, head: dict) -> None:
        self._buffer, self._directory, self._segments = buffer, head["directory"], head["segments"]
        self._frames: dict[int, pd.DataFrame] = {}
        self.datasets: dict[int, Dataset] = {}
        self.cache = _Cache(self, [label for label in self._segments if label is not None] + [head["root"]])

    def frame(self, index: int) -> pd.DataFrame:
        if index not in self._frames:
            import pyarrow as pa

            start, length = self._directory[index]
            table = pa.ipc.open_file(self._buffer.slice(start, length)).read_all()
            self._frames[index] = table.to_pandas()
        return self._frames[index]

    def document(self, label: str | None) -> Any:
        """Unpickle the root document (``None``) or one cached model."""
        import pyarrow as pa

        start, length = self._segments[label]
        return _Unpickler(pa.BufferReader(self._buffer.slice(start, length)), self).load()


class _Tables(Mapping):
    """A dataset's tables read from a snapshot on first use (a read-only mapping like the dict it
    stands for; pickled, it becomes that dict)."""

    def __init__(self, store: _Store, entries: dict[str, Any]) -> None:
        self._store, self._entries = store, entries

    def __getitem__(self, name: str) -> pd.DataFrame:
        entry = self._entries[name]
        return self._store.frame(entry) if isinstance(entry, int) else entry

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __reduce__(self):
        return (dict, (dict(self.items()),))


def _tables(store: _Store, entries: Any) -> Mapping:
    """A dataset's tables from their entries (:func:`_entries`): read from the snapshot on first use,
    and the tables of a lazy cut that no model had read cut when a page first reads them."""
    if isinstance(entries, tuple):
        from ..data.asof import CutTables

        _, source, end, dropped, cut = entries
        return CutTables(_tables(store, source), end, dropped, _Tables(store, cut))
    return _Tables(store, entries)


class _Cache(MutableMapping):
    """The models' shared cache (``KpiModel._models``) of a snapshot: the model of another period
    is unpickled when it is first asked for, so a page that never compares holds only its own."""

    def __init__(self, store: _Store, stored: list[str]) -> None:
        self._store, self._stored = store, set(stored)
        self._models: dict[str, Any] = {}

    def __getitem__(self, label: str) -> Any:
        if label not in self._models:
            if label not in self._stored:
                raise KeyError(label)
            self._models[label] = self._store.document(label)
        return self._models[label]

    def __setitem__(self, label: str, model: Any) -> None:
        self._models[label] = model

    def __delitem__(self, label: str) -> None:
        self[label]  # noqa: B018 - KeyError for an unknown period
        self._stored.discard(label)
        self._models.pop(label, None)

    def __contains__(self, label: object) -> bool:
        return label in self._models or label in self._stored

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._stored | set(self._models)))

    def __len__(self) -> int:
        return len(self._stored | set(self._models))

    def __reduce__(self):
        return (dict, (dict(self.items()),))


class _Mapped(NamedTuple):
    """Stands for a dataset's ``usage_sums`` in the snapshot: the index of its Arrow file."""

    table: int


class _SnapshotDataset(Dataset):
    """A dataset of snapshot tables that answers ``data_end``, and its tables' row counts and date
    ranges (``known_edges``, read by :func:`kpilib.report.manifest.input_tables`), without loading
    the tables: every page header asks for them. Its ``usage_sums`` too are read from the snapshot
    when first asked for (the engagement figures come precomputed: most pages never ask). A dataset
    derived from it (``dataclasses.replace``: a cut, a filter) has other tables and computes them
    afresh; pickled, it is a plain dataset."""

    @property
    def usage_sums(self) -> pd.DataFrame | None:
        held = self.__dict__.get("_usage_sums")
        if isinstance(held, _Mapped):
            held = self.__dict__["_store"].frame(held.table)
            self.__dict__["_usage_sums"] = held
        return held

    @usage_sums.setter
    def usage_sums(self, value: Any) -> None:  # the dataclass's __init__ sets it (frozen: once)
        self.__dict__["_usage_sums"] = value

    def _summed(self) -> bool:
        return self.__dict__.get("_usage_sums") is not None

    @property
    def data_end(self) -> pd.Timestamp:
        known = self.__dict__.get("_known")
        if known is not None and known[0] is self.tables and known[1]["data_end"] is not None:
            return known[1]["data_end"]
        return super().data_end

    @property
    def known_edges(self) -> dict[str, tuple] | None:
        known = self.__dict__.get("_known")
        return known[1]["tables"] if known is not None and known[0] is self.tables else None

    def __reduce__(self):
        return (Dataset, tuple(getattr(self, f.name) for f in dataclasses.fields(self)))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, store: _Store) -> None:
        super().__init__(file)
        self._store = store

    def persistent_load(self, pid: Any) -> Any:
        kind, store = pid[0], self._store
        if kind == "cache":
            return store.cache
        if kind == "model":
            return store.cache[pid[1]]
        if kind == "dataset":
            if pid[1] not in store.datasets:
                dataset = _SnapshotDataset(**pid[2])
                object.__setattr__(dataset, "_store", store)  # where its usage_sums are, when asked for
                object.__setattr__(dataset, "_known", (dataset.tables, pid[3]))  # frozen: set once, here
                store.datasets[pid[1]] = dataset
            return store.datasets[pid[1]]
        if kind == "tables":
            return _tables(store, pid[1])
        if kind == "frame":
            return store.frame(pid[1])
        raise pickle.UnpicklingError(f"unknown reference in a model snapshot: {kind!r}")


def load_snapshot(path: str | Path, key: tuple) -> tuple[KpiModel, Dataset | None] | None:
    """The model (and the runner's dataset) of the snapshot at ``path`` when built for ``key``;
    ``None`` for another key or a file that is not a complete snapshot."""
    import pyarrow as pa

    buffer = pa.memory_map(str(path)).read_buffer()
    view = memoryview(buffer)
    if len(view) < len(_MAGIC) + _TRAILER.size or bytes(view[:len(_MAGIC)]) != _MAGIC:
        return None
    head_at, head_len, magic = _TRAILER.unpack(bytes(view[-_TRAILER.size:]))
    if magic != _MAGIC:
        return None
    head = pickle.loads(view[head_at:head_at + head_len])  # noqa: S301 - this user's own run, private folder
    if head.get("key") != key:
        return None
    store = _Store(buffer, head)
    doc = store.document(None)
    if head["split"]:  # the cache is the store's: the other models are read when asked for
        store.cache[head["root"]] = doc["model"]
    return doc["model"], doc["dataset"]


def read_snapshot(key: tuple) -> KpiModel | None:
    """The runner's model when ``KPI_SNAPSHOT`` names one built for ``key``; else ``None``."""
    path = os.environ.get(SNAPSHOT_ENV)
    if not path or not Path(path).is_file():
        return None
    found = load_snapshot(path, key)
    if found is None:
        return None
    model = found[0]
    from ..data.dataset import ContractWarning

    for note in model.source.notes:  # the warnings a fresh load would have given
        warnings.warn(note, ContractWarning, stacklevel=3)
    return model
