"""Every bad-input case, through the real command: one clear message naming table, column, rule
and rows; a non-zero exit; no report written; no traceback without --debug."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from kpilib.cli import main

from conftest import TINY, write_table


def rows(table, i=None, **changes):
    out = copy.deepcopy(TINY[table])
    if i is not None:
        out[i].update(changes)
    return out


def put(table, i=None, **changes):
    return lambda d: write_table(d, table, rows(table, i, **changes))


def rename(table, old, new):
    return lambda d: write_table(d, table, [{(new if k == old else k): v for k, v in r.items()}
                                            for r in TINY[table]])


def raw(table, text, encoding="utf-8"):
    return lambda d: (d / f"{table}.csv").write_bytes(text.encode(encoding))


def parquet_amount_as_text(d):
    df = pd.DataFrame(TINY["subscriptions"]).assign(
        start_date=lambda x: pd.to_datetime(x["start_date"]),
        end_date=lambda x: pd.to_datetime(x["end_date"].replace("", None)))
    (d / "subscriptions.csv").unlink()
    df.to_parquet(d / "subscriptions.parquet")


CASES = {
    "missing table file": (lambda d: (d / "customers.csv").unlink(), "customers", None),
    "missing column": (lambda d: write_table(d, "subscriptions", [{k: v for k, v in r.items() if k != "currency"}
                                                                  for r in TINY["subscriptions"]]),
                       "subscriptions", "currency"),
    "misspelt column": (rename("subscriptions", "amount", "amout"), "subscriptions", "amount"),
    "wrong type": (put("subscriptions", 0, amount="abc"), "subscriptions", "amount"),
    "count not whole": (put("web_traffic", 0, sessions="2.5"), "web_traffic", "sessions"),
    "unparseable date": (put("customers", 1, created_at="31/12/2024"), "customers", "created_at"),
    "bad month": (put("marketing_spend", 0, month="Jan 2024"), "marketing_spend", "month"),
    "end before start": (put("subscriptions", 1, end_date="2023-01-01"), "subscriptions", "end_date"),
    "negative amount": (put("subscriptions", 0, amount="-100"), "subscriptions", "amount"),
    "negative spend": (put("marketing_spend", 0, amount="-1"), "marketing_spend", "amount"),
    "unknown billing interval": (put("subscriptions", 0, billing_interval="weekly"), "subscriptions",
                                 "billing_interval"),
    "currency without a rate": (put("subscriptions", 1, currency="CHF"), "subscriptions", "currency"),
    "malformed currency": (put("subscriptions", 1, currency="Euro"), "subscriptions", "currency"),
    "duplicate ids": (put("subscriptions", 1, subscription_id="s1"), "subscriptions", "subscription_id"),
    "orphan foreign key": (put("product_usage", 0, customer_id="zz"), "product_usage", "customer_id"),
    "score out of range": (put("survey_responses", 0, score="12"), "survey_responses", "score"),
    "ces score out of range": (put("survey_responses", 1, score="9"), "survey_responses", "score"),
    "unknown survey": (put("survey_responses", 0, survey="csat"), "survey_responses", "survey"),
    "unknown outcome": (put("leads", 0, outcome="maybe"), "leads", "outcome"),
    "outcome without close date": (put("leads", 1, outcome="won"), "leads", "outcome"),
    "bounced above sessions": (put("web_traffic", 0, bounced_sessions="500"), "web_traffic", "bounced_sessions"),
    "empty required value": (put("customers", 0, segment=""), "customers", "segment"),
    "empty table": (lambda d: write_table(d, "customers", [], columns=list(TINY["customers"][0])),
                    "customers", None),
    "zero-byte file": (raw("subscriptions", ""), "subscriptions", None),
    "latin-1 file": (lambda d: (d / "customers.csv").write_bytes(
        (d / "customers.csv").read_text(encoding="utf-8").encode("latin-1")), "customers", None),
    "semicolon-delimited csv": (raw("fx_rates", "currency;rate_to_base\nUSD;1\n"), "fx_rates", None),
    "ragged csv": (raw("fx_rates", "currency,rate_to_base\nUSD,1,2,3\n"), "fx_rates", None),
    "parquet with wrong types": (parquet_amount_as_text, "subscriptions", "amount"),
    "csv and parquet both present": (lambda d: pd.DataFrame({"currency": ["USD"], "rate_to_base": [1.0]})
                                     .to_parquet(d / "fx_rates.parquet"), "fx_rates", None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_cleanly(case, tiny_dir, tmp_path, capsys):
    breaker, table, column = CASES[case]
    breaker(tiny_dir)
    out = tmp_path / "reports"
    code = main(["report", "--period", "2024-02", "--data", str(tiny_dir), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert not out.exists(), "a report folder was written"
    assert "Traceback" not in err
    message = [line for line in err.splitlines() if line.startswith("error (ContractError)")]
    assert len(message) == 1, err
    assert f"table '{table}'" in message[0]
    if column:
        assert f"column '{column}'" in message[0]


def test_at_least_25_cases():
    assert len(CASES) >= 25


@pytest.mark.parametrize(("argv", "code", "text"), [
    (["report", "--period", "Q4-2025"], 4, "is not a month"),
    (["report", "--period", "2031-01"], 4, "has no data"),
])
def test_bad_period(argv, code, text, tiny_dir, tmp_path, capsys):
    assert main([*argv, "--data", str(tiny_dir), "--out", str(tmp_path / "r")]) == code
    assert text in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_unwritable_output_folder(tiny_dir, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["report", "--period", "2024-02", "--data", str(tiny_dir), "--out", str(blocker / "r"),
                 "--notebooks", "00_overview", "--no-progress"])
    assert code == 5
    assert "cannot write to output folder" in capsys.readouterr().err


# --- money that cannot be represented is an error, never a printed number ----------------------

def _sample_copy(tmp_path):
    import shutil

    from kpilib.paths import SAMPLE_DATA_DIR

    for f in SAMPLE_DATA_DIR.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


@pytest.mark.parametrize("value", ["inf", "-inf", "1e308", "1e13"])
def test_an_impossible_amount_is_a_contract_error_naming_the_row(tmp_path, value):
    import pandas as pd

    from kpilib import ContractError, load_dataset

    folder = _sample_copy(tmp_path)
    subs = pd.read_csv(folder / "subscriptions.csv", dtype=str, keep_default_na=False)
    subs.loc[4, "amount"] = value
    subs.to_csv(folder / "subscriptions.csv", index=False)
    with pytest.raises(ContractError) as err:
        load_dataset(str(folder))
    assert err.value.table == "subscriptions" and err.value.column == "amount" and err.value.rows == [6]


def test_an_infinite_exchange_rate_is_refused(tmp_path):
    from kpilib import ContractError, load_dataset

    folder = _sample_copy(tmp_path)
    text = (folder / "fx_rates.csv").read_text().splitlines()
    text[2] = text[2].split(",")[0] + ",inf"
    (folder / "fx_rates.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(ContractError) as err:
        load_dataset(str(folder))
    assert (err.value.table, err.value.column, err.value.rows) == ("fx_rates", "rate_to_base", [3])


def test_sums_beyond_exact_micro_units_are_refused_not_wrapped():
    """Built without the loader: rows at the contract's bound whose sum int64 micro-units cannot hold."""
    import pandas as pd

    from kpilib import ContractError, mrr_movements

    n = 10_000
    subs = pd.DataFrame({"subscription_id": [f"s{i}" for i in range(n)], "customer_id": [f"c{i}" for i in range(n)],
                         "plan": "P", "start_date": pd.Timestamp("2025-01-01"), "end_date": pd.NaT,
                         "amount": 1e12, "billing_interval": "month", "currency": "USD"})
    with pytest.raises(ContractError, match="too large to add up exactly"):
        mrr_movements(subs, start="2025-01", end="2025-02")
    exact = mrr_movements(subs.iloc[:4], start="2025-01", end="2025-01")  # 4e12 still adds up exactly
    assert exact["closing_mrr"].iloc[0] == 4e12
