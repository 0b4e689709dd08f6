"""The MRR-movements definition written in DuckDB SQL: a reference implementation to compare with."""

from __future__ import annotations

import duckdb
import pandas as pd

SQL = """
WITH rows AS (
    SELECT s.customer_id,
           year(s.start_date) * 12 + month(s.start_date) - 1 AS first_m,
           CASE WHEN s.end_date IS NULL THEN $end + 1
                ELSE year(s.end_date) * 12 + month(s.end_date) - 1 END AS stop_m,
           round(s.amount / CASE s.billing_interval WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END
                 * f.rate_to_base, 6) AS mrr
    FROM subs s JOIN fx f USING (currency)
),
expanded AS (
    SELECT customer_id, unnest(range(first_m, least(stop_m, $end + 1))) AS m, mrr FROM rows
),
paying AS (  -- month ends with MRR > 0, per customer
    SELECT customer_id, m, round(sum(mrr), 6) AS mrr FROM expanded GROUP BY ALL HAVING round(sum(mrr), 6) > 0
),
sequenced AS (
    SELECT *, lag(m) OVER w AS prev_m, lag(mrr) OVER w AS prev_mrr, lead(m) OVER w AS next_m,
           row_number() OVER w AS nth
    FROM paying WINDOW w AS (PARTITION BY customer_id ORDER BY m)
),
events AS (
    SELECT m,
           CASE WHEN prev_m = m - 1 THEN 0 ELSE mrr END * (nth = 1)::INT AS new,
           CASE WHEN prev_m = m - 1 THEN 0 ELSE mrr END * (nth > 1)::INT AS reactivation,
           CASE WHEN prev_m = m - 1 AND mrr > prev_mrr THEN mrr - prev_mrr ELSE 0 END AS expansion,
           CASE WHEN prev_m = m - 1 AND mrr < prev_mrr THEN mrr - prev_mrr ELSE 0 END AS contraction,
           0.0 AS churn, mrr AS closing, 1 AS customers
    FROM sequenced
    UNION ALL
    SELECT m + 1, 0, 0, 0, 0, -mrr, 0, 0 FROM sequenced WHERE next_m IS NULL OR next_m > m + 1
),
monthly AS (
    SELECT m, sum(new) AS new, sum(expansion) AS expansion, sum(reactivation) AS reactivation,
           sum(contraction) AS contraction, sum(churn) AS churn, sum(closing) AS closing_mrr,
           sum(customers) AS customers
    FROM events GROUP BY m
),
spine AS (SELECT unnest(range($start - 1, $end + 1)) AS m)
SELECT spine.m, coalesce(new, 0) AS new, coalesce(expansion, 0) AS expansion,
       coalesce(reactivation, 0) AS reactivation, coalesce(contraction, 0) AS contraction,
       coalesce(churn, 0) AS churn, coalesce(closing_mrr, 0) AS closing_mrr,
       coalesce(customers, 0) AS customers
FROM spine LEFT JOIN monthly USING (m) ORDER BY spine.m
"""


def mrr_movements_duckdb(subs: pd.DataFrame, fx: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    """Movements per month from ``start`` to ``end`` (base currency = the rate-1 currency)."""
    s, e = pd.Period(start, "M"), pd.Period(end, "M")
    con = duckdb.connect()
    con.register("subs", subs)
    con.register("fx", fx)
    out = con.execute(SQL, {"start": s.year * 12 + s.month - 1, "end": e.year * 12 + e.month - 1}).df()
    con.close()
    out["opening_mrr"] = out["closing_mrr"].shift(1)
    out = out.iloc[1:]
    out.index = pd.PeriodIndex.from_fields(year=out["m"] // 12, month=out["m"] % 12 + 1, freq="M").rename("month")
    cols = ["opening_mrr", "new", "expansion", "reactivation", "contraction", "churn", "closing_mrr", "customers"]
    return out[cols].astype({c: "float64" for c in cols[:-1]} | {"customers": "int64"})
