"""A property over generated companies: every run ends with finite figures (or undefined ones,
said so) or a clear contract error; never an internal error, never inf."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kpilib as kpi

from conftest import write_table

DAY = pd.Timestamp("2024-01-01")


@st.composite
def companies(draw):
    n = draw(st.integers(1, 6))
    customers = [{"customer_id": f"c{i}", "name": draw(st.sampled_from(["A", "=cmd", "Ünï", "x"])),
                  "segment": draw(st.sampled_from(["SMB", "Enterprise"])), "region": "NA",
                  "acquisition_channel": draw(st.sampled_from(["Ads", "SEO"])), "created_at": "2023-06-01"}
                 for i in range(n)]
    subs = []
    for j in range(draw(st.integers(1, 10))):
        start = DAY + pd.Timedelta(days=draw(st.integers(-200, 500)))
        length = draw(st.one_of(st.none(), st.integers(1, 400)))
        subs.append({"subscription_id": f"s{j}", "customer_id": f"c{draw(st.integers(0, n - 1))}",
                     "plan": draw(st.sampled_from(["P", "Q"])), "start_date": start.date().isoformat(),
                     "end_date": "" if length is None else (start + pd.Timedelta(days=length)).date().isoformat(),
                     "amount": draw(st.sampled_from(["0", "9.99", "100", "1e6", "-1", "inf", "abc", "12000"])),
                     "billing_interval": draw(st.sampled_from(["month", "quarter", "year"])),
                     "currency": draw(st.sampled_from(["USD", "EUR"]))})
    survey = [{"response_id": f"r{k}", "survey": draw(st.sampled_from(["nps", "ces", "enps"])),
               "respondent_id": f"c{draw(st.integers(0, n - 1))}",
               "responded_at": (DAY + pd.Timedelta(days=draw(st.integers(0, 500)))).date().isoformat(),
               "score": str(draw(st.integers(0, 10))), "comment": ""} for k in range(draw(st.integers(0, 5)))]
    period = draw(st.sampled_from(["2024-03", "2024-Q2", "2024", "2025-02", "2023-12"]))
    return customers, subs, survey, period


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(company=companies())
def test_every_generated_company_gives_figures_or_a_contract_error(tmp_path_factory, company):
    customers, subs, survey, period = company
    folder = tmp_path_factory.mktemp("company")
    write_table(folder, "customers", customers)
    write_table(folder, "subscriptions", subs)
    write_table(folder, "fx_rates", [{"currency": "USD", "rate_to_base": "1"},
                                     {"currency": "EUR", "rate_to_base": "1.1"}])
    write_table(folder, "survey_responses", survey,
                columns=["response_id", "survey", "respondent_id", "responded_at", "score", "comment"])
    try:
        data = kpi.load_dataset(str(folder))
    except kpi.ContractError:
        return
    headline = kpi.headline_kpis(kpi.KpiModel(data, period))
    for column in ("value", "previous", "year_ago"):
        for key, value in zip(headline["kpi"], headline[column]):
            assert not (isinstance(value, float) and math.isinf(value)), (key, column)
    undefined = headline[headline["value"].isna()]
    assert set(undefined["kpi"]) >= {"win_rate", "bounce_rate", "rule_of_40"}  # no tables for them
