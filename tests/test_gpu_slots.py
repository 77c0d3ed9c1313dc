"""GPU slots: concurrent processes take different GPUs, a killed holder frees its slot, a job
waits while all are taken, scheduler-given lists map back, and CPU / one device do nothing.

The devices are simulated (INFOGAN_GPU_COUNT, or CUDA_VISIBLE_DEVICES lists), the locking is
real: each claimant is its own Python process holding its flock until it is told to exit or
is killed.
"""

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from infogan import gpu_slots
from infogan.errors import InfoganError

REPO = Path(__file__).resolve().parents[1]
INFOGAN = Path(sys.executable).parent / "infogan"

# A claimant: takes a slot, prints "<device> <CUDA_VISIBLE_DEVICES>", holds it until stdin closes.
CLAIMANT = """
import logging, os, sys
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
from infogan.gpu_slots import claim_gpu
device = claim_gpu(poll_seconds=0.05)
print(device, os.environ.get("CUDA_VISIBLE_DEVICES"), flush=True)
sys.stdin.read()
"""


def slot_env(lock_dir, count=None, visible=None):
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", gpu_slots.COUNT_VARIABLE)}
    env[gpu_slots.LOCK_DIR_VARIABLE] = str(lock_dir)
    if count is not None:
        env[gpu_slots.COUNT_VARIABLE] = str(count)
    if visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible
    return env


def read_line(stream, timeout):
    """The next line of a child's pipe, or None if none comes within `timeout` seconds."""
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline().strip() if ready else None


class Claimants:
    """Claimant processes of one test; all of them are ended at its end."""

    def __init__(self):
        self.processes = []

    def start(self, env):
        process = subprocess.Popen([sys.executable, "-c", CLAIMANT], env=env, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(process)
        return process

    @staticmethod
    def device(process, timeout=10):
        """(device, CUDA_VISIBLE_DEVICES) the claimant reported."""
        line = read_line(process.stdout, timeout)
        assert line, f"no claim within {timeout} s; stderr: {process.stderr.read() if process.poll() is not None else ''}"
        device, visible = line.split(" ", 1)
        return device, visible

    @staticmethod
    def kill(process):
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def end(self):
        for process in self.processes:
            if process.poll() is None:
                process.stdin.close()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for stream in (process.stdout, process.stderr):
                stream.close()


@pytest.fixture
def claimants():
    group = Claimants()
    yield group
    group.end()


# --- concurrent processes ---------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 3, 4])
def test_concurrent_processes_take_different_gpus(claimants, tmp_path, count):
    env = slot_env(tmp_path, count=count)
    processes = [claimants.start(env) for _ in range(count)]  # all started before any is read
    claims = [claimants.device(p) for p in processes]
    assert sorted(device for device, _ in claims) == [str(i) for i in range(count)]
    assert all(visible == device for device, visible in claims)  # narrowed to its own GPU
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"gpu{i}.lock" for i in range(count)]


def test_a_killed_holder_frees_its_slot(claimants, tmp_path):
    env = slot_env(tmp_path, count=2)
    first, second = claimants.start(env), claimants.start(env)
    devices = {claimants.device(first)[0]: first, claimants.device(second)[0]: second}
    claimants.kill(devices["0"])  # SIGKILL: no handler runs, only the kernel can free the lock
    third = claimants.start(env)
    assert claimants.device(third)[0] == "0"


def test_all_taken_waits_then_proceeds_when_a_slot_frees(claimants, tmp_path):
    env = slot_env(tmp_path, count=2)
    holders = [claimants.start(env), claimants.start(env)]
    by_device = {claimants.device(p)[0]: p for p in holders}
    waiter = claimants.start(env)
    message = read_line(waiter.stderr, 10)
    assert message and message.startswith("all 2 GPUs (0,1) are taken by other jobs"), message
    for holder in holders:
        assert str(holder.pid) in message
    assert str(tmp_path) in message and "--resources gpu=N" in message
    assert read_line(waiter.stdout, 0.5) is None  # still waiting
    claimants.kill(by_device["1"])
    assert claimants.device(waiter, timeout=5) == ("1", "1")


def test_all_taken_gives_up_after_wait_seconds(claimants, tmp_path):
    env = slot_env(tmp_path, count=2)
    holders = [claimants.start(env), claimants.start(env)]
    for holder in holders:
        claimants.device(holder)
    environ = {}
    started = time.monotonic()
    with pytest.raises(InfoganError, match=r"all 2 GPUs \(0,1\) stayed taken") as raised:
        gpu_slots.claim_gpu(environ, count=2, lock_dir=tmp_path, poll_seconds=0.05, wait_seconds=0.3)
    assert 0.3 <= time.monotonic() - started < 5
    assert str(tmp_path) in str(raised.value) and environ == {}


# --- which devices are visible ----------------------------------------------------------------


@pytest.mark.parametrize("visible", [
    "2,3",
    "GPU-8c3a1f52-0b9e-4c1d-9f0a-2d6e7b1c4a90,GPU-1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
])
def test_a_schedulers_list_maps_back(claimants, tmp_path, visible):
    env = slot_env(tmp_path, count=8, visible=visible)  # the list wins over a simulated count
    processes = [claimants.start(env), claimants.start(env)]
    claims = sorted(claimants.device(p) for p in processes)
    assert claims == sorted((device, device) for device in visible.split(","))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"gpu{d}.lock" for d in visible.split(","))


def test_visible_devices_parsing():
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": " 2, 3 ,,2"}) == ["2", "3"]
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": "1", gpu_slots.COUNT_VARIABLE: "4"}) == ["1"]
    assert gpu_slots.visible_devices({gpu_slots.COUNT_VARIABLE: "3"}) == ["0", "1", "2"]
    assert gpu_slots.visible_devices({gpu_slots.COUNT_VARIABLE: "3"}, count=2) == ["0", "1"]
    with pytest.raises(InfoganError, match="INFOGAN_GPU_COUNT='two'"):
        gpu_slots.visible_devices({gpu_slots.COUNT_VARIABLE: "two"})
    mig = "MIG-GPU-8c3a1f52/1/0"
    assert gpu_slots.lock_path(Path("/x"), mig) == Path("/x/gpuMIG-GPU-8c3a1f52_1_0.lock")


def fake_nvidia_smi(folder, stdout, status=0):
    """A stand-in `nvidia-smi` (none is installed here) printing `stdout`, in nvidia-smi -L's format."""
    folder.mkdir()
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n[ \"$1\" = -L ] || exit 2\ncat <<'EOF'\n{stdout}EOF\nexit {status}\n")
    script.chmod(0o755)
    return folder


def test_count_from_nvidia_smi(tmp_path, monkeypatch):
    listing = ("GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77)\n"
               "  MIG 1g.5gb      Device  0: (UUID: MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f)\n"
               "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4)\n")
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", f"{fake_nvidia_smi(tmp_path / 'two', listing)}:{path}")
    assert gpu_slots.visible_devices({}) == ["0", "1"]
    failing = fake_nvidia_smi(tmp_path / "none", "No devices were found\n", status=6)
    monkeypatch.setenv("PATH", f"{failing}:{path}")
    assert gpu_slots.visible_devices({}) is None
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert gpu_slots.visible_devices({}) is None  # no nvidia-smi at all


def test_lock_dir_default_and_override(tmp_path):
    default = gpu_slots.default_lock_dir({})
    assert default.parent == Path(tempfile.gettempdir()) and str(os.getuid()) in default.name
    assert gpu_slots.default_lock_dir({gpu_slots.LOCK_DIR_VARIABLE: str(tmp_path)}) == tmp_path


# --- nothing to share out ---------------------------------------------------------------------


@pytest.mark.parametrize("environ", [
    {gpu_slots.COUNT_VARIABLE: "1"},
    {gpu_slots.COUNT_VARIABLE: "0"},
    {"CUDA_VISIBLE_DEVICES": "3"},
    {"CUDA_VISIBLE_DEVICES": ""},
])
def test_one_device_or_none_is_left_alone(tmp_path, environ):
    before = dict(environ)
    assert gpu_slots.claim_gpu(environ, lock_dir=tmp_path / "locks") is None
    assert environ == before and not (tmp_path / "locks").exists()


def test_a_cpu_job_claims_nothing(tmp_path):
    environ = {gpu_slots.COUNT_VARIABLE: "4"}
    assert gpu_slots.claim_for("cpu", environ, lock_dir=tmp_path / "locks") is None
    assert environ == {gpu_slots.COUNT_VARIABLE: "4"} and not (tmp_path / "locks").exists()


def test_auto_claims_only_with_a_cuda_build_of_torch(tmp_path):
    import torch

    environ = {gpu_slots.COUNT_VARIABLE: "4"}
    try:
        claimed = gpu_slots.claim_for("auto", environ, lock_dir=tmp_path)
    finally:
        gpu_slots.release()
    assert claimed == (None if torch.version.cuda is None else "0")
    assert environ.get("CUDA_VISIBLE_DEVICES") == claimed


# --- the `infogan train` command ---------------------------------------------------------------


def test_infogan_train_takes_a_free_gpu_before_cuda(claimants, tmp_path):
    """Slot 0 is held, so the job must take GPU 1 and say so before it touches CUDA (which here
    fails: no CUDA, or no data). A CPU job takes none."""
    env = slot_env(tmp_path / "locks", count=2)
    env["OMP_NUM_THREADS"] = "1"
    holder = claimants.start(env)
    assert claimants.device(holder)[0] == "0"
    command = [INFOGAN, "train", "mnist_infogan", "--config", REPO / "src" / "infogan" / "configs" / "experiments.yaml",
               "--data", tmp_path / "missing.h5", "--out", tmp_path / "run"]
    for device, expected in (("cuda", "infogan: took GPU 1 of 0,1 (CUDA_VISIBLE_DEVICES=1;"), ("cpu", None)):
        result = subprocess.run([*map(str, command), "--device", device], env=env, capture_output=True,
                                text=True, timeout=120, check=False)
        assert result.returncode == 1, result.stderr
        took = [line for line in result.stderr.splitlines() if "took GPU" in line]
        if expected is None:
            assert took == [], result.stderr
        else:
            assert len(took) == 1 and took[0].startswith(expected), result.stderr
        assert result.stderr.splitlines()[-1].startswith("infogan train: error: "), result.stderr
