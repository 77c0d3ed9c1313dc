"""Training runs: determinism, exact resume after a kill or a stop, divergence, and the
checks made on checkpoints and data files. Tiny runs (batch 8, a few iterations, 300
random images) on the CPU, one thread."""

import contextlib
import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

from infogan import checkpoint
from infogan.config import config_from_dict, load_experiment
from infogan.errors import CheckpointError, ConfigError, DatasetFileError, InfoganError, TrainingDiverged
from infogan.train import EpochBatches, bf16_available, frozen, train


REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "src" / "infogan" / "configs" / "experiments.yaml"
BATCH = 8
ITERATIONS, CHECKPOINT_EVERY, LOG_EVERY = 7, 3, 2
# iterations logged by an uninterrupted run: every LOG_EVERY, every CHECKPOINT_EVERY, the last
LOGGED_ITERATIONS = [2, 3, 4, 6, 7]

# Every speed switch on both of its settings: the default has bf16, fused Adam and kept
# memory on, channels_last and stacked batches off; each other variant flips one switch
# (keep_freed_memory, once on, stays on for the process: its other setting is tested in a
# process of its own, in test_allocator.py). Also the released code's fresh latent draw
# for G's step, which draws from the latent RNG twice per iteration, and the tanh output layer
# (images on [-1, 1]), which the checkpoint must rebuild.
VARIANTS = {
    "default": {},
    "fp32": {"speed": {"bf16_autocast": False}},
    "unfused_adam": {"speed": {"fused_adam": False}},
    "channels_last": {"speed": {"channels_last": True}},
    "stacked": {"speed": {"stacked_batches": True}},
    "fresh_generator_latent": {"generator_step_latent": "fresh"},
    "tanh_output": {"generator_output": "tanh"},
}


def make_config(name="mnist_infogan", iterations=ITERATIONS, **overrides):
    return load_experiment(name, EXPERIMENTS, {"iterations": iterations, "batch_size": BATCH, **overrides})


def run_training(config, data, run_dir, seed=1, checkpoint_every=CHECKPOINT_EVERY, log_every=LOG_EVERY):
    return train(config, data, run_dir, seed=seed, checkpoint_every=checkpoint_every, log_every=log_every,
                 device="cpu", show_progress=False)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_metrics(run_dir):
    """Complete JSON lines of metrics.jsonl (a line being written is skipped)."""
    path = Path(run_dir) / "metrics.jsonl"
    records = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return records


def without_speed(records):
    return [{k: v for k, v in r.items() if k != "images_per_second"} for r in records]


def networks(path):
    payload = checkpoint.load(path)
    return payload["generator"], payload["discriminator"]


def assert_same_weights(path_a, path_b):
    for a, b in zip(networks(path_a), networks(path_b)):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key


def differing_tensors(path_a, path_b):
    return [key for a, b in zip(networks(path_a), networks(path_b)) for key in a
            if a[key].is_floating_point() and not torch.equal(a[key], b[key])]


@contextlib.contextmanager
def sigterm_when(predicate):
    """Send this process SIGTERM, once, as soon as `predicate()` holds (checked by a thread).

    While the block runs, a SIGTERM that `train` does not catch is ignored, so a late
    signal can never end the test session."""
    previous = signal.signal(signal.SIGTERM, lambda *args: None)
    done = threading.Event()

    def watch():
        while not done.is_set():
            if predicate():
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="module")
def data(tmp_path_factory, write_tiny_dataset):
    return write_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, data):
    """`uninterrupted(variant, seed=1)`: the run directory of one uninterrupted run, made once."""
    runs = {}

    def get(variant="default", seed=1):
        if (variant, seed) not in runs:
            run_dir = tmp_path_factory.mktemp(f"run_{variant}_{seed}")
            run_training(make_config(**VARIANTS[variant]), data, run_dir, seed=seed)
            runs[variant, seed] = run_dir
        return runs[variant, seed]

    return get


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_gives_identical_weights_and_metrics(uninterrupted, data, tmp_path):
    first = uninterrupted()
    final = run_training(make_config(), data, tmp_path)
    assert final == tmp_path / "final.pt"
    assert_same_weights(first / "final.pt", final)
    metrics = read_metrics(tmp_path)
    assert [r["iteration"] for r in metrics] == LOGGED_ITERATIONS
    assert without_speed(metrics) == without_speed(read_metrics(first))
    assert all(r["images_per_second"] > 0 for r in metrics)


def test_other_seed_gives_other_weights(uninterrupted):
    differ = differing_tensors(uninterrupted("default", 1) / "final.pt", uninterrupted("default", 2) / "final.pt")
    assert "fc.0.weight" in differ and "body.0.weight" in differ and "q_head.3.weight" in differ


@pytest.mark.parametrize("variant", VARIANTS)
def test_stopped_and_resumed_run_matches_uninterrupted(variant, uninterrupted, data, tmp_path):
    config = make_config(**VARIANTS[variant])
    resumable = tmp_path / "checkpoint.pt"

    def past_the_checkpoint():
        """The signal comes once an iteration after the checkpoint's is logged: the stop then
        falls between checkpoints, however busy the machine (on the checkpoint's own file, a
        busy machine could deliver it before the next iteration began)."""
        return resumable.exists() and any(r["iteration"] > CHECKPOINT_EVERY for r in read_metrics(tmp_path))

    with sigterm_when(past_the_checkpoint), pytest.raises(InfoganError, match="stopped by signal") as stopped:
        run_training(config, data, tmp_path)
    stop_iteration = int(re.search(r"at iteration (\d+)", str(stopped.value)).group(1))
    assert CHECKPOINT_EVERY < stop_iteration < ITERATIONS
    assert checkpoint.load(resumable)["iteration"] == stop_iteration  # written at the stop, not before
    assert not (tmp_path / "final.pt").exists()
    assert json.loads((tmp_path / "run.json").read_text())["finished"] is False

    run_training(config, data, tmp_path)
    reference = uninterrupted(variant)
    assert_same_weights(reference / "final.pt", tmp_path / "final.pt")
    assert not resumable.exists()
    run_info = json.loads((tmp_path / "run.json").read_text())
    assert run_info["resumed_from_iteration"] == stop_iteration and run_info["finished"] is True

    # metrics: one line per logged iteration, no duplicates, the stop adds its own line
    iterations = [r["iteration"] for r in read_metrics(tmp_path)]
    assert iterations == sorted(set(iterations))
    assert set(iterations) - set(LOGGED_ITERATIONS) <= {stop_iteration}
    assert set(LOGGED_ITERATIONS) <= set(iterations)
    before_stop = [r for r in read_metrics(tmp_path) if r["iteration"] <= CHECKPOINT_EVERY]
    assert without_speed(before_stop) == without_speed(
        [r for r in read_metrics(reference) if r["iteration"] <= CHECKPOINT_EVERY])


def test_speed_settings_are_recorded_and_bf16_changes_the_numbers(uninterrupted):
    available = bf16_available(torch.device("cpu"))
    for variant, overrides in VARIANTS.items():
        run_dir = uninterrupted(variant)
        run_info = json.loads((run_dir / "run.json").read_text())
        bf16 = overrides.get("speed", {}).get("bf16_autocast", True)
        assert run_info["bf16_autocast_used"] == (bf16 and available)
        saved = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert saved["speed"] == {**make_config().to_dict()["speed"], **overrides.get("speed", {})}
    default, fp32 = uninterrupted("default") / "final.pt", uninterrupted("fp32") / "final.pt"
    if available:  # bf16 products: other numbers than fp32's
        assert differing_tensors(default, fp32)
    else:  # the switch must then change nothing: the default run is the fp32 run, bit for bit
        assert not differing_tensors(default, fp32)
    print(f"bf16 {'available: the default run differs from fp32' if available else 'unavailable: default == fp32'}")


# --- run directory ------------------------------------------------------------------------


def test_run_directory_files(uninterrupted, data):
    run_dir = uninterrupted()
    config = make_config()
    assert sorted(p.name for p in run_dir.iterdir()) == [".train.lock", "config.yaml", "final.pt", "metrics.jsonl",
                                                        "run.json"]
    assert config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text())) == config
    run_info = json.loads((run_dir / "run.json").read_text())
    assert run_info["experiment"] == "mnist_infogan"
    assert run_info["seed"] == 1 and run_info["iterations"] == ITERATIONS
    assert run_info["finished"] is True and run_info["resumed_from_iteration"] == 0
    assert run_info["data"]["source"] == "synthetic"
    assert run_info["data"]["dataset"] == "tiny"
    assert run_info["data"]["path"] == str(data)
    assert run_info["device"] == "cpu"
    assert run_info["train_seconds"] > 0
    assert run_info["versions"]["torch"] == torch.__version__

    payload = checkpoint.load(run_dir / "final.pt")
    assert payload["iteration"] == ITERATIONS
    assert payload["experiment"] == "mnist_infogan" and payload["seed"] == 1
    assert payload["fingerprint"] == config.fingerprint()
    assert payload["data"]["source"] == "synthetic"
    assert "opt_generator" not in payload and "rng" not in payload  # final.pt holds no resumable state
    rng_before = torch.get_rng_state()
    loaded_config, generator, discriminator, _ = checkpoint.load_trained(run_dir)
    assert loaded_config == config
    assert not generator.training and not discriminator.training
    # every weight and buffer is the saved one, in CPU memory; loading draws no random numbers
    # (the networks are built uninitialised: an initialisation would be overwritten anyway)
    for network, name in ((generator, "generator"), (discriminator, "discriminator")):
        state = network.state_dict()
        assert state.keys() == payload[name].keys()
        assert all(t.device.type == "cpu" and torch.equal(t, payload[name][k]) for k, t in state.items())
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_finished_run_is_not_trained_again(uninterrupted, data):
    run_dir = uninterrupted()
    final = run_dir / "final.pt"
    before = (final.stat().st_mtime_ns, sha256(final), (run_dir / "metrics.jsonl").read_text(),
              (run_dir / "run.json").read_text())
    start = time.perf_counter()
    assert run_training(make_config(), data, run_dir) == final
    assert run_training(make_config(iterations=ITERATIONS - 1), data, run_dir) == final
    assert time.perf_counter() - start < 10
    with pytest.raises(InfoganError, match=rf"finished at iteration {ITERATIONS}, fewer than {ITERATIONS + 1}; delete it"):
        run_training(make_config(iterations=ITERATIONS + 1), data, run_dir)
    with pytest.raises(CheckpointError, match=r"final.pt: checkpoint of seed 1, not 5"):
        run_training(make_config(), data, run_dir, seed=5)
    assert (final.stat().st_mtime_ns, sha256(final), (run_dir / "metrics.jsonl").read_text(),
            (run_dir / "run.json").read_text()) == before


def test_a_kill_between_final_pt_and_run_json_is_mended_by_the_next_call(uninterrupted, data, tmp_path):
    """final.pt is written before run.json says finished; a process killed between the two
    leaves finished: false, and the same command then marks it finished, without training."""
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(uninterrupted(), run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({k: v for k, v in info.items() if k != "train_seconds"}
                                                 | {"finished": False}))
    before = sha256(run_dir / "final.pt")
    run_training(make_config(), data, run_dir)
    assert json.loads((run_dir / "run.json").read_text()) == info
    assert sha256(run_dir / "final.pt") == before


# --- the command line: killed, stopped, and uninterrupted runs ---------------------------------

CLI_ITERATIONS, CLI_CHECKPOINT_EVERY, CLI_LOG_EVERY = 12, 4, 2
CLI_LOGGED = list(range(2, 13, 2))


def cli_train(data, out):
    return [sys.executable, "-m", "infogan.cli", "train", "mnist_infogan", "--config", str(EXPERIMENTS),
            "--data", str(data), "--out", str(out), "--seed", "3", "--device", "cpu",
            "--iterations", str(CLI_ITERATIONS), "--checkpoint-every", str(CLI_CHECKPOINT_EVERY),
            "--log-every", str(CLI_LOG_EVERY), "--set", f"batch_size={BATCH}"]


class Process:
    """A CLI run with stdout and stderr going to files beside its run directory."""

    def __init__(self, command, name, workdir):
        self.stderr_path = workdir / f"{name}.stderr"
        with open(self.stderr_path, "w") as err:
            self.popen = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, cwd=workdir,
                                          env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)

    def wait(self, timeout=300):
        return self.popen.wait(timeout)

    @property
    def stderr(self):
        return self.stderr_path.read_text()


def past_a_checkpoint(run_dir, iteration):
    """Has a checkpoint, and has logged an iteration >= `iteration` that is not a checkpoint's,
    so a kill now loses logged work."""
    def condition():
        records = read_metrics(run_dir)
        if not (run_dir / "checkpoint.pt").exists() or not records:
            return False
        last = records[-1]["iteration"]
        return last >= iteration and last % CLI_CHECKPOINT_EVERY != 0
    return condition


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory, data):
    """Three runs of the same command: uninterrupted; SIGKILLed then run again; SIGTERMed then run again."""
    workdir = tmp_path_factory.mktemp("cli")
    dirs = {name: workdir / name for name in ("uninterrupted", "killed", "stopped")}
    started = []
    try:
        first = {name: Process(cli_train(data, path), name, workdir) for name, path in dirs.items()}
        started += first.values()

        # each is interrupted once it has a checkpoint and has logged past it
        pending = {"killed": signal.SIGKILL, "stopped": signal.SIGTERM}
        deadline = time.monotonic() + 180
        while pending:
            for name in list(pending):
                process = first[name]
                if past_a_checkpoint(dirs[name], CLI_CHECKPOINT_EVERY + 1)():
                    process.popen.send_signal(pending.pop(name))
                elif process.popen.poll() is not None:
                    raise AssertionError(f"{name} run ended (status {process.popen.returncode}) before it "
                                         f"could be interrupted: {process.stderr}")
            assert time.monotonic() < deadline, "timed out waiting for the runs to log"
            time.sleep(0.02)
        status = {name: process.wait() for name, process in first.items()}

        at_interruption = {}
        for name in ("killed", "stopped"):
            at_interruption[name] = {
                "final_exists": (dirs[name] / "final.pt").exists(),
                "checkpoint_iteration": checkpoint.load(dirs[name] / "checkpoint.pt")["iteration"],
                "checkpoint_sha256": sha256(dirs[name] / "checkpoint.pt"),
                "logged": [r["iteration"] for r in read_metrics(dirs[name])],
            }
        again = {name: Process(cli_train(data, dirs[name]), f"{name}_again", workdir) for name in ("killed", "stopped")}
        started += again.values()
        status_again = {name: process.wait() for name, process in again.items()}
    finally:
        for process in started:
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()
    return {"dirs": dirs, "status": status, "status_again": status_again, "first": first, "again": again,
            "at_interruption": at_interruption}


@pytest.mark.slow
def test_cli_uninterrupted_run(cli_runs):
    run_dir = cli_runs["dirs"]["uninterrupted"]
    assert cli_runs["status"]["uninterrupted"] == 0, cli_runs["first"]["uninterrupted"].stderr
    assert [r["iteration"] for r in read_metrics(run_dir)] == CLI_LOGGED
    assert checkpoint.load(run_dir / "final.pt")["iteration"] == CLI_ITERATIONS
    assert "error" not in cli_runs["first"]["uninterrupted"].stderr


@pytest.mark.slow
def test_killed_run_continues_to_the_same_weights(cli_runs):
    dirs, state = cli_runs["dirs"], cli_runs["at_interruption"]["killed"]
    assert cli_runs["status"]["killed"] == -signal.SIGKILL
    assert not state["final_exists"]
    assert state["checkpoint_iteration"] in range(CLI_CHECKPOINT_EVERY, CLI_ITERATIONS, CLI_CHECKPOINT_EVERY)
    assert cli_runs["status_again"]["killed"] == 0, cli_runs["again"]["killed"].stderr
    assert_same_weights(dirs["uninterrupted"] / "final.pt", dirs["killed"] / "final.pt")
    assert not (dirs["killed"] / "checkpoint.pt").exists()
    run_info = json.loads((dirs["killed"] / "run.json").read_text())
    assert run_info["resumed_from_iteration"] == state["checkpoint_iteration"]


@pytest.mark.slow
def test_killed_run_metrics_have_every_iteration_once(cli_runs):
    dirs, state = cli_runs["dirs"], cli_runs["at_interruption"]["killed"]
    # the killed run had logged past its checkpoint; those lines were replaced, not repeated
    assert state["logged"][-1] > state["checkpoint_iteration"]
    resumed, reference = read_metrics(dirs["killed"]), read_metrics(dirs["uninterrupted"])
    assert [r["iteration"] for r in resumed] == CLI_LOGGED
    assert without_speed(resumed) == without_speed(reference)
    assert len((dirs["killed"] / "metrics.jsonl").read_text().splitlines()) == len(CLI_LOGGED)


@pytest.mark.slow
def test_sigterm_stops_at_an_iteration_boundary_with_one_line(cli_runs):
    dirs, state = cli_runs["dirs"], cli_runs["at_interruption"]["stopped"]
    process = cli_runs["first"]["stopped"]
    assert cli_runs["status"]["stopped"] == 128 + signal.SIGTERM  # as a shell reports it (Ctrl-C: 130)
    assert "Traceback" not in process.stderr
    errors = [line for line in process.stderr.splitlines() if "error" in line]
    assert len(errors) == 1
    match = re.fullmatch(r"infogan train: error: stopped by signal 15 at iteration (\d+); (.+) saved, "
                         r"run the same command to continue", errors[0])
    assert match, errors[0]
    stop_iteration = int(match.group(1))
    assert Path(match.group(2)) == dirs["stopped"] / "checkpoint.pt"
    assert state["checkpoint_iteration"] == stop_iteration
    assert stop_iteration < CLI_ITERATIONS
    assert state["logged"][-1] == stop_iteration  # the stop logs its partial interval
    assert not state["final_exists"]


@pytest.mark.slow
def test_stopped_run_continues_to_the_same_weights(cli_runs):
    dirs, state = cli_runs["dirs"], cli_runs["at_interruption"]["stopped"]
    assert cli_runs["status_again"]["stopped"] == 0, cli_runs["again"]["stopped"].stderr
    assert_same_weights(dirs["uninterrupted"] / "final.pt", dirs["stopped"] / "final.pt")
    iterations = [r["iteration"] for r in read_metrics(dirs["stopped"])]
    assert iterations == sorted(set(iterations))
    assert set(iterations) - set(CLI_LOGGED) <= {state["checkpoint_iteration"]}
    assert set(CLI_LOGGED) <= set(iterations)


# --- divergence -----------------------------------------------------------------------------


def test_divergence_stops_with_the_last_checkpoint_untouched(data, tmp_path):
    # an absurd generator learning rate: iteration 1 is finite, iteration 2 is not
    config = make_config(iterations=20, lr_generator=1.0e30)
    resumable = tmp_path / "checkpoint.pt"
    with pytest.raises(TrainingDiverged, match=r"not finite at iteration 2 \(d_loss=nan") as diverged:
        run_training(config, data, tmp_path, checkpoint_every=1, log_every=1)
    assert str(tmp_path) in str(diverged.value) and "checkpoint.pt" in str(diverged.value)
    assert isinstance(diverged.value, InfoganError)
    payload = checkpoint.load(resumable)
    assert payload["iteration"] == 1
    assert all(torch.isfinite(t).all() for net in ("generator", "discriminator") for t in payload[net].values()
               if t.is_floating_point())
    digest = sha256(resumable)
    assert [r["iteration"] for r in read_metrics(tmp_path)] == [1]

    # running again resumes from iteration 1, diverges at the same place, and leaves the checkpoint be
    with pytest.raises(TrainingDiverged, match="not finite at iteration 2"):
        run_training(config, data, tmp_path, checkpoint_every=1, log_every=1)
    assert sha256(resumable) == digest
    assert checkpoint.load(resumable)["iteration"] == 1
    assert not (tmp_path / "final.pt").exists()
    assert [r["iteration"] for r in read_metrics(tmp_path)] == [1]


def test_a_second_writer_is_refused_with_the_holders_pid(data, tmp_path):
    """Two `infogan train` on one run folder (a real case: a killed Snakemake leaves its job
    running): the second is refused before it touches anything; the lock dies with its holder."""
    import multiprocessing

    from infogan.rundir import sole_writer

    ready, release = multiprocessing.Event(), multiprocessing.Event()

    def hold():
        with sole_writer(tmp_path / "run"):
            ready.set()
            release.wait(30)

    holder = multiprocessing.get_context("fork").Process(target=hold)
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(InfoganError, match=rf"another process \(pid {holder.pid}\) is training this run"):
            run_training(make_config(), data, tmp_path / "run")
        assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [".train.lock"]
    finally:
        holder.kill()  # as kill -9: no clean-up runs, the OS releases the lock
        holder.join()
    run_training(make_config(iterations=1), data, tmp_path / "run")
    assert (tmp_path / "run" / "final.pt").exists()


def test_an_existing_file_as_the_run_folder_is_named(data, tmp_path):
    (tmp_path / "taken").write_text("not a folder")
    with pytest.raises(InfoganError, match="taken: exists and is not a folder"):
        run_training(make_config(), data, tmp_path / "taken")


def test_non_finite_weights_are_never_saved(data, tmp_path):
    """A finite loss does not prove finite weights (it is computed before the update): with
    absurd learning rates iteration 1's update breaks them, and nothing is saved."""
    config = make_config(iterations=1, lr_discriminator=1e4, lr_generator=1e4)
    with pytest.raises(TrainingDiverged, match=r"weights are not finite at iteration 1 \((generator|discriminator)"
                                               r".*no checkpoint was saved before it") as diverged:
        run_training(config, data, tmp_path, checkpoint_every=1, log_every=1)
    assert "\n" not in str(diverged.value)
    assert not (tmp_path / "final.pt").exists() and not (tmp_path / "checkpoint.pt").exists()


def test_the_finiteness_check_sees_optimizer_state(data):
    from infogan.train import new_state, non_finite_tensors

    state = new_state(make_config(), seed=1, device=torch.device("cpu"))
    assert non_finite_tensors(state) == []
    parameter = next(state.generator.parameters())
    state.opt_generator.state[parameter] = {"exp_avg": torch.tensor([0.0, float("inf")])}
    assert non_finite_tensors(state) == ["generator optimizer state 0.exp_avg"]
    # finite values whose sum overflows are finite; a NaN among them is not
    state.opt_generator.state[parameter] = {"exp_avg": torch.tensor([3e38, 3e38])}
    assert non_finite_tensors(state) == []
    state.opt_generator.state[parameter] = {"exp_avg": torch.tensor([3e38, 3e38, float("nan")])}
    assert non_finite_tensors(state) == ["generator optimizer state 0.exp_avg"]
    with torch.no_grad():
        next(state.discriminator.parameters())[0] = float("-inf")
    assert non_finite_tensors(state)[0].startswith("discriminator.")


# --- checkpoints that do not belong -----------------------------------------------------------


def test_checkpoint_of_another_experiment_is_refused(data, tmp_path):
    gan = make_config("mnist_gan", iterations=100)
    resumable = tmp_path / "checkpoint.pt"
    with sigterm_when(resumable.exists), pytest.raises(InfoganError, match="stopped by signal"):
        run_training(gan, data, tmp_path, checkpoint_every=2)
    stopped_at = checkpoint.load(resumable)["iteration"]
    digest, run_json = sha256(resumable), (tmp_path / "run.json").read_text()

    with pytest.raises(CheckpointError) as refused:
        run_training(make_config("mnist_infogan"), data, tmp_path, checkpoint_every=2)
    message = str(refused.value)
    assert str(resumable) in message and "'mnist_gan'" in message and "'mnist_infogan'" in message
    with pytest.raises(CheckpointError, match=r"checkpoint.pt: checkpoint of seed 1, not 2"):
        run_training(gan, data, tmp_path, seed=2, checkpoint_every=2)
    with pytest.raises(CheckpointError, match=r"checkpoint.pt: checkpoint made with other settings of 'mnist_gan'"):
        run_training(make_config("mnist_gan", iterations=100, lr_generator=5.0e-4), data, tmp_path)
    with pytest.raises(CheckpointError, match="other settings"):
        run_training(make_config("mnist_gan", iterations=100, speed={"bf16_autocast": False}), data, tmp_path)
    assert sha256(resumable) == digest and (tmp_path / "run.json").read_text() == run_json
    assert not (tmp_path / "final.pt").exists()

    # a checkpoint further on than the iterations asked for is not passed off as that run
    with pytest.raises(CheckpointError, match=rf"already at iteration {stopped_at}, past the 1 asked for"):
        run_training(make_config("mnist_gan", iterations=1), data, tmp_path)
    assert sha256(resumable) == digest and not (tmp_path / "final.pt").exists()

    # the number of iterations is not a setting: the run continues with a new end
    run_training(make_config("mnist_gan", iterations=stopped_at + 1), data, tmp_path, checkpoint_every=2)
    assert checkpoint.load(tmp_path / "final.pt")["iteration"] == stopped_at + 1
    assert json.loads((tmp_path / "run.json").read_text())["experiment"] == "mnist_gan"


class NotWeights:
    """A Python object pickled into a checkpoint, which loading must refuse unread."""


def test_damaged_checkpoints_are_refused_by_name(uninterrupted, data, tmp_path):
    good = (uninterrupted() / "final.pt").read_bytes()
    cases = {
        "truncated": good[: len(good) // 2],
        "garbage": b"not a checkpoint at all" * 10,
        "empty": b"",
    }
    for case, content in cases.items():
        for name in ("checkpoint.pt", "final.pt"):
            run_dir = tmp_path / f"{case}_{name}"
            run_dir.mkdir()
            (run_dir / name).write_bytes(content)
            with pytest.raises(CheckpointError, match="unreadable checkpoint") as refused:
                run_training(make_config(), data, run_dir)
            assert str(run_dir / name) in str(refused.value)
            assert "\n" not in str(refused.value)
            # nothing else written (the lock a training process holds is all it adds)
            assert sorted(p.name for p in run_dir.iterdir()) == sorted([name, ".train.lock"] if name == "checkpoint.pt"
                                                                       else [name])

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    torch.save({"generator": NotWeights()}, pickled / "checkpoint.pt")  # a class weights_only refuses
    with pytest.raises(CheckpointError, match=r"holds pickled Python objects \(test_train.NotWeights\)") as refused:
        run_training(make_config(), data, pickled)
    assert "weights_only=False" not in str(refused.value) and str(pickled / "checkpoint.pt") in str(refused.value)

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    torch.save({"state_dict": {}}, foreign / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="not an infogan checkpoint") as refused:
        run_training(make_config(), data, foreign)
    assert str(foreign / "checkpoint.pt") in str(refused.value)


# --- data files -----------------------------------------------------------------------------


def test_data_file_with_other_image_shape_is_refused(write_tiny_dataset, tmp_path):
    wrong = write_tiny_dataset(tmp_path / "wide.h5", n_train=20, n_test=5, image_shape=(1, 32, 32))
    with pytest.raises(DatasetFileError) as refused:
        run_training(make_config(), wrong, tmp_path / "run")
    message = str(refused.value)
    assert str(wrong) in message and "[1, 32, 32]" in message and "[1, 28, 28]" in message
    assert not (tmp_path / "run").exists()


def test_data_file_smaller_than_a_batch_is_refused(write_tiny_dataset, tmp_path):
    small = write_tiny_dataset(tmp_path / "small.h5", n_train=BATCH - 1, n_test=5)
    with pytest.raises(DatasetFileError, match=f"{BATCH - 1} training images, fewer than one batch of {BATCH}"):
        run_training(make_config(), small, tmp_path / "run")


def test_missing_data_file_is_refused(tmp_path):
    with pytest.raises(DatasetFileError, match="no such dataset file") as refused:
        run_training(make_config(), tmp_path / "absent.h5", tmp_path / "run")
    assert str(tmp_path / "absent.h5") in str(refused.value)
    assert not (tmp_path / "run").exists()


def test_checkpoint_from_other_images_refused(uninterrupted, write_tiny_dataset, data, tmp_path):
    real = write_tiny_dataset(tmp_path / "real.h5", source="real", dataset="mnist", seed=7)
    resumable = tmp_path / "run" / "checkpoint.pt"
    with sigterm_when(resumable.exists), pytest.raises(InfoganError, match="stopped by signal"):
        run_training(make_config(iterations=100), real, tmp_path / "run", checkpoint_every=1)
    with pytest.raises(CheckpointError, match=r"trained on other images \(real .*real.h5\) than those in") as refused:
        run_training(make_config(iterations=100), data, tmp_path / "run")
    assert str(resumable) in str(refused.value)


# --- pieces -----------------------------------------------------------------------------------


def test_epoch_batches_cover_each_epoch_once_and_resume_anywhere():
    batches = EpochBatches(n_images=50, batch_size=8, seed=4, device=torch.device("cpu"))
    assert batches.batches_per_epoch == 6
    epoch0 = torch.cat([batches.indices(i) for i in range(6)])
    epoch1 = torch.cat([batches.indices(i) for i in range(6, 12)])
    for epoch in (epoch0, epoch1):
        assert len(epoch) == 48 and len(set(epoch.tolist())) == 48  # 2 images left out each epoch
    assert not torch.equal(epoch0, epoch1)
    # a fresh object (a resumed run) gives the same batch for any iteration
    assert torch.equal(EpochBatches(50, 8, 4, torch.device("cpu")).indices(9), batches.indices(9))
    assert torch.equal(EpochBatches(50, 8, 4, torch.device("cpu")).indices(2), epoch0[16:24])
    assert not torch.equal(EpochBatches(50, 8, 5, torch.device("cpu")).indices(0), epoch0[:8])


def test_frozen_blocks_parameter_gradients_but_not_input_gradients():
    layer = torch.nn.Linear(3, 1)
    x = torch.ones(2, 3, requires_grad=True)
    with frozen(layer):
        layer(x).sum().backward()
    assert layer.weight.grad is None and x.grad is not None
    assert all(p.requires_grad for p in layer.parameters())


@pytest.mark.parametrize("name", sorted(set(yaml.safe_load(EXPERIMENTS.read_text())) - {"mnist_infogan"}))
def test_every_paper_experiment_trains_and_evaluates(name, write_tiny_dataset, tmp_path):
    """Each experiment of src/infogan/configs/experiments.yaml builds its network, takes training steps
    with finite losses on data of its image shape, and its run evaluates."""
    from infogan.evaluate import evaluate

    config = make_config(name, iterations=2)
    data = write_tiny_dataset(tmp_path / "data.h5", n_train=3 * BATCH, n_test=BATCH, image_shape=config.image_shape,
                              factors=True)
    run_training(config, data, tmp_path / "run", checkpoint_every=2, log_every=1)
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [entry["iteration"] for entry in logged] == [1, 2]
    assert all(torch.isfinite(torch.tensor(value)) for entry in logged for value in entry.values()
               if isinstance(value, float))
    result = evaluate(tmp_path / "run", data, tmp_path / "eval.json", device="cpu", samples=16, draws=2)
    spec = config.latent
    assert result["mutual_information"]["categorical_max"] == pytest.approx(spec.categorical_entropy)
    assert ("categorical_accuracy" in result) == bool(spec.categorical)
    assert len(result["factor_correlations"]) == spec.continuous  # Spearman: continuous codes only
    assert len(result["disentanglement"]["mutual_information"]) == len(spec.categorical) + spec.continuous


def test_a_joint_discriminator_batch_trains_and_changes_the_numbers(uninterrupted, data, tmp_path):
    """`discriminator_batch: joint` (real and generated images in one batch-norm batch) is a
    different computation from the authors' separate batches, recorded in the fingerprint."""
    joint = make_config(discriminator_batch="joint")
    assert joint.fingerprint() != make_config().fingerprint()
    run_training(joint, data, tmp_path / "joint")
    assert sha256(tmp_path / "joint" / "final.pt") != sha256(uninterrupted() / "final.pt")
    logged = [json.loads(line) for line in (tmp_path / "joint" / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(entry["d_loss"]) for entry in logged)


def test_a_fresh_latent_for_the_generator_step_changes_the_numbers(uninterrupted):
    fresh = make_config(generator_step_latent="fresh")
    assert fresh.fingerprint() != make_config().fingerprint()
    assert sha256(uninterrupted("fresh_generator_latent") / "final.pt") != sha256(uninterrupted() / "final.pt")


@pytest.mark.parametrize("end", ["first", "last"])
def test_train_images_keeps_the_chosen_end_of_the_split(end, write_tiny_dataset, tmp_path):
    """TensorFlow's MNIST reader (the released code's) trains on the last 55,000 images."""
    from infogan.data.hdf5 import read_split
    from infogan.train import load_training_images

    data = write_tiny_dataset(tmp_path / "data.h5", n_train=5 * BATCH, n_test=BATCH)
    every = torch.from_numpy(read_split(data, "train").images)
    images, _, description = load_training_images(data, make_config(train_images=3 * BATCH, train_images_from=end), "cpu")
    expected = every[: 3 * BATCH] if end == "first" else every[-3 * BATCH:]
    assert torch.equal(images, expected)
    assert description["images_sha256"] == hashlib.sha256(expected.numpy().tobytes()).hexdigest()


@pytest.mark.parametrize("key", ["generator_step_latent", "train_images_from"])
def test_an_unknown_choice_is_named_with_the_choices(key):
    with pytest.raises(ConfigError, match=f"{key}.*'middle'.*choose one of"):
        make_config(**{key: "middle"})


def test_an_unknown_discriminator_batch_is_named():
    with pytest.raises(ConfigError, match="discriminator_batch.*'together'.*separate"):
        make_config(discriminator_batch="together")


def test_a_lambda_ramp_scales_both_lambdas_from_zero_to_one():
    ramped = make_config(lambda_ramp=[2, 6])
    assert [ramped.lambda_scale(i) for i in (0, 1, 2, 3, 4, 6, 50)] == [0, 0, 0, 0.25, 0.5, 1, 1]
    assert make_config().lambda_scale(0) == 1
    assert ramped.fingerprint() != make_config().fingerprint()
    assert config_from_dict(ramped.to_dict()) == ramped


def test_before_its_lambda_ramp_starts_infogan_trains_as_a_plain_gan(data, tmp_path):
    """Both steps, D/Q's and G's, take the ramp's scale: a ramp that has not started yet
    gives exactly the weights of the same networks trained with both lambdas at 0."""
    not_started = make_config(lambda_ramp=[ITERATIONS, ITERATIONS + 5])
    zero = make_config(lambda_categorical=0.0, lambda_continuous=0.0)
    ramp_midway = make_config(lambda_ramp=[2, 12])
    for name, config in (("not_started", not_started), ("zero", zero), ("midway", ramp_midway)):
        run_training(config, data, tmp_path / name)
    assert_same_weights(tmp_path / "not_started" / "final.pt", tmp_path / "zero" / "final.pt")
    assert sha256(tmp_path / "midway" / "final.pt") != sha256(tmp_path / "not_started" / "final.pt")


@pytest.mark.parametrize("ramp", [5, [5], [6, 2], [-1, 3], ["a", 3]])
def test_a_malformed_lambda_ramp_is_named(ramp):
    with pytest.raises(ConfigError, match="lambda_ramp"):
        make_config(lambda_ramp=ramp)
