"""The ``kpi`` command as a user meets it: help, messages, exit codes, nothing written on error."""

from __future__ import annotations

import subprocess
import sys

import pytest

import kpilib as kpi
from kpilib.cli import main

from conftest import TINY, write_table


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("report", "validate", "sample-data", "contract"):
        assert command in out
    assert "Exit codes" in out


def test_report_help_explains_periods(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    out = capsys.readouterr().out
    assert "2025-12" in out and "2025-Q4" in out and "--segment" in out


def test_validate_ok(tiny_dir, capsys):
    assert main(["validate", "--data", str(tiny_dir)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "subscriptions" in out and "2024-03-02" in out


def test_validate_bad_data_is_exit_3_without_traceback(tiny_dir, capsys):
    rows = [dict(r) for r in TINY["subscriptions"]]
    rows[0]["amount"] = "-1"
    write_table(tiny_dir, "subscriptions", rows)
    assert main(["validate", "--data", str(tiny_dir)]) == 3
    err = capsys.readouterr().err
    assert "error (ContractError): table 'subscriptions', column 'amount'" in err
    assert "(row 2)" in err
    assert "Traceback" not in err


def test_debug_shows_traceback(tiny_dir, capsys):
    (tiny_dir / "customers.csv").unlink()
    assert main(["--debug", "validate", "--data", str(tiny_dir)]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_report_bad_period_is_exit_4(tiny_dir, tmp_path, capsys):
    code = main(["report", "--period", "2025-13", "--data", str(tiny_dir), "--out", str(tmp_path / "r")])
    assert code == 4
    assert "is not a month" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_report_bad_data_is_exit_3_and_writes_nothing(tiny_dir, tmp_path, capsys):
    (tiny_dir / "subscriptions.csv").write_text("subscription_id;customer_id\n1;2\n", encoding="utf-8")
    code = main(["report", "--period", "2024-02", "--data", str(tiny_dir), "--out", str(tmp_path / "r")])
    assert code == 3
    assert "semicolon-delimited" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_unknown_segment_is_exit_6(tiny_dir, tmp_path, capsys):
    code = main(["report", "--data", str(tiny_dir), "--segment", "Gov", "--out", str(tmp_path / "r")])
    assert code == 6
    assert "known values" in capsys.readouterr().err


def test_contract_prints_markdown(capsys):
    assert main(["contract"]) == 0
    assert "### `subscriptions` (required)" in capsys.readouterr().out


def test_console_script_runs():
    """The installed entry point works as a real process (exit code, stderr)."""
    result = subprocess.run([sys.executable, "-m", "kpilib.cli", "report", "--period", "x"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 4
    assert "error (PeriodError)" in result.stderr


def test_report_help_explains_languages(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--lang" in out and "en, fr, it, ms" in out and "2025-12-fr" in out


def test_report_unknown_language_is_exit_2(tiny_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["report", "--data", str(tiny_dir), "--out", str(tmp_path / "r"), "--lang", "de"])
    assert info.value.code == 2 and "--lang" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv", [["--period", ""], ["--segment", ""], ["--base-currency", ""]])
def test_an_empty_report_option_is_exit_2(argv, tiny_dir, tmp_path, capsys):
    """``--period "$PERIOD"`` with the variable unset must not build the default month."""
    with pytest.raises(SystemExit) as info:
        main(["report", "--data", str(tiny_dir), "--out", str(tmp_path / "r"), *argv])
    assert info.value.code == 2 and "is empty (an unset shell variable?)" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_a_notebook_dir_without_notebooks_replaces_nothing(folder, tiny_dir, tmp_path, capsys):
    """A mistyped --notebook-dir built a pack without pages over the good one (exit 0)."""
    from kpilib.report.runner import build_report

    nb_dir = tmp_path / folder
    if folder == "empty":
        nb_dir.mkdir()
    pack = tmp_path / "r" / "2024-02"
    pack.mkdir(parents=True)
    (pack / "01_revenue.html").write_text("the good pack")
    with pytest.raises(SystemExit) as info:
        main(["report", "--period", "2024-02", "--data", str(tiny_dir), "--out", str(tmp_path / "r"),
              "--notebook-dir", str(nb_dir)])
    assert info.value.code == 2 and "--notebook-dir" in capsys.readouterr().err
    with pytest.raises(kpi.KpiError, match="holds no notebook|does not exist"):
        build_report("2024-02", data=str(tiny_dir), out=tmp_path / "r", notebook_dir=nb_dir, progress=False)
    assert [p.name for p in pack.iterdir()] == ["01_revenue.html"]


def test_a_base_currency_without_a_rate_names_the_rates_there_are(tiny_dir, tmp_path, capsys):
    assert main(["validate", "--data", str(tiny_dir), "--base-currency", "XYZ"]) == 3
    assert "the base currency XYZ has no rate (choose one of EUR, USD" in capsys.readouterr().err


def test_file_where_a_folder_is_expected_is_a_kit_error(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["sample-data", "--out", str(afile)]) == 6
    assert main(["notebooks", str(afile)]) == 6
    assert capsys.readouterr().err.count("is a file, not a folder") == 2
    with pytest.raises(SystemExit) as info:
        main(["sample-data", "--out", str(tmp_path / "s"), "--seed", "-1"])
    assert info.value.code == 2 and "--seed must be at least 0" in capsys.readouterr().err


@pytest.mark.slow
def test_sample_data_never_replaces_a_folder_s_tables_without_force(tmp_path, capsys):
    """A mistyped --out (the company's real data folder) must not lose anything."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "customers.csv").write_text("precious", encoding="utf-8")
    (data / "leads.parquet").write_bytes(b"also precious")
    assert main(["sample-data", "--out", str(data)]) == 6
    err = capsys.readouterr().err
    assert "already holds customers.csv, leads.parquet: nothing was written (use --force" in err
    assert sorted(p.name for p in data.iterdir()) == ["customers.csv", "leads.parquet"]
    assert (data / "customers.csv").read_text(encoding="utf-8") == "precious"
    assert main(["sample-data", "--out", str(data), "--force"]) == 0
    assert "(removed leads.parquet: the CSV replaces it)" in capsys.readouterr().out
    assert (data / "customers.csv").read_text(encoding="utf-8").startswith("customer_id,name,segment")
    assert (data / "goals.yaml").is_file() and not (data / "leads.parquet").exists()
    assert main(["validate", "--data", str(data)]) == 0  # the folder holds each table once
