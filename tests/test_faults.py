"""Fault injection through the real ``kpi report``: signals, kills, locks, timeouts, bad arguments.

Every case runs the CLI in a subprocess on the tiny company with a short notebook of its own
(``--notebook-dir``), and checks the exit code, the message, that the previous pack is byte for
byte what it was, that no staging folder is left, and that no process the run started is still
alive (every process of a run carries a marker in its environment, which /proc shows).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")

PARAMS = ('period: str = "2024-03"  # month\ndata: str = "sample"  # source\n'
          'base_currency: str = "USD"  # currency\nsegment: str = "all"  # segment')


def _notebook(folder: Path, name: str, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tiny company, quick and slow notebooks, and one good pack built once for the module."""
    import shutil

    from conftest import TINY, write_table

    base = tmp_path_factory.mktemp("faults")
    data = base / "tiny"
    data.mkdir()
    for name, rows in TINY.items():
        write_table(data, name, [dict(r) for r in rows])
    quick, slow, started = base / "quick", base / "slow", base / "started"
    started.mkdir()
    _notebook(quick, "page", "import pandas as pd\nprint('ok', period)\npd.DataFrame({'a': [1]}).style.set_uuid('t')")
    # a slow page says it is running: a file named after its run's marker (see _wait_for_kernels)
    running = f"import os, pathlib, time\npathlib.Path({str(started)!r}, os.environ['KPI_FAULT_MARKER']).touch()\n"
    _notebook(slow, "page", running + "time.sleep(60)")
    _notebook(slow, "other", running + "time.sleep(60)")
    job = {"data": data, "quick": quick, "slow": slow, "out": base / "packs", "marker": uuid.uuid4().hex,
           "tmp": base / "tmp", "started": started}
    job["tmp"].mkdir()
    done = _run(job, "quick")
    assert done.returncode == 0, done.stderr
    shutil.rmtree(job["out"] / ".kpi.lock", ignore_errors=True)
    return job


@pytest.fixture
def job(built, tmp_path):
    """A fresh output folder holding a copy of the good pack, and a marker of its own."""
    import shutil

    out = tmp_path / "packs"
    shutil.copytree(built["out"] / "2024-03", out / "2024-03")
    job = {**built, "out": out, "marker": uuid.uuid4().hex, "tmp": tmp_path / "tmp"}
    job["tmp"].mkdir()  # the run's $TMPDIR, to see what it leaves there
    job["before"] = _snapshot(out / "2024-03")
    return job


def _cmd(job, notebooks: str, *extra: str, period: str | None = "2024-03") -> list[str]:
    chosen = ["--period", period] if period else []
    return [sys.executable, "-m", "kpilib.cli", "report", *chosen, "--data", str(job["data"]),
            "--out", str(job["out"]), "--notebook-dir", str(job[notebooks]), "--no-progress", *extra]


def _env(job) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["KPI_FAULT_MARKER"] = job["marker"]
    env["TMPDIR"] = str(job["tmp"])
    return env


def _run(job, notebooks: str, *extra: str, timeout: int = 120, period: str | None = "2024-03",
         **kw) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(job, notebooks, *extra, period=period), env=_env(job), capture_output=True,
                          text=True, timeout=timeout, **kw)


def _start(job, notebooks: str, *extra: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(_cmd(job, notebooks, *extra), env=_env(job), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _alive(marker: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"KPI_FAULT_MARKER={marker}".encode() in (proc / "environ").read_bytes():
                state = (proc / "stat").read_text().split()[2]
                if state != "Z":
                    pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _wait_gone(marker: str, seconds: float = 10.0) -> list[int]:
    end = time.monotonic() + seconds
    while (left := _alive(marker)) and time.monotonic() < end:
        time.sleep(0.2)
    return left


def _wait_for_kernels(job, proc: subprocess.Popen, seconds: float = 60.0) -> None:
    """Wait until the run's kernels run its pages (a slow page has said so, see ``built``)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if (job["started"] / job["marker"]).exists() and len(_alive(job["marker"])) >= 3:
            time.sleep(1.0)
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError("the run never started its kernels")


def _assert_clean(job, log_kept: str | None = None) -> None:
    """The previous pack as it was, no staging folder, no live process, and nothing in $TMPDIR but the
    kernel log that the message ``log_kept`` names, if any."""
    assert _snapshot(job["out"] / "2024-03") == job["before"], "the previous pack changed"
    assert not list(job["out"].glob(".*.building-*")), "a staging folder was left behind"
    assert not _wait_gone(job["marker"]), "a process of the run is still alive"
    left = sorted(str(p.relative_to(job["tmp"])) for p in job["tmp"].rglob("*"))  # kernels' files too
    if log_kept is None:
        assert not left, f"the run left files in $TMPDIR: {left}"
    else:
        assert len(left) == 2 and left[1] == f"{left[0]}/kernels.log", left
        left = [str(job["tmp"] / left[1])]
        assert f"kernel log: {left[0]}, kept until the next run" in log_kept


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_a_signal_stops_the_run_within_five_seconds(job, sig, code, name):
    proc = _start(job, "slow", start_new_session=True)
    _wait_for_kernels(job, proc)
    sent = time.monotonic()
    os.killpg(proc.pid, sig)  # the whole process group, as a terminal's Ctrl-C or systemd would
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5, "the run took more than 5 s to stop"
    assert proc.returncode == code, err
    assert f"stopped by {name}: nothing was replaced" in err and "Traceback" not in err
    _assert_clean(job)


@pytest.mark.slow
def test_after_sigkill_the_children_exit_and_the_next_run_sweeps_the_debris(job):
    proc = _start(job, "slow", start_new_session=True)
    _wait_for_kernels(job, proc)
    proc.kill()
    proc.wait(timeout=10)
    assert not _wait_gone(job["marker"], 15), "workers or kernels outlived the runner"
    assert list(job["out"].glob(".2024-03.building-*")), "expected the killed run's staging folder"
    killed = list(job["tmp"].glob(f"kpi-run-{proc.pid}-*"))  # named with the runner's pid
    assert len(killed) == 1 and (killed[0] / "model.pickle").exists(), list(job["tmp"].iterdir())
    alive = job["tmp"] / "kpi-run-1-keep"  # pid 1 lives: another run's folder, never swept
    alive.mkdir()
    done = _run(job, "quick")
    assert done.returncode == 0, done.stderr
    assert not list(job["out"].glob(".*.building-*")) and not list(job["out"].glob(".*.old-*"))
    assert sorted(job["tmp"].glob("kpi-run-*")) == [alive], "the dead run's folder (or this run's) was left"


@pytest.mark.slow
def test_a_second_run_into_the_same_folder_fails_fast(job):
    first = _start(job, "slow")
    try:
        _wait_for_kernels(job, first)
        second = _run(job, "quick", timeout=60)
        assert second.returncode == 5
        assert "another kpi report is writing into" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    _assert_clean(job)


@pytest.mark.slow
def test_a_cell_timeout_names_the_notebook_never_a_cancelled_error(job):
    done = _run(job, "slow", "--timeout", "1")
    assert done.returncode == 5, done.stderr
    assert "notebook other failed" in done.stderr or "notebook page failed" in done.stderr
    assert "CancelledError" not in done.stderr and "nothing was replaced" in done.stderr
    assert "kernel log: " in done.stderr and "/tmp/kpi-kernels.log" not in done.stderr
    _assert_clean(job, log_kept=done.stderr)  # the log the message names, and nothing else


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["--workers", "0"], ["--workers", "-1"], ["--workers", "1000"],
                                  ["--timeout", "0"], ["--timeout", "-1"]])
def test_out_of_range_workers_and_timeouts_are_usage_errors(job, argv):
    done = _run(job, "quick", *argv)
    assert done.returncode == 2 and "must be" in done.stderr
    _assert_clean(job)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["../page", "/etc/page", "sub/page"])
def test_notebooks_are_names_never_paths(job, name):
    done = _run(job, "quick", "--notebooks", name)
    assert done.returncode == 2 and "names, not paths" in done.stderr
    _assert_clean(job)


@pytest.mark.slow
def test_a_file_where_the_pack_goes_is_refused(job, tmp_path):
    job["out"] = tmp_path / "other"
    job["out"].mkdir()
    (job["out"] / "2024-03").write_text("not a pack")
    done = _run(job, "quick")
    assert done.returncode == 5 and "is not a pack folder" in done.stderr
    assert (job["out"] / "2024-03").read_text() == "not a pack"
    assert [p.name for p in job["out"].glob(".*")] == [".kpi.lock"]  # no staging folder, only the lock


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_a_report_error(job):
    job["out"].chmod(0o555)
    try:
        done = _run(job, "quick")
    finally:
        job["out"].chmod(0o755)
    assert done.returncode == 5 and "nothing was replaced" in done.stderr


@pytest.mark.slow
def test_the_same_inputs_give_a_byte_identical_pack(job):
    done = _run(job, "quick")  # a second build over the copy of the first
    assert done.returncode == 0, done.stderr
    assert _snapshot(job["out"] / "2024-03") == job["before"]


@pytest.mark.slow
def test_pack_files_follow_the_umask(built):
    pack = built["out"] / "2024-03"
    mask = os.umask(0)
    os.umask(mask)
    assert pack.stat().st_mode & 0o777 == 0o777 & ~mask
    assert (pack / "index.html").stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.slow
def test_a_kernel_killed_mid_run_is_a_report_error_naming_the_notebook(job, tmp_path):
    dying = tmp_path / "dying"
    _notebook(dying, "page", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    job["dying"] = dying
    done = _run(job, "dying")
    assert done.returncode == 5, done.stderr
    assert "notebook page failed" in done.stderr and "DeadKernelError" in done.stderr
    assert "nothing was replaced" in done.stderr
    _assert_clean(job, log_kept=done.stderr)


@pytest.mark.slow
def test_a_full_disk_while_writing_is_a_report_error(job, monkeypatch):
    import errno
    import tempfile

    from kpilib import ReportError, build_report
    from kpilib.report import runner as _report

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_report, "write_glossary", full)
    monkeypatch.setattr(tempfile, "tempdir", str(job["tmp"]))  # the run's private folder goes there
    with pytest.raises(ReportError) as err:
        build_report("2024-03", data=str(job["data"]), out=job["out"], notebook_dir=job["quick"],
                     progress=False)
    assert "No space left on device" in str(err.value) and "nothing was replaced" in str(err.value)
    assert f"cannot write the pack into {job['out']}: " in str(err.value)  # no file named: the folder
    _assert_clean(job, log_kept=str(err.value))


@pytest.mark.slow
def test_an_infinite_amount_in_the_sample_exits_3_naming_the_row(job, tmp_path):
    import shutil

    from kpilib.paths import SAMPLE_DATA_DIR

    data = tmp_path / "export"
    shutil.copytree(SAMPLE_DATA_DIR, data)
    lines = (data / "subscriptions.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[9].split(",")
    row[header.index("amount")] = "inf"
    lines[9] = ",".join(row)
    (data / "subscriptions.csv").write_text("\n".join(lines) + "\n")
    job["data"] = data
    done = _run(job, "quick")
    assert done.returncode == 3
    assert "table 'subscriptions', column 'amount'" in done.stderr and "(row 10)" in done.stderr
    _assert_clean(job)


@pytest.mark.slow
@pytest.mark.parametrize("url", ["postgresql+psycopg:/u:SuperSecret123@127.0.0.1:1/db",
                                 "postgresql+psycopg://u:SuperSecret123@127.0.0.1:abc/db"])
def test_a_password_in_a_mistyped_url_is_masked(job, url):
    job["data"] = url
    done = _run(job, "quick")
    assert done.returncode in (3, 6) and "SuperSecret123" not in done.stdout + done.stderr
    assert "u:***@" in done.stderr


@pytest.mark.slow
def test_a_time_zoned_date_in_the_sample_builds_the_pack(job, tmp_path):
    import shutil

    from kpilib.paths import SAMPLE_DATA_DIR

    data = tmp_path / "export"
    shutil.copytree(SAMPLE_DATA_DIR, data)
    text = (data / "subscriptions.csv").read_text().splitlines()
    header = text[0].split(",")
    row = text[5].split(",")
    row[header.index("start_date")] = row[header.index("start_date")] + "T10:00:00+05:00"
    text[5] = ",".join(row)
    (data / "subscriptions.csv").write_text("\n".join(text) + "\n")
    job["data"] = data
    done = _run(job, "quick")
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_malformed_database_url_in_the_environment_is_masked(job):
    env = _env(job) | {"KPI_DATABASE_URL": "postgresql+psycopg://u:SuperSecret123@127.0.0.1:abc/db"}
    done = subprocess.run([sys.executable, "-m", "kpilib.cli", "validate", "--data", "database"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 6 and "SuperSecret123" not in done.stdout + done.stderr
    assert "cannot be used" in done.stderr and "Traceback" not in done.stderr


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sample_copy(tmp_path: Path) -> Path:
    import shutil

    from kpilib.paths import SAMPLE_DATA_DIR

    data = tmp_path / "export"
    shutil.copytree(SAMPLE_DATA_DIR, data)
    return data


@pytest.mark.slow
def test_an_early_ctrl_c_to_the_group_prints_no_traceback(job):
    """Ctrl-C to the whole process group while the pool workers are still importing."""
    proc = _start(job, "slow", start_new_session=True)
    end = time.monotonic() + 60
    # the runner, the resource tracker and both workers: the staging folder exists, the workers import
    while not (any(job["out"].glob(".2024-03.building-*")) and len(_alive(job["marker"])) >= 4):
        assert proc.poll() is None and time.monotonic() < end, proc.communicate()
        time.sleep(0.02)
    time.sleep(0.3)  # the workers' interpreters are up and importing (about 1 s): where a traceback came from
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip() == "stopped by SIGINT: nothing was replaced, no staging folder left"
    _assert_clean(job)


@pytest.mark.slow
def test_sigterm_while_the_data_load_exits_143_with_the_line(job, tmp_path):
    job["data"] = _sample_copy(tmp_path)
    # the usage table eight times over (its rows repeat, which the load never gets to check): loading
    # it takes several seconds of CPU, so the signal lands inside the load on a fast or busy machine
    usage = job["data"] / "product_usage.csv"
    head, body = usage.read_text().split("\n", 1)
    usage.write_text(head + "\n" + body * 8)
    proc = _start(job, "quick")
    # past the imports (about 1 s of CPU), well inside the load
    while _cpu_seconds(proc.pid) < 1.6:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM: nothing was replaced" in err and "Traceback" not in err
    assert not (job["out"] / ".kpi.lock").exists(), "the signal came after the data were loaded"
    _assert_clean(job)


@pytest.mark.slow
def test_a_pack_left_aside_by_a_run_killed_mid_swap_is_put_back(job):
    """A run killed between its two renames leaves no 2024-03, only .2024-03.old-*: the next run
    (here for another month) renames it back instead of deleting it."""
    out = job["out"]
    (out / "2024-03").rename(out / ".2024-03.old-0123abcd")
    (out / ".2024-03.old-ffff0000").mkdir()  # a second one: 2024-03 is back by then, so it goes
    done = _run(job, "quick", period="2024-02")
    assert done.returncode == 0, done.stderr
    assert (out / "2024-02" / "index.html").exists()
    assert not list(out.glob(".*.old-*"))
    _assert_clean(job)  # 2024-03 byte for byte as it was


def test_a_signal_between_the_two_renames_waits_for_the_swap(tmp_path, monkeypatch, capsys):
    """SIGTERM right after the old pack was renamed away: the new one still goes into place first."""
    from kpilib.cli import _stopped
    from kpilib.report import runner

    final, staging = tmp_path / "2024-03", tmp_path / ".2024-03.building-x"
    final.mkdir()
    (final / "was").write_text("old")
    staging.mkdir()
    (staging / "now").write_text("new")
    rename = Path.rename

    def rename_then_signal(self, target):
        done = rename(self, target)
        if self == final:  # the old pack is away, the new one not yet in place
            os.kill(os.getpid(), signal.SIGTERM)
        return done

    monkeypatch.setattr(Path, "rename", rename_then_signal)
    with pytest.raises(runner.Stopped) as stop, runner.stop_on_signals():
        runner._swap_in(staging, final)
    assert stop.value.signum == signal.SIGTERM and stop.value.replaced == final
    assert [p.name for p in tmp_path.iterdir()] == ["2024-03"] and (final / "now").read_text() == "new"
    assert _stopped(stop.value) == 143
    assert capsys.readouterr().err == f"stopped by SIGTERM: the new pack was already in place at {final}\n"


@pytest.mark.slow
def test_every_page_of_a_sample_pack_carries_the_sample_banner(job, tmp_path):
    banner = tmp_path / "banner"
    _notebook(banner, "page", "import kpilib as kpi\nfrom kpilib.report.context import context_html\n"
              "m = kpi.KpiModel.load(data, period, base_currency=base_currency, segment=segment)\n"
              "context_html(m.data, m.period)")
    job["banner"], job["data"] = banner, "sample"
    done = _run(job, "banner", period=None, cwd=tmp_path)  # the bundled sample, its latest month
    assert done.returncode == 0, done.stderr
    pages = sorted((job["out"] / "2025-12").glob("*.html"))
    assert [p.name for p in pages] == ["glossary.html", "index.html", "page.html"]
    for page in pages:
        assert 'class="kpi-sample">These are the figures of the bundled sample company' in page.read_text(), page
    assert 'class="kpi-sample"' not in (job["out"] / "2024-03" / "index.html").read_text()  # not on the user's


@pytest.mark.slow
def test_a_future_subscription_start_does_not_move_the_default_period(job, tmp_path):
    import shutil

    data = tmp_path / "export"
    shutil.copytree(job["data"], data)
    with open(data / "subscriptions.csv", "a", encoding="utf-8") as fh:
        fh.write("s9,c1,Starter,2030-06-15,,100,month,USD\n")
    job["data"] = data
    done = _run(job, "quick", period=None)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in job["out"].iterdir() if not p.name.startswith(".")) == ["2024-02", "2024-03"]
    assert ("warning: table 'subscriptions' has 1 row(s) dated after 2024-02-29 (latest 2030-06-15"
            in done.stderr)
    _assert_clean(job)


@pytest.mark.slow
@pytest.mark.parametrize(("limit", "where"), [(50_000, "tmp/kpi-run-*/model.pickle"),  # in $TMPDIR
                                              (100_000, "packs/.2024-03.building-*/page.html")])  # a worker's
def test_a_full_disk_names_the_file_that_failed(job, limit, where):
    """A file size limit (RLIMIT_FSIZE) fails writes as a full disk does, in the runner or in a worker."""
    import fnmatch
    import resource

    def full() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = _run(job, "quick", preexec_fn=full)
    assert done.returncode == 5, done.stderr
    failed = done.stderr.split("cannot write ", 1)[1].split(": File too large; nothing was replaced (")[0]
    assert fnmatch.fnmatch(failed, f"{job['out'].parent}/{where}"), done.stderr
    _assert_clean(job, log_kept=done.stderr)


@pytest.mark.parametrize("url", ["postgresql+psycopg:/u:SuperSecret123@127.0.0.1:1/db",
                                 "postgresql+psycopg://u:SuperSecret123@127.0.0.1:abc/db"])
def test_debug_tracebacks_mask_the_password(url, capsys):
    from kpilib.cli import main

    code = main(["--debug", "validate", "--data", url])
    err = capsys.readouterr().err
    assert code == 6 and "Traceback" in err
    assert "SuperSecret123" not in err and "u:***@" in err


@pytest.mark.parametrize(("typed", "shown"), [
    ("postgresql+psycopg:/u:SuperSecret123@h:1/db", "postgresql+psycopg:/u:***@h:1/db"),
    ("postgresql+psycopg://u:pa/ss@h/db", "postgresql+psycopg://u:***@h/db"),
    ("u:pa/ss@h", "u:***@h"), ("u:p@ss@h", "u:***@h"), (":pw@h", ":***@h"),
    ("postgresql://:pw@h/db", "postgresql://:***@h/db"), ("u:/pw@h", "u:***@h"),
    ("postgresql://u@h/db", "postgresql://u@h/db"), ("/srv/exports/kpi", "/srv/exports/kpi"),
    ("/work/postgresql+psycopg:/u:pw@h:1/db", "/work/postgresql+psycopg:/u:***@h:1/db"),
])
def test_anything_shaped_like_a_password_is_masked(typed, shown):
    from kpilib.cli import mask_secrets

    assert mask_secrets(f"data source '{typed}' is not a folder") == f"data source '{shown}' is not a folder"
    for long in ("a:" + "b" * 200_000, "b" * 200_000 + "@"):  # linear: a backtracking pattern took minutes
        assert mask_secrets(long) == long


def test_a_stopped_command_ends_even_when_a_thread_never_does():
    """The kpi command's exit is bounded after a stop: a thread Python's exit would join forever (a
    process pool's, stopped while its workers start) cannot hang a scheduled job."""
    code = ("import threading, kpilib.cli as c\n"
            "c.STOP_GRACE_SECONDS = 0.5\n"
            "threading.Thread(target=threading.Event().wait).start()  # never ends, not a daemon\n"
            "c._end_later(2)\n")
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 130, done.stderr
    assert time.monotonic() - start < 20
