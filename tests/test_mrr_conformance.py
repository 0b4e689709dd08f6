"""Conformance with a public peer: the dbt-labs/mrr-playbook model.

The reference files (the project's seed data and that model's monthly results, restated)
sit outside the repository, in ``shared/reference/mrr_playbook`` beside the checkout;
``KPI_REFERENCE_DIR`` may point at another ``reference`` folder. They are read, never copied.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpilib import mrr_movements
from kpilib.metrics.mrr import movement_counts


def _reference() -> Path:
    if os.environ.get("KPI_REFERENCE_DIR"):
        return Path(os.environ["KPI_REFERENCE_DIR"]) / "mrr_playbook"
    return Path(__file__).resolve().parents[2] / "shared" / "reference" / "mrr_playbook"


REFERENCE = _reference()
pytestmark = pytest.mark.skipif(
    not (REFERENCE / "subscription_periods.csv").is_file(),
    reason=f"dbt mrr-playbook reference data not found at {REFERENCE} "
           "(expected shared/reference/mrr_playbook beside the checkout, or KPI_REFERENCE_DIR)")

FIRST, LAST = "2018-01", "2020-02"


def playbook_subscriptions() -> pd.DataFrame:
    """The peer's subscription_periods mapped onto our subscriptions contract.

    Its rows are (subscription_id, customer_id, start_date, end_date, monthly_amount),
    with end dates exclusive and on the 1st of a month and none open: they map one to
    one onto our rows with ``amount = monthly_amount`` and a monthly billing interval.
    """
    raw = pd.read_csv(REFERENCE / "subscription_periods.csv", dtype={"subscription_id": "str",
                                                                     "customer_id": "str"})
    return pd.DataFrame({
        "subscription_id": raw["subscription_id"].astype("str"),
        "customer_id": raw["customer_id"].astype("str"),
        "plan": pd.array(["playbook"] * len(raw), dtype="str"),
        "start_date": pd.to_datetime(raw["start_date"]),
        "end_date": pd.to_datetime(raw["end_date"]),
        "amount": raw["monthly_amount"].astype("float64"),
        "billing_interval": pd.array(["month"] * len(raw), dtype="str"),
        "currency": pd.array(["USD"] * len(raw), dtype="str"),
    })


def playbook_expected() -> pd.DataFrame:
    want = pd.read_csv(REFERENCE / "expected_monthly_summary.csv")
    want.index = pd.PeriodIndex(pd.to_datetime(want.pop("date_month")), freq="M", name="month")
    return want


def test_conformance_with_dbt_mrr_playbook():
    """Our month-end movements equal the dbt mrr-playbook figures for every month 2018-01..2020-02.

    Mapping of the peer's columns onto ours (the definitions agree; only names differ):

    - ``mrr`` -> ``closing_mrr``; ``active_customers`` -> ``customers``;
    - ``new_mrr`` -> ``new``; ``reactivation_mrr`` -> ``reactivation``;
    - ``upgrade_mrr`` -> ``expansion``; ``downgrade_mrr`` -> ``contraction``;
    - ``churn_mrr`` -> ``churn`` (both negative for losses);
    - ``*_n`` counts -> our ``*_customers`` counts.

    The peer evaluates a customer once per month from a month spine starting 2018-01-01;
    its periods start and end on the 1st, so its monthly state equals our month-end
    state (a period ending 2018-02-01 is active at the end of January, not February).
    Its known limits (customers active only in 2017 vanish; open-ended rows are
    dropped) do not touch this window: customers 2, 3 and 4 end in 2017 and never
    return, and the seed has no open rows. Its first window month has no earlier spine
    month, which our ``opening_mrr`` (0.0, nobody pays at the end of 2017-12) matches.
    """
    subs = playbook_subscriptions()
    assert subs["end_date"].notna().all(), "the mapping assumes no open-ended rows"
    want = playbook_expected()
    got = mrr_movements(subs, start=FIRST, end=LAST)
    counts = movement_counts(subs, start=FIRST, end=LAST)
    assert list(got.index) == list(pd.period_range(FIRST, LAST, freq="M"))
    assert list(want.index) == list(got.index)
    money = {"closing_mrr": "mrr", "new": "new_mrr", "reactivation": "reactivation_mrr",
             "expansion": "upgrade_mrr", "contraction": "downgrade_mrr", "churn": "churn_mrr"}
    for ours, theirs in money.items():
        np.testing.assert_array_equal(got[ours].to_numpy(), want[theirs].to_numpy(dtype="float64"),
                                      err_msg=ours)
    assert got["customers"].tolist() == want["active_customers"].tolist()
    n = {"new_customers": "new_n", "reactivated_customers": "reactivation_n",
         "expanded_customers": "upgrade_n", "contracted_customers": "downgrade_n",
         "churned_customers": "churn_n"}
    for ours, theirs in n.items():
        assert counts[ours].tolist() == want[theirs].tolist(), ours
    assert got["opening_mrr"].iloc[0] == 0.0


def test_the_reference_exercises_every_movement():
    """Guard against a vacuous conformance: each movement type occurs in the window."""
    got = mrr_movements(playbook_subscriptions(), start=FIRST, end=LAST)
    for column in ["new", "reactivation", "expansion"]:
        assert (got[column] > 0).any(), column
    for column in ["contraction", "churn"]:
        assert (got[column] < 0).any(), column


def test_history_before_the_window_changes_nothing_here():
    """Starting the window in 2017 (where customers 2-4 live) leaves 2018-01.. unchanged."""
    subs = playbook_subscriptions()
    longer = mrr_movements(subs, start="2017-09", end=LAST)
    pd.testing.assert_frame_equal(longer.loc[FIRST:], mrr_movements(subs, start=FIRST, end=LAST),
                                  check_exact=True)
