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
    quick, slow = base / "quick", base / "slow"
    _notebook(quick, "page", "import pandas as pd\nprint('ok', period)\npd.DataFrame({'a': [1]}).style.set_uuid('t')")
    _notebook(slow, "page", "import time\ntime.sleep(60)")
    _notebook(slow, "other", "import time\ntime.sleep(60)")
    job = {"data": data, "quick": quick, "slow": slow, "out": base / "packs", "marker": uuid.uuid4().hex}
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
    job = {**built, "out": out, "marker": uuid.uuid4().hex}
    job["before"] = _snapshot(out / "2024-03")
    return job


def _cmd(job, notebooks: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "kpilib.cli", "report", "--period", "2024-03", "--data", str(job["data"]),
            "--out", str(job["out"]), "--notebook-dir", str(job[notebooks]), "--no-progress", *extra]


def _env(job) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["KPI_FAULT_MARKER"] = job["marker"]
    return env


def _run(job, notebooks: str, *extra: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(job, notebooks, *extra), env=_env(job), capture_output=True, text=True,
                          timeout=timeout)


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
    """Wait until the run has started its kernels (the staging folder holds an executed notebook)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if any(job["out"].glob(".2024-03.building-*/page.ipynb")) and len(_alive(job["marker"])) >= 3:
            time.sleep(1.0)
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError("the run never started its kernels")


def _assert_clean(job) -> None:
    assert _snapshot(job["out"] / "2024-03") == job["before"], "the previous pack changed"
    assert not list(job["out"].glob(".*.building-*")), "a staging folder was left behind"
    assert not _wait_gone(job["marker"]), "a process of the run is still alive"


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


def test_after_sigkill_the_children_exit_and_the_next_run_sweeps_the_debris(job):
    proc = _start(job, "slow", start_new_session=True)
    _wait_for_kernels(job, proc)
    proc.kill()
    proc.wait(timeout=10)
    assert not _wait_gone(job["marker"], 15), "workers or kernels outlived the runner"
    assert list(job["out"].glob(".2024-03.building-*")), "expected the killed run's staging folder"
    done = _run(job, "quick")
    assert done.returncode == 0, done.stderr
    assert not list(job["out"].glob(".*.building-*")) and not list(job["out"].glob(".*.old-*"))


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


def test_a_cell_timeout_names_the_notebook_never_a_cancelled_error(job):
    done = _run(job, "slow", "--timeout", "1")
    assert done.returncode == 5, done.stderr
    assert "notebook other failed" in done.stderr or "notebook page failed" in done.stderr
    assert "CancelledError" not in done.stderr and "nothing was replaced" in done.stderr
    assert "kernel log: " in done.stderr and "/tmp/kpi-kernels.log" not in done.stderr
    _assert_clean(job)


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--workers", "-1"], ["--workers", "1000"],
                                  ["--timeout", "0"], ["--timeout", "-1"]])
def test_out_of_range_workers_and_timeouts_are_usage_errors(job, argv):
    done = _run(job, "quick", *argv)
    assert done.returncode == 2 and "must be" in done.stderr
    _assert_clean(job)


@pytest.mark.parametrize("name", ["../page", "/etc/page", "sub/page"])
def test_notebooks_are_names_never_paths(job, name):
    done = _run(job, "quick", "--notebooks", name)
    assert done.returncode == 2 and "names, not paths" in done.stderr
    _assert_clean(job)


def test_a_file_where_the_pack_goes_is_refused(job, tmp_path):
    job["out"] = tmp_path / "other"
    job["out"].mkdir()
    (job["out"] / "2024-03").write_text("not a pack")
    done = _run(job, "quick")
    assert done.returncode == 5 and "is not a pack folder" in done.stderr
    assert (job["out"] / "2024-03").read_text() == "not a pack"
    assert [p.name for p in job["out"].glob(".*")] == [".kpi.lock"]  # no staging folder, only the lock


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_a_report_error(job):
    job["out"].chmod(0o555)
    try:
        done = _run(job, "quick")
    finally:
        job["out"].chmod(0o755)
    assert done.returncode == 5 and "nothing was replaced" in done.stderr


def test_the_same_inputs_give_a_byte_identical_pack(job):
    done = _run(job, "quick")  # a second build over the copy of the first
    assert done.returncode == 0, done.stderr
    assert _snapshot(job["out"] / "2024-03") == job["before"]


def test_pack_files_follow_the_umask(built):
    pack = built["out"] / "2024-03"
    mask = os.umask(0)
    os.umask(mask)
    assert pack.stat().st_mode & 0o777 == 0o777 & ~mask
    assert (pack / "index.html").stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_kernel_killed_mid_run_is_a_report_error_naming_the_notebook(job, tmp_path):
    dying = tmp_path / "dying"
    _notebook(dying, "page", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    job["dying"] = dying
    done = _run(job, "dying")
    assert done.returncode == 5, done.stderr
    assert "notebook page failed" in done.stderr and "DeadKernelError" in done.stderr
    assert "nothing was replaced" in done.stderr
    _assert_clean(job)


def test_a_full_disk_while_writing_is_a_report_error(job, monkeypatch):
    import errno

    from kpilib import ReportError, build_report
    from kpilib.report import runner as _report

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_report, "write_glossary", full)
    with pytest.raises(ReportError) as err:
        build_report("2024-03", data=str(job["data"]), out=job["out"], notebook_dir=job["quick"],
                     progress=False)
    assert "No space left on device" in str(err.value) and "nothing was replaced" in str(err.value)
    assert _snapshot(job["out"] / "2024-03") == job["before"]
    assert not list(job["out"].glob(".*.building-*"))


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


@pytest.mark.parametrize("url", ["postgresql+psycopg:/u:SuperSecret123@127.0.0.1:1/db",
                                 "postgresql+psycopg://u:SuperSecret123@127.0.0.1:abc/db"])
def test_a_password_in_a_mistyped_url_is_masked(job, url):
    job["data"] = url
    done = _run(job, "quick")
    assert done.returncode in (3, 6) and "SuperSecret123" not in done.stdout + done.stderr
    assert "u:***@" in done.stderr


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


def test_a_malformed_database_url_in_the_environment_is_masked(job):
    env = _env(job) | {"KPI_DATABASE_URL": "postgresql+psycopg://u:SuperSecret123@127.0.0.1:abc/db"}
    done = subprocess.run([sys.executable, "-m", "kpilib.cli", "validate", "--data", "database"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 6 and "SuperSecret123" not in done.stdout + done.stderr
    assert "cannot be used" in done.stderr and "Traceback" not in done.stderr
