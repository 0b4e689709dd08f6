"""The unattended job: no substituted data, no relative-path surprises, no stray future date
moving the report. Each case goes through the real ``kpi`` command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from kpilib.cli import main
from kpilib.paths import SAMPLE_DATA_DIR

from conftest import TINY


@pytest.mark.parametrize("argv", [["report", "--data", ""], ["report", "--out", "  "],
                                  ["validate", "--data", ""], ["load", "--data", "", "--to", "x"],
                                  ["sample-data", "--out", ""]])
def test_an_empty_data_or_out_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "is empty (an unset shell variable?)" in capsys.readouterr().err


def test_data_sample_is_refused_when_a_sample_folder_is_here(tmp_path, monkeypatch, capsys):
    (tmp_path / "sample").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["validate", "--data", "sample"])
    assert info.value.code == 2 and "ambiguous" in capsys.readouterr().err


def test_empty_source_never_means_the_sample():
    from kpilib import KpiError, load_dataset

    with pytest.raises(KpiError, match="empty"):
        load_dataset("")


def test_a_stray_future_date_does_not_move_the_default_period(tmp_path):
    from kpilib import load_dataset
    from kpilib.data.asof import default_period

    for f in SAMPLE_DATA_DIR.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    with open(tmp_path / "survey_responses.csv", "a", encoding="utf-8") as fh:
        fh.write("R_FUTURE,nps,C00001,2030-06-15,9,\n")
    period, late = default_period(load_dataset(str(tmp_path)))
    assert period.label == "2025-12"
    assert len(late) == 1 and "survey_responses" in late[0] and "2030-06-15" in late[0]


@pytest.mark.slow
def test_relative_data_and_out_from_another_folder(tmp_path, tiny_dir):
    """The README's ``--data path/to/export`` form, run from a folder that is not the project's."""
    work = tmp_path / "job"
    (work / "export").mkdir(parents=True)
    for name in TINY:
        shutil.copy(tiny_dir / f"{name}.csv", work / "export" / f"{name}.csv")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run([sys.executable, "-m", "kpilib.cli", "report", "--data", "export", "--out", "packs",
                           "--period", "2024-03", "--notebooks", "00_overview", "--no-progress"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    pack = work / "packs" / "2024-03"
    assert (pack / "00_overview.html").exists()
    figures = json.loads((pack / "kpis.json").read_text())
    source = str((work / "export").resolve())  # one name for the source across the pack
    assert figures["period"] == "2024-03" and figures["data_source"] == source
    assert source in (pack / "00_overview.html").read_text()


def test_segment_pack_names_are_slugs_inside_the_output_folder():
    from kpilib import parse_period
    from kpilib.report.runner import pack_name

    p = parse_period("2025-12")
    assert pack_name(p, "all") == "2025-12" and pack_name(p, None) == "2025-12"
    assert pack_name(p, "Enterprise") == "2025-12-segment-enterprise"
    assert pack_name(p, "Mid-Market") == "2025-12-segment-mid-market"
    evil = pack_name(p, "../../evil/SMB")
    assert evil == "2025-12-segment-evil-smb" and "/" not in evil and ".." not in evil
    assert pack_name(p, "../..").startswith("2025-12-segment-") and "/" not in pack_name(p, "../..")


@pytest.mark.slow
def test_a_segment_pack_is_written_beside_the_company_pack_never_over_it(tmp_path, tiny_dir):
    from kpilib import build_report

    out = tmp_path / "packs"
    company = build_report("2024-03", data=str(tiny_dir), out=out, notebooks=["00_overview"], progress=False)
    before = {p.name: p.read_bytes() for p in company.iterdir()}
    smb = build_report("2024-03", data=str(tiny_dir), out=out, segment="SMB", notebooks=["00_overview"],
                       progress=False)
    assert smb == out / "2024-03-segment-smb" and company == out / "2024-03"
    index = (company / "index.html").read_text()
    assert 'class="kpi-tile' in index and 'href="glossary.html"' in index  # the index shows the tiles
    page = (company / "00_overview.html").read_text()
    assert ".ipynb\"" not in page and ".ipynb\"" not in index  # JupyterLab's links become the pack's pages
    for html_page in company.glob("*.html"):  # and only to pages this pack holds: 01-05 were not built
        text = html_page.read_text()
        links = re.findall(r'href="([^"#:]+)"', text)
        assert links and all((company / link).exists() for link in links if not link.startswith("../")), \
            (html_page.name, [link for link in links if not (company / link).exists()])
    assert 'href="index.html"' in page and 'href="glossary.html"' in page and "Revenue" in page
    assert "What went in" in index and json.loads((company / "manifest.json").read_text())["period"] == "2024-03"
    glossary = (company / "glossary.html").read_text()
    assert 'id="kpi-ltv-cac"' in glossary and "As of the period" in glossary
    assert {p.name: p.read_bytes() for p in company.iterdir()} == before
    assert 'href="../2024-03/index.html"' in (smb / "index.html").read_text()
    figures = json.loads((smb / "kpis.json").read_text())
    assert figures["filters"] == {"segment": "SMB"}
    rows = {r["kpi"]: r for r in figures["kpis"]}
    assert rows["rule_of_40"]["value"] is None and rows["rule_of_40"]["note"].startswith("company-wide")


def test_exported_text_never_starts_a_formula():
    import pandas as pd

    from kpilib.report.export import neutralise

    hostile = pd.DataFrame({"label": ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx", "MRR"],
                            "value": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    safe = neutralise(hostile)
    assert safe["label"].tolist()[:6] == ["'" + v for v in hostile["label"][:6]]
    assert safe["label"].iloc[6] == "MRR" and safe["value"].tolist() == hostile["value"].tolist()
