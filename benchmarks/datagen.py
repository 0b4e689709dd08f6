"""Scale data for the benchmarks: subscription books of 10k to 1M rows, seeded and cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CACHE = Path(__file__).resolve().parent / "data"
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
FX = pd.DataFrame({"currency": ["USD", "EUR", "GBP"], "rate_to_base": [1.0, 1.08, 1.27]})


def subscriptions(n_rows: int, seed: int = 42) -> pd.DataFrame:
    """About n_rows / 5 customers over 60 months with plan changes, gaps (reactivations),
    mixed intervals and currencies; ~20 % of rows open-ended."""
    path = CACHE / f"subscriptions_{n_rows}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    rng = np.random.default_rng(seed)
    n_customers = max(n_rows // 5, 1)
    customer = np.sort(rng.integers(0, n_customers, n_rows))
    base = pd.Timestamp("2021-01-01")
    # consecutive rows of a customer follow each other, sometimes with a gap
    offset_days = rng.integers(0, 1800, n_rows)
    start = base + pd.to_timedelta(offset_days, unit="D")
    length = rng.integers(20, 700, n_rows)
    end = start + pd.to_timedelta(length, unit="D")
    open_ended = rng.random(n_rows) < 0.2
    interval = rng.choice(np.array(["month", "quarter", "year"]), n_rows, p=[0.7, 0.1, 0.2])
    months = np.select([interval == "month", interval == "quarter"], [1, 3], 12)
    amount = np.round(rng.lognormal(5.0, 1.0, n_rows) * months, 2)
    df = pd.DataFrame({
        "subscription_id": pd.array([f"S{i}" for i in range(n_rows)], dtype="str"),
        "customer_id": pd.array([f"C{c}" for c in customer], dtype="str"),
        "plan": pd.array(rng.choice(["Starter", "Growth", "Pro", "Enterprise"], n_rows), dtype="str"),
        "start_date": start.astype("datetime64[us]"),
        "end_date": pd.Series(end, dtype="datetime64[us]").where(~open_ended),
        "amount": amount,
        "billing_interval": pd.array(interval, dtype="str"),
        "currency": pd.array(rng.choice(["USD", "EUR", "GBP"], n_rows, p=[0.6, 0.25, 0.15]), dtype="str"),
    })
    CACHE.mkdir(exist_ok=True)
    df.to_parquet(path)
    return df


def leads(n_rows: int, seed: int = 43) -> pd.DataFrame:
    """A funnel table of n_rows leads with ordered stage dates."""
    path = CACHE / f"leads_{n_rows}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 1095, n_rows), unit="D")
    depth = rng.choice(5, n_rows, p=[0.4, 0.25, 0.15, 0.1, 0.1])
    out = {"lead_id": pd.array([f"L{i}" for i in range(n_rows)], dtype="str"), "created_at": created}
    day = pd.Series(created)
    for k, col in enumerate(["mql_at", "sql_at", "opportunity_at", "trial_started_at"]):
        day = day + pd.to_timedelta(rng.integers(1, 15, n_rows), unit="D")
        out[col] = day.where(depth > k)
    out["activated_at"] = out["trial_started_at"] + pd.to_timedelta(3, unit="D")
    closed = day + pd.to_timedelta(rng.integers(5, 60, n_rows), unit="D")
    out["closed_at"] = closed.where(depth >= 3)
    out["outcome"] = pd.Series(np.where(rng.random(n_rows) < 0.35, "won", "lost"), dtype="str").where(depth >= 3)
    out["channel"] = pd.array(rng.choice(["Ads", "SEO", "Events", "Outbound"], n_rows), dtype="str")
    out["owner"] = pd.array(rng.choice([f"rep{i}" for i in range(12)], n_rows), dtype="str")
    out["amount"] = np.where(out["outcome"] == "won", rng.lognormal(9, 1, n_rows), np.nan)
    out["customer_id"] = pd.Series(pd.NA, index=range(n_rows), dtype="str")
    df = pd.DataFrame(out)
    CACHE.mkdir(exist_ok=True)
    df.to_parquet(path)
    return df
