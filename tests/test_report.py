"""The report runner's paths: success, failing notebooks, timeouts, bad output, atomic swap."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from kpilib import ContractError, PeriodError, ReportError, build_report
from kpilib.report.worker import render_html

from conftest import write_table

PARAMS = 'period = "2024-01"\ndata = "sample"\nbase_currency = "USD"\nsegment = "all"'


def make_notebook(directory: Path, name: str, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params,
                *(nbformat.v4.new_code_cell(s) for s in sources)]
    path = directory / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def nb_dir(tmp_path_factory):
    """The module's notebooks, in one folder: the packs built from it share kept workers (conftest)."""
    d = tmp_path_factory.mktemp("nbs")
    make_notebook(d, "ok", "secret_code_marker = 41 + 1\nprint('answer', secret_code_marker, period)")
    make_notebook(d, "boom", "x = 1", "raise ValueError('the data are odd')")
    make_notebook(d, "slow", "import time\ntime.sleep(30)")
    make_notebook(d, "words", "print('the page is in', lang)")
    return d


def run(tiny_dir, out, nb_dir, names, **kw):
    return build_report("2024-02", data=str(tiny_dir), out=out, notebooks=names, notebook_dir=nb_dir,
                        progress=False, **kw)


@pytest.mark.slow
def test_success_writes_pack(tiny_dir, nb_dir, tmp_path):
    pack = run(tiny_dir, tmp_path / "reports", nb_dir, ["ok"])
    assert pack == tmp_path / "reports" / "2024-02"
    assert sorted(p.name for p in pack.iterdir()) == ["customers.csv", "glossary.html", "index.html", "kpis.csv",
                                                      "kpis.json", "kpis.xlsx", "manifest.json", "movements.csv",
                                                      "ok.html", "ok.ipynb"]
    page = (pack / "ok.html").read_text(encoding="utf-8")
    assert "answer 42 2024-02" in page  # parameters were injected and outputs rendered
    text = re.sub(r"<[^>]+>", "", page)
    assert "secret_code_marker = 41" not in text, "code leaked into the HTML"
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "external request"
    assert "In&nbsp;[" not in page and "jp-InputPrompt" not in page.split("</style>")[-1]
    index = (pack / "index.html").read_text(encoding="utf-8")
    assert 'href="ok.html"' in index and "February 2024" in index
    assert str(tiny_dir) in index and "Data end: 2024-03-02" in index
    assert [p.name for p in (tmp_path / "reports").glob(".*")] == [".kpi.lock"], "staging folders left behind"


@pytest.mark.slow
def test_failing_notebook_names_notebook_cell_and_error(tiny_dir, nb_dir, tmp_path):
    out = tmp_path / "reports"
    good = run(tiny_dir, out, nb_dir, ["ok"])
    before = {p.name: p.read_bytes() for p in good.iterdir()}
    with pytest.raises(ReportError) as info:
        run(tiny_dir, out, nb_dir, ["ok", "boom"])
    err = info.value
    assert (err.notebook, err.ename) == ("boom", "ValueError")
    assert err.cell_index == 4  # markdown, parameters, injected parameters, x = 1, raise
    assert "the data are odd" in str(err) and "boom" in str(err)
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before, "good pack was touched"
    assert [p.name for p in out.glob(".*")] == [".kpi.lock"], "staging folders left behind"


@pytest.mark.slow
def test_timeout_is_a_failure(tiny_dir, nb_dir, tmp_path):
    with pytest.raises(ReportError) as info:
        run(tiny_dir, tmp_path / "reports", nb_dir, ["slow"], timeout=2)
    assert info.value.ename == "CellTimeoutError"
    assert not (tmp_path / "reports" / "2024-02").exists()


@pytest.mark.slow
def test_unwritable_output(tiny_dir, nb_dir, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ReportError, match="cannot write to output folder"):
        run(tiny_dir, blocker / "reports", nb_dir, ["ok"])


def test_bad_period_writes_nothing(tiny_dir, nb_dir, tmp_path):
    with pytest.raises(PeriodError):
        build_report("2024-14", data=str(tiny_dir), out=tmp_path / "r", notebook_dir=nb_dir,
                     notebooks=["ok"], progress=False)
    assert not (tmp_path / "r").exists()


def test_period_without_data_is_refused(tiny_dir, nb_dir, tmp_path):
    with pytest.raises(PeriodError, match="has no data"):
        build_report("2019", data=str(tiny_dir), out=tmp_path / "r", notebook_dir=nb_dir,
                     notebooks=["ok"], progress=False)
    assert not (tmp_path / "r").exists()


def test_bad_data_writes_nothing(tiny_dir, nb_dir, tmp_path):
    write_table(tiny_dir, "fx_rates", [{"currency": "USD", "rate_to_base": "1"}])
    with pytest.raises(ContractError, match="every currency needs a rate"):
        run(tiny_dir, tmp_path / "r", nb_dir, ["ok"])
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_progress_callback_counts_steps(tiny_dir, nb_dir, tmp_path):
    steps: list[tuple[int, str]] = []
    build_report("2024-02", data=str(tiny_dir), out=tmp_path / "r", notebooks=["ok"],
                 notebook_dir=nb_dir, progress=lambda i, label: steps.append((i, label)))
    assert steps == [(1, "model"), (2, "rendered ok"), (3, "index")]


def test_render_escapes_untrusted_output(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(name)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="<script>alert(1)</script>\n")]
    nb.cells = [cell]
    src = tmp_path / "x.ipynb"
    nbformat.write(nb, src)
    render_html(src, tmp_path / "x.html")
    page = (tmp_path / "x.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _outputs_notebook() -> nbformat.NotebookNode:
    """A notebook with the outputs a page holds: a chart (PNG), a table (HTML), text, markdown."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [1, 0])
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png.getvalue()).decode()}),
        nbformat.v4.new_output("display_data", data={"text/html": "<table><tr><td>1</td></tr></table>",
                                                     "text/plain": "1"}),
        nbformat.v4.new_output("stream", name="stdout", text="ok\n"),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\nSome *words* and ![a picture](data:image/png;base64,"
                                              + cell.outputs[0].data["image/png"] + ")"), cell]
    return nb


def _elements(page: str) -> list[tuple]:
    from bs4 import BeautifulSoup

    return [(e.name, sorted((k, " ".join(v) if isinstance(v, list) else v) for k, v in e.attrs.items()), e.string)
            for e in BeautifulSoup(page, "html.parser").find_all(True)]


def test_a_page_is_element_for_element_what_nbconvert_renders():
    """The kit renders a page without nbconvert's BeautifulSoup pass (most of a page's rendering time),
    adding the same alternative text and keyboard focus itself: the elements, their attributes and
    their text are nbconvert's own."""
    from nbconvert import HTMLExporter

    from kpilib.paths import TEMPLATES_DIR
    from kpilib.report.render import page_html
    from kpilib.report.worker import page_script_words

    nb = _outputs_notebook()
    resources = {"metadata": {"name": "T"}, "kpi_words": page_script_words()}
    theirs, _ = HTMLExporter(template_name="kpi", extra_template_basedirs=[str(TEMPLATES_DIR)], exclude_input=True,
                             exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True,
                             language_code="en").from_notebook_node(nb, resources=resources)
    ours = page_html(nb, "T", page_script_words())
    assert _elements(ours) == _elements(theirs)
    assert ours.count('tabindex="0"') == theirs.count('tabindex="0"') == 4  # three outputs and the markdown
    assert ours.count('alt="No description has been provided for this image"') == 1  # the chart's


def test_a_translated_page_describes_its_images_in_its_language():
    from kpilib.i18n import using
    from kpilib.report.render import page_html

    with using("fr"):
        page = page_html(_outputs_notebook(), "T", {})
    alts = re.findall(r'<img alt="([^"]*)"', page)
    assert len(alts) == 1 and alts[0] != "No description has been provided for this image" and alts[0]
    assert 'alt="a picture"' in page  # the markdown's own description is kept


@pytest.mark.slow
def test_a_pack_in_another_language_goes_beside_the_english_one(tiny_dir, nb_dir, tmp_path, capsys):
    """``kpi report --lang xx``: the pack goes to ``<period>-xx/``, the English pack is left as it was,
    every notebook gets the ``lang`` parameter, and the two packs' indexes know each other."""
    import json

    from kpilib.cli import main
    from kpilib.i18n import current_language

    english = run(tiny_dir, tmp_path / "reports", nb_dir, ["ok", "words"])
    before = {p.name: p.read_bytes() for p in english.iterdir()}
    assert "the page is in en" in (english / "words.html").read_text(encoding="utf-8")
    code = main(["report", "--period", "2024-02", "--data", str(tiny_dir), "--out", str(tmp_path / "reports"),
                 "--notebook-dir", str(nb_dir), "--notebooks", "ok", "words", "--no-progress", "--lang", "xx"])
    assert code == 0, capsys.readouterr().err
    pack = tmp_path / "reports" / "2024-02-xx"
    assert str(pack) in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in english.iterdir()} == before, "the English pack was touched"
    assert "the page is in xx" in (pack / "words.html").read_text(encoding="utf-8")
    assert json.loads((pack / "manifest.json").read_text(encoding="utf-8"))["parameters"]["lang"] == "xx"
    doc = json.loads((pack / "kpis.json").read_text(encoding="utf-8"))
    assert doc["lang"] == "xx" and "\u27ea" not in json.dumps(doc, ensure_ascii=False)  # machine-readable: English
    index = (pack / "index.html").read_text(encoding="utf-8")
    assert '<html lang="xx">' in index and "\u27eaKPI report\u27eb" in index
    assert 'href="../2024-02/index.html"' in index, "the English pack is listed as another language"
    assert "\u27ea" in (pack / "glossary.html").read_text(encoding="utf-8")
    assert current_language() == "en", "the run left its language set"


def test_the_snapshot_key_holds_the_language():
    from kpilib.i18n import using
    from kpilib.report.snapshot import snapshot_key

    english = snapshot_key("sample", "2025-12", "usd", "all")
    assert english == snapshot_key("sample", "2025-12", "USD", None, "en")
    with using("fr"):
        assert snapshot_key("sample", "2025-12", "USD", "all") != english


def test_pack_names_and_siblings_by_language(tmp_path):
    import json

    from kpilib.periods import parse_period
    from kpilib.report.runner import pack_name, sibling_packs, translated_packs

    period = parse_period("2025-12")
    assert pack_name(period, "all", "fr") == "2025-12-fr"
    assert pack_name(period, "Enterprise", "fr") == "2025-12-segment-enterprise-fr"
    assert pack_name(period, "Enterprise") == "2025-12-segment-enterprise"
    for name, lang in [("2025-12", "en"), ("2025-12-fr", "fr"), ("2025-12-segment-smb", "en"),
                       ("2025-12-segment-smb-fr", "fr"), ("2025-12-segment-x-fr", "en")]:  # the last: segment "x-fr"
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps({"parameters": {"lang": lang}}))
    assert sibling_packs(tmp_path, period, "2025-12") == ["2025-12-segment-smb", "2025-12-segment-x-fr"]
    assert sibling_packs(tmp_path, period, "2025-12-fr", "fr") == ["2025-12-segment-smb-fr"]
    assert translated_packs(tmp_path, period, "2025-12") == [("2025-12-fr", "fr")]
    assert translated_packs(tmp_path, period, "2025-12-segment-smb-fr", "fr") == [("2025-12-segment-smb", "en")]


def test_a_tables_index_name_sits_in_the_header_rows_corner_escaped():
    """One header row: the index's name in its corner cell (pandas would give it a second row of its
    own under the column names, and write it unescaped)."""
    import pandas as pd

    from kpilib.report.display import show_table

    frame = pd.DataFrame({"MRR": [1.0, 2.0]}, index=pd.Index(["2025-11", "2025-12"], name="R&D <Period>"))
    page = show_table(frame, table_id="x").to_html()
    head = page[page.index("<thead>"):page.index("</thead>")]
    assert head.count("<tr>") == 1
    assert re.search(r'<th class="index_name level0" >R&amp;D &lt;Period&gt;</th>\s*<th [^>]*>MRR</th>', head)
    assert "<Period>" not in page
    assert frame.index.name == "R&D <Period>"  # the caller's frame is left as it was
    plain = show_table(frame.rename_axis(None), table_id="y").to_html()
    assert plain.count("<tr>") == 3 and "index_name" not in plain
    hidden = show_table(frame, table_id="z", hide_index=True).to_html()
    assert "Period" not in hidden


def test_the_index_lists_the_inputs_without_an_empty_column_and_marks_a_stale_feed(tiny_dir, tmp_path):
    import kpilib as kpi
    from kpilib.report.render import write_index

    dataset = kpi.load_dataset(str(tiny_dir))
    audit = {"tables": {"web_traffic": {"rows": 1, "first": "2024-01-01", "last": "2024-01-01", "stale": True,
                                        "sha256": "a" * 64},
                        "customers": {"rows": 2, "first": "2024-01-10", "last": "2024-02-03", "stale": False,
                                      "sha256": "b" * 64}},
             "stale": ["web_traffic ends on 2024-01-01"], "kpilib_version": "1", "kit_commit": "c" * 40}
    page = write_index(tmp_path, kpi.parse_period("2024-03"), dataset, [], {}, "all", audit=audit).read_text()
    table = page[page.index('<table class="manifest">'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    assert "<th></th>" not in rows[0] and all(len(re.findall(r"<t[dh]>", r)) == 5 for r in rows)
    # headers are words, capitalised like every other table of the pack
    assert re.findall(r"<th>(.*?)</th>", rows[0]) == ["Table", "Rows", "First date", "Last date", "Content hash"]
    assert "<td>2024-01-01 (stale)</td>" in rows[1] and "<td>2024-02-03</td>" in rows[2]


def test_a_chart_is_described_by_its_titles():
    """``kpi.chart`` shows a figure with its titles as the image's alternative text (its metadata), which
    the page template writes into ``<img alt>``, escaped: a reader who cannot see the chart hears what
    it says."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kpilib.report.charts import alt_text
    from kpilib.report.render import page_html

    fig, (left, right) = plt.subplots(1, 2)
    fig.suptitle("MRR grew <5% & more")
    left.set_title("By segment")
    right.set_title("By plan.", loc="left")
    assert alt_text(fig) == "MRR grew <5% & more. By segment. By plan."
    plt.close(fig)
    nb = _outputs_notebook()
    nb.cells[1].outputs[0].metadata = {"image/png": {"alt": "MRR grew <5% & more. By segment. By plan."}}
    alts = re.findall(r'<img alt="([^"]*)"', page_html(nb, "T", {}))
    assert alts == ["MRR grew &lt;5% &amp; more. By segment. By plan."]
