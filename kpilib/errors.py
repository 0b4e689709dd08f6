"""The kit's exception hierarchy.

Every error a user can cause derives from :class:`KpiError`, so the CLI can
print one clear message and exit non-zero without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class KpiError(Exception):
    """Base class of every error the kit raises on purpose."""


class ContractError(KpiError):
    """Input data breaks the data contract.

    Parameters
    ----------
    table
        Contract table name, e.g. ``"subscriptions"``.
    column
        Offending column, or ``None`` for table-level problems.
    rule
        The rule that failed, in words.
    rows
        Row numbers in the file (CSV: line numbers, the header is line 1;
        Parquet: record numbers from 1). Only the first few are shown.
    file
        Path of the file that was read, if any.
    """

    MAX_ROWS_SHOWN = 10

    def __init__(
        self,
        table: str,
        column: str | None,
        rule: str,
        rows: Sequence[int] = (),
        file: str | None = None,
    ) -> None:
        self.table = table
        self.column = column
        self.rule = rule
        self.rows = [int(r) for r in rows]
        self.file = file
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"table '{self.table}'"
        if self.column:
            where += f", column '{self.column}'"
        msg = f"{where}: {self.rule}"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[: self.MAX_ROWS_SHOWN])
            more = len(self.rows) - self.MAX_ROWS_SHOWN
            suffix = f" and {more} more" if more > 0 else ""
            noun = "row" if len(self.rows) == 1 else "rows"
            msg += f" ({noun} {shown}{suffix})"
        if self.file:
            msg += f" [{self.file}]"
        return msg


class PeriodError(KpiError):
    """A period string cannot be parsed, or the data do not cover it."""


class ReportError(KpiError):
    """Building the report pack failed (a notebook failed, output not writable...)."""

    def __init__(self, message: str, *, notebook: str | None = None,
                 cell_index: int | None = None, ename: str | None = None,
                 evalue: str | None = None) -> None:
        self.notebook = notebook
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        super().__init__(message)


class ModelFitError(KpiError):
    """The data cannot identify a fitted model (no churn, too few periods, bad counts), or the
    optimiser did not converge."""


class GoalsError(ContractError):
    """The goals file (``goals.yaml`` beside the contract tables) breaks its schema.

    Parameters
    ----------
    file
        Path of the goals file.
    key
        Where in the file, as a dotted path (``goals.mrr.2025-13``, ``annotations[2].date``), or
        ``None`` for the file as a whole.
    rule
        The rule that failed, in words.
    line
        Line of the file (from 1), when the YAML parser knows it.
    """

    def __init__(self, file: str, key: str | None, rule: str, line: int | None = None) -> None:
        self.key = key
        self.line = line
        super().__init__("goals", key, rule, rows=[line] if line else (), file=file)

    def _message(self) -> str:
        where = f"goals file {self.file}" + (f", key '{self.key}'" if self.key else "")
        return f"{where}: {self.rule}" + (f" (line {self.line})" if self.line else "")


class LanguageError(KpiError):
    """A language the kit has no message catalog for (kpilib/locale/<lang>.po)."""
