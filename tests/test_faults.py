"""Faults without Ray: a full disk, damaged or foreign resume state, two drivers, SIGTERM, crashed cells.

Each fault is injected for real where it can be (files truncated or flipped, a signal sent to this
process, a lock held by another live process); a full disk is a write made to raise ENOSPC.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from ferbench import rundir
from ferbench.atomic import WriteError, replace_atomically, write_json
from ferbench.models.checkpoint import load_state, save_state
from ferbench.models.errors import CheckpointError
from ferbench.rundir import RunError, load_run
from ferbench.train import grid as grid_mod
from ferbench.train.faults import CellsFailed, Preempted, Retries, resume_command, sigterm_stops, stop_message
from ferbench.train.grid import run_grid
from ferbench.train.spec import GridSpec

CELL = "synthetic/vgg_tiny-none-relu/s0"
OTHER = "synthetic/resnet_tiny-none-relu/s0"
TRAIN = {"epochs": 3, "batch_size": 32, "patience": None}


def _spec(**kw) -> GridSpec:
    base = dict(name="f", datasets=["synthetic"], archs=["vgg_tiny"], attentions=["none"], activations=["relu"],
                train=dict(TRAIN))  # fmt: skip
    return GridSpec(**{**base, **kw})


def _grid(store, out, **kw):
    return run_grid(kw.pop("spec", None) or _spec(), out=out, data_dir=store.root.parent, device="cpu", quiet=True,
                    **kw)  # fmt: skip


def _epochs(run_dir) -> list[int]:
    return [r["epoch"] for r in rundir.read_history(run_dir)]


class _Crash(Exception):
    pass


class _Stop(BaseException):
    """Stops a grid the way a killed process would: nothing catches it."""


def _crash_after(epoch: int, exc: BaseException | type[BaseException]):
    """A train_cell that raises ``exc`` after ``epoch`` epochs (its state saved), once."""
    real, fired = grid_mod.train_cell, []

    def train_cell(cell, *, on_epoch=None, **kw):
        def hook(record, history):
            if on_epoch is not None:
                on_epoch(record, history)
            if record["epoch"] == epoch and not fired:
                fired.append(cell.id)
                if exc is signal.SIGTERM:
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(5)  # the handler raises while this sleeps
                raise exc

        return real(cell, on_epoch=hook, **kw)

    return train_cell, fired


# ---- disk full --------------------------------------------------------------------------------------------


def test_a_failing_write_keeps_the_previous_file_and_is_one_line(tmp_path):
    path = write_json(tmp_path / "metrics.json", {"accuracy": 0.5})

    def half_then_full(tmp):
        tmp.write_text('{"accuracy": 0.')
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError) as err:
        replace_atomically(path, half_then_full)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and "No space left on device" in msg and "free some space" in msg
    assert "previous version is intact" in msg
    assert json.loads(path.read_text()) == {"accuracy": 0.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]  # no temporary left behind


def test_disk_full_mid_training_keeps_the_last_epoch_and_the_rerun_resumes(synthetic_store, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ferbench.cli import app

    real_save, calls = torch.save, []

    def save_until_full(obj, fh, *a, **kw):
        calls.append(1)
        if len(calls) < 2:
            return real_save(obj, fh, *a, **kw)

        class Full(io.RawIOBase):  # the disk fills up half-way through the second epoch's state
            def writable(self):
                return True

            def write(self, b):
                fh.write(bytes(b)[: len(b) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")

        return real_save(obj, Full(), *a, **kw)

    monkeypatch.setattr(torch, "save", save_until_full)
    args = ["train", "--dataset", "synthetic", "--arch", "vgg_tiny", "--attention", "none", "--activation", "relu",
            "--epochs", "3", "--batch-size", "32", "--device", "cpu", "--quiet",
            "--data-dir", str(synthetic_store.root.parent), "--out", str(tmp_path)]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0] and "last.pt" in lines[0], res.output
    run_dir = tmp_path / CELL
    assert load_state(run_dir / "last.pt")["state"]["epoch"] == 1  # the previous state, intact
    assert not list(run_dir.glob(".*tmp*")) and not (run_dir / "metrics.json").exists()
    monkeypatch.setattr(torch, "save", real_save)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert load_run(run_dir).metrics["resumed_from_epoch"] == 1 and _epochs(run_dir) == [1, 2, 3]


# ---- damaged or foreign resume state ----------------------------------------------------------------------


def test_state_round_trips_and_every_damage_is_detected(tmp_path):
    state = {"model": {"w": torch.arange(4096, dtype=torch.float32), "b": torch.zeros((), dtype=torch.bfloat16)},
             "history": [{"epoch": 1, "val_acc": float("nan")}], "cuda_rng": None, "lr": (0.1, 0.01)}  # fmt: skip
    path = save_state(state, tmp_path / "last.pt")
    back = load_state(path)
    assert torch.equal(back["model"]["w"], state["model"]["w"]) and back["lr"] == (0.1, 0.01)
    good = path.read_bytes()
    start = good.find(np.arange(4096, dtype=np.float32).tobytes()[4000:4016])
    assert start > 0
    flipped = bytearray(good)
    flipped[start] ^= 0x40  # one bit of one weight: the zip archive still loads
    for name, data, words in [("flipped.pt", bytes(flipped), "corrupted"), ("cut.pt", good[: len(good) // 2],
                              "unreadable"), ("empty.pt", b"", "unreadable")]:  # fmt: skip
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match=words) as err:
            load_state(tmp_path / name)
        assert str(tmp_path / name) in str(err.value) and "\n" not in str(err.value)
    torch.save({"model": {}}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a ferbench training state"):
        load_state(tmp_path / "plain.pt")


class _Evil:
    """Unpickling this runs code: it creates the marker folder."""

    marker = ""

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_state_that_would_run_code_is_refused_without_running_it(tmp_path):
    evil = _Evil()
    evil.marker = str(tmp_path / "pwned")
    torch.save({"format": "ferbench-state-1", "sha256": "", "state": {"x": evil}}, tmp_path / "last.pt")
    with pytest.raises(CheckpointError, match="objects other than tensors"):
        load_state(tmp_path / "last.pt")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign"])
def test_a_damaged_last_pt_is_reported_and_the_cell_trains_from_scratch(synthetic_store, tmp_path, monkeypatch,
                                                                        caplog, damage):
    train_cell, _ = _crash_after(2, _Stop)
    monkeypatch.setattr(grid_mod, "train_cell", train_cell)
    with pytest.raises(_Stop):
        _grid(synthetic_store, tmp_path)
    state = tmp_path / CELL / "last.pt"
    data = state.read_bytes()
    if damage == "truncate":
        state.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "flip":  # one bit in the middle of the largest tensor: the archive still loads
        import zipfile

        with zipfile.ZipFile(state) as z:
            big = max(z.infolist(), key=lambda i: i.file_size)
        h = big.header_offset  # the local header's own name and extra-field lengths (torch pads the extra)
        start = h + 30 + int.from_bytes(data[h + 26:h + 28], "little") + int.from_bytes(data[h + 28:h + 30], "little")
        k = start + big.file_size // 2
        state.write_bytes(data[:k] + bytes([data[k] ^ 1]) + data[k + 1:])
    else:  # somebody else's run folder: a pickle that would run code
        evil = _Evil()
        evil.marker = str(tmp_path / "pwned")
        torch.save({"format": "ferbench-state-1", "sha256": "", "state": {"x": evil}}, state)
    monkeypatch.undo()
    with caplog.at_level("WARNING", logger="ferbench.train"):
        _grid(synthetic_store, tmp_path)
    metrics = load_run(tmp_path / CELL).metrics
    assert metrics["resumed_from_epoch"] == 0 and _epochs(tmp_path / CELL) == [1, 2, 3]
    assert str(state) in metrics["discarded_state"] and "from scratch" in metrics["discarded_state"]
    assert any(str(state) in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "pwned").exists()


# ---- two drivers --------------------------------------------------------------------------------------------


def _holder(pid: int, started: str | None = None) -> dict:
    import datetime
    import platform

    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {"pid": pid, "host": platform.node(), "started": started or now, "command": "ferbench grid"}


def test_a_second_driver_is_refused_naming_the_holder(synthetic_store, tmp_path):
    code = ("import sys, time; from ferbench.rundir import lock_runs\n"
            "with lock_runs(sys.argv[1], 'ferbench grid --name other'):\n"
            "    print('held', flush=True); time.sleep(60)\n")  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunError, match=rf"in use by another ferbench run \(pid {holder.pid} on .+, started "
                                           r"\d{4}-\d\d-\d\dT") as err:  # fmt: skip
            _grid(synthetic_store, tmp_path)
        assert "\n" not in str(err.value) and rundir.LOCK in str(err.value)
        assert not (tmp_path / CELL).exists()  # refused before anything trained
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # the holder died without releasing its lock: a stale lock of this host, taken over
    assert (tmp_path / rundir.LOCK).is_file()
    with rundir.lock_runs(tmp_path) as stale:
        assert stale is not None and stale.pid == holder.pid and stale.command == "ferbench grid --name other"
        assert json.loads((tmp_path / rundir.LOCK).read_text())["pid"] == os.getpid()
    assert not (tmp_path / rundir.LOCK).exists()  # released on exit


def test_a_live_holder_is_respected_and_a_reused_pid_is_not(tmp_path):
    lock = tmp_path / rundir.LOCK
    lock.write_text(json.dumps(_holder(os.getppid())))  # alive, started after its process did
    with pytest.raises(RunError, match=f"pid {os.getppid()} on "), rundir.lock_runs(tmp_path):
        pass
    assert json.loads(lock.read_text())["pid"] == os.getppid()  # a refused driver leaves the holder's lock
    # this pid is alive, but the process behind it started long after the lock was written: the pid was reused
    lock.write_text(json.dumps(_holder(os.getpid(), "2001-01-01T00:00:00+00:00")))
    with rundir.lock_runs(tmp_path) as stale:
        assert stale is not None and stale.started.startswith("2001")
    other_host = {**_holder(1), "host": "node-that-is-not-this-one"}
    lock.write_text(json.dumps(other_host))
    with pytest.raises(RunError, match="pid 1 on node-that-is-not-this-one"), rundir.lock_runs(tmp_path):
        pass


# ---- SIGTERM ------------------------------------------------------------------------------------------------


def test_sigterm_raises_preempted_only_while_active():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Preempted) as err, sigterm_stops():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert err.value.signum == signal.SIGTERM and isinstance(err.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is before
    text, code = stop_message(err.value, ["/usr/bin/ferbench", "grid", "--grid", "g.toml", "--force"])
    assert code == 143 and "\n" not in text
    assert text.startswith("stopped by SIGTERM") and text.endswith("resume with: ferbench grid --grid g.toml")
    assert stop_message(KeyboardInterrupt(), ["x", "train"])[1] == 130
    assert resume_command(["-c", "grid", "--out", "a b"]) == "ferbench grid --out 'a b'"


def test_sigterm_mid_grid_keeps_the_epoch_state_and_the_rerun_resumes(synthetic_store, tmp_path, monkeypatch):
    train_cell, fired = _crash_after(1, signal.SIGTERM)
    monkeypatch.setattr(grid_mod, "train_cell", train_cell)
    with pytest.raises(Preempted):
        _grid(synthetic_store, tmp_path)
    assert fired == [CELL]
    assert load_state(tmp_path / CELL / "last.pt")["state"]["epoch"] == 1
    assert not (tmp_path / rundir.LOCK).exists()  # the lock went with the driver
    monkeypatch.undo()
    _grid(synthetic_store, tmp_path)
    assert load_run(tmp_path / CELL).metrics["resumed_from_epoch"] == 1 and _epochs(tmp_path / CELL) == [1, 2, 3]


@pytest.mark.slow
def test_sigterm_to_the_cli_exits_143_with_the_resume_command(synthetic_store, tmp_path):
    args = ["grid", "--datasets", "synthetic", "--archs", "vgg_tiny", "--attentions", "none", "--activations",
            "relu", "--epochs", "6", "--batch-size", "16", "--device", "cpu", "--quiet",
            "--data-dir", str(synthetic_store.root.parent), "--out", str(tmp_path)]  # fmt: skip
    cmd = [sys.executable, "-m", "ferbench", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    history = tmp_path / CELL / "history.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (history.is_file() and history.read_text().count("\n") >= 1):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "stopped by SIGTERM" in lines[0] and "resume with: ferbench grid --datasets" in lines[0]
    assert (tmp_path / CELL / "last.pt").is_file() and not (tmp_path / rundir.LOCK).exists()
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    assert load_run(tmp_path / CELL).metrics["resumed_from_epoch"] >= 1
    assert _epochs(tmp_path / CELL) == [1, 2, 3, 4, 5, 6]


# ---- crashed cells: bounded retries --------------------------------------------------------------------------


def test_retries_count_attempts_and_name_the_cells_given_up():
    r = Retries(1)
    assert r.attempt("a") == 1 and r.again("a", "boom\n  at line 3") and r.attempt("a") == 2
    assert not r.again("a", "boom again") and r.again("b", "once")
    with pytest.raises(CellsFailed, match=r"1 of 3 cell\(s\) failed 2 time\(s\) and were given up: a \(boom again\)"):
        r.check(3)
    Retries(0).check(3)  # nothing failed: nothing raised
    with pytest.raises(Exception, match="--retries must be >= 0"):
        Retries(-1)


def test_a_crashed_cell_resumes_from_its_last_epoch_and_runs_once(synthetic_store, tmp_path, monkeypatch):
    train_cell, fired = _crash_after(2, _Crash("worker lost"))
    monkeypatch.setattr(grid_mod, "train_cell", train_cell)
    runs = _grid(synthetic_store, tmp_path, spec=_spec(archs=["vgg_tiny", "resnet_tiny"]), force=True)
    assert fired == [CELL] and len(runs) == 2
    metrics = load_run(tmp_path / CELL).metrics
    assert metrics["resumed_from_epoch"] == 2  # not from scratch, although --force was given
    for run in runs:  # every cell exactly once: one run dir, each epoch once
        assert _epochs(run) == [1, 2, 3] and not (run / "last.pt").exists()


def test_a_cell_failing_every_attempt_is_named_and_the_others_finish(synthetic_store, tmp_path, monkeypatch):
    real, calls = grid_mod.train_cell, []

    def train_cell(cell, **kw):
        calls.append(cell.id)
        if cell.id == CELL:
            raise _Crash("CUDA error: an illegal memory access")
        return real(cell, **kw)

    monkeypatch.setattr(grid_mod, "train_cell", train_cell)
    spec = _spec(archs=["vgg_tiny", "resnet_tiny"], train={**TRAIN, "epochs": 1})
    with pytest.raises(CellsFailed, match=rf"1 of 2 cell\(s\) failed 2 time\(s\) and were given up: {CELL} "
                                          r"\(_Crash: CUDA error: an illegal memory access\)") as err:  # fmt: skip
        _grid(synthetic_store, tmp_path, spec=spec, retries=1)
    assert "\n" not in str(err.value)
    assert calls == [CELL, CELL, OTHER] and load_run(tmp_path / OTHER).metrics["epochs_run"] == 1


def test_a_user_error_in_a_cell_is_not_retried(synthetic_store, tmp_path, monkeypatch):
    calls = []

    def train_cell(cell, **kw):
        calls.append(cell.id)
        raise WriteError(f"could not write {tmp_path}/x (No space left on device)")

    monkeypatch.setattr(grid_mod, "train_cell", train_cell)
    with pytest.raises(WriteError, match=f"cell {CELL}: could not write"):
        _grid(synthetic_store, tmp_path, spec=_spec(archs=["vgg_tiny", "resnet_tiny"]))
    assert calls == [CELL]
