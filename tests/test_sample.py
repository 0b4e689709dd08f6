"""The sample company: deterministic, committed as generated, valid and realistic."""

from __future__ import annotations

import pandas as pd
import pytest

from kpilib import load_dataset, mrr_movements
from kpilib.data.sample import DEFAULT_SEED, generate_sample
from kpilib.metrics.mrr import movement_counts
from kpilib.paths import SAMPLE_DATA_DIR

pytestmark = pytest.mark.slow  # each test reads a whole sample company generated for the module (seconds)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    generate_sample(out, seed=DEFAULT_SEED)
    return out


def test_other_seed_differs(generated, tmp_path):
    generate_sample(tmp_path, seed=DEFAULT_SEED + 1)
    assert (tmp_path / "subscriptions.csv").read_bytes() != (generated / "subscriptions.csv").read_bytes()


def test_committed_sample_matches_generator(generated):
    """The same seed gives identical bytes: in this process as in the one that wrote data/sample/."""
    committed = sorted(p.name for p in SAMPLE_DATA_DIR.glob("*.csv"))
    assert committed == sorted(p.name for p in generated.glob("*.csv"))
    for name in committed:
        assert (SAMPLE_DATA_DIR / name).read_bytes() == (generated / name).read_bytes(), (
            f"data/sample/{name} drifted from the generator: run `make sample-data`")


def test_sample_is_valid_and_realistic():
    ds = load_dataset()
    subs, customers = ds.subscriptions, ds.customers
    assert 1800 <= len(customers) <= 2300
    assert set(customers["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    assert subs["plan"].nunique() == 4
    assert set(subs["billing_interval"]) == {"month", "quarter", "year"}
    assert set(subs["currency"]) == {"USD", "EUR", "GBP"}
    assert (subs["start_date"] < "2023-01-01").groupby(subs["customer_id"]).any().sum() >= 100
    assert ds.data_end == pd.Timestamp("2025-12-31")
    assert (subs["amount"] == 0).any() and subs["start_date"].dt.day.gt(1).any()
    counts = movement_counts(subs, ds.fx_rates, start="2023-01", end="2025-12")
    assert counts["reactivated_customers"].sum() >= 30
    mov = mrr_movements(subs, ds.fx_rates, start="2023-01", end="2025-12")
    assert mov["closing_mrr"].iloc[-1] > 2 * mov["closing_mrr"].iloc[0]
    churn = counts["churned_customers"] / counts["customers"].shift()
    assert 0.005 < churn.iloc[1:].mean() < 0.05
    names_and_comments = " ".join(customers["name"]) + " ".join(
        ds.get("survey_responses")["comment"].dropna())
    for ch in "<>&\"üé":
        assert ch in names_and_comments


def test_low_engagement_precedes_churn():
    ds = load_dataset()
    usage = ds.get("product_usage")
    from kpilib import customer_mrr

    wide = customer_mrr(ds.subscriptions, ds.fx_rates, start="2023-01", end="2025-12")
    logins = usage[usage["event"] == "login"].pivot_table(index="customer_id", columns="month",
                                                          values="count", aggfunc="sum")
    churned, stayed = [], []
    months = wide.columns
    for j in range(3, len(months) - 1):
        m, nxt = months[j], months[j + 1]
        paying = wide.index[wide[m] > 0]
        gone = set(paying[wide.loc[paying, nxt] == 0])
        col = logins.get(m)
        if col is None:
            continue
        vals = col.reindex(paying).fillna(0)
        churned += vals[vals.index.isin(gone)].tolist()
        stayed += vals[~vals.index.isin(gone)].tolist()
    assert sum(churned) / len(churned) < 0.6 * sum(stayed) / len(stayed)
