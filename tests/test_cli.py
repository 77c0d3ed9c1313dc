"""The `infogan` command: help, exit status 1 with one line naming the key or file, bench output."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from infogan import __version__
from infogan.cli import main
from infogan.train import bf16_available


REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "src" / "infogan" / "configs" / "experiments.yaml"
INFOGAN = Path(sys.executable).parent / "infogan"


def run_main(capsys, *argv):
    """Run the command in this process; returns (status, stdout, stderr lines)."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.splitlines()


def train_args(data, out, *extra):
    return ["train", "mnist_infogan", "--config", EXPERIMENTS, "--data", data, "--out", out, "--device", "cpu",
            *extra]


def assert_one_error_line(lines, command, *fragments):
    errors = [line for line in lines if line.startswith(f"infogan {command}: error: ")]
    assert len(errors) == 1, lines
    assert not any("Traceback" in line for line in lines)
    for fragment in fragments:
        assert str(fragment) in errors[0], (fragment, errors[0])
    return errors[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory, write_tiny_dataset):
    return write_tiny_dataset(tmp_path_factory.mktemp("cli_data") / "tiny.h5", n_train=40, n_test=10)


# --- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["prepare"], ["train"], ["evaluate"], ["bench"]])
def test_help_exits_zero(capsys, command):
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: infogan {' '.join(command)}".rstrip())
    if command == ["train"]:
        assert "--checkpoint-every" in out and "--set KEY=VALUE" in out


def test_installed_command_help_and_version():
    help_run = subprocess.run([INFOGAN, "--help"], capture_output=True, text=True, timeout=60)
    assert help_run.returncode == 0
    for command in ("prepare", "train", "evaluate", "bench"):
        assert command in help_run.stdout
    version = subprocess.run([INFOGAN, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"infogan {__version__}"


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "required: COMMAND" in capsys.readouterr().err


# --- errors: status 1, one line naming the key or file ------------------------------------------


def test_unknown_set_key(capsys, data, tmp_path):
    status, out, err = run_main(capsys, *train_args(data, tmp_path / "run", "--set", "batch_sise=8"))
    assert status == 1 and out == ""
    assert len(err) == 1
    assert_one_error_line(err, "train", EXPERIMENTS, "'mnist_infogan'", "unknown key 'batch_sise'",
                          "did you mean 'batch_size'")
    assert not (tmp_path / "run").exists()


def test_unknown_nested_set_key(capsys, data, tmp_path):
    status, _, err = run_main(capsys, *train_args(data, tmp_path / "run", "--set", "speed.bf16=false"))
    assert status == 1 and len(err) == 1
    assert_one_error_line(err, "train", "unknown key 'speed.bf16'")


def test_set_value_of_the_wrong_type(capsys, data, tmp_path):
    status, _, err = run_main(capsys, *train_args(data, tmp_path / "run", "--set", "speed.fused_adam=maybe"))
    assert status == 1 and len(err) == 1
    assert_one_error_line(err, "train", "key 'speed.fused_adam' must be true or false, got 'maybe'")


def test_set_value_written_as_a_float_without_a_dot(capsys, data, tmp_path):
    """`--set lr_generator=1e-3` is a number, as YAML 1.2 and people read it, not the text YAML 1.1 makes of it."""
    status, _, err = run_main(capsys, *train_args(data, tmp_path / "run", "--set", "lr_generator=-1e-3"))
    assert status == 1 and len(err) == 1
    assert_one_error_line(err, "train", "key 'lr_generator' must be a positive number, got -0.001")


def test_set_without_a_value(capsys, data, tmp_path):
    status, _, err = run_main(capsys, *train_args(data, tmp_path / "run", "--set", "batch_size"))
    assert status == 1 and len(err) == 1
    assert_one_error_line(err, "train", "--set 'batch_size': expected KEY=VALUE")


def test_unknown_experiment(capsys, data, tmp_path):
    args = train_args(data, tmp_path / "run")
    args[1] = "mnist_infogn"
    status, _, err = run_main(capsys, *args)
    assert status == 1
    assert_one_error_line(err, "train", "no experiment 'mnist_infogn'", "did you mean 'mnist_infogan'")


def test_missing_data_file(capsys, tmp_path):
    missing = tmp_path / "nowhere" / "data.h5"
    status, _, err = run_main(capsys, *train_args(missing, tmp_path / "run"))
    assert status == 1 and len(err) == 1
    assert_one_error_line(err, "train", missing, "no such dataset file", "infogan prepare")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_corrupt_hdf5_file_in_a_real_process(tmp_path):
    garbage = tmp_path / "x.h5"
    garbage.write_bytes(b"this is not an HDF5 file\n" * 100)
    command = [sys.executable, "-m", "infogan.cli", *map(str, train_args(garbage, tmp_path / "run"))]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # no traceback, no HDF5 error stack
    assert_one_error_line(lines, "train", garbage, "not a readable HDF5 file")
    assert not (tmp_path / "run").exists()


def test_truncated_hdf5_file(capsys, write_tiny_dataset, tmp_path):
    whole = write_tiny_dataset(tmp_path / "whole.h5", n_train=300, n_test=20).read_bytes()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(whole[: len(whole) // 2])
    status, _, err = run_main(capsys, *train_args(truncated, tmp_path / "run"))
    assert status == 1
    assert_one_error_line(err, "train", truncated)


def test_hdf5_file_with_damaged_image_chunks(capsys, write_tiny_dataset, tmp_path):
    damaged = bytearray(write_tiny_dataset(tmp_path / "whole.h5", n_train=300, n_test=20).read_bytes())
    middle = len(damaged) // 2  # inside the compressed training images
    damaged[middle:middle + 2000] = bytes(2000)
    path = tmp_path / "damaged.h5"
    path.write_bytes(damaged)
    status, _, err = run_main(capsys, *train_args(path, tmp_path / "run"))
    assert status == 1
    assert_one_error_line(err, "train", path, "split 'train' is corrupt")
    assert not (tmp_path / "run").exists()


def test_diverging_run_exits_with_not_finite(capsys, data, tmp_path):
    status, _, err = run_main(capsys, *train_args(
        data, tmp_path / "run", "--iterations", "20", "--checkpoint-every", "1", "--log-every", "1",
        "--set", "batch_size=8", "--set", "lr_generator=1.0e+30"))
    assert status == 1
    assert_one_error_line(err, "train", "loss is not finite at iteration 2", "checkpoint.pt")
    assert (tmp_path / "run" / "checkpoint.pt").exists() and not (tmp_path / "run" / "final.pt").exists()


def test_unknown_dataset_for_prepare(capsys, tmp_path):
    status, _, err = run_main(capsys, "prepare", "cifar10", "--out", tmp_path / "c.h5")
    assert status == 1 and len(err) == 1
    assert_one_error_line(err, "prepare", "unknown dataset 'cifar10'", "mnist", "synthetic_digits")
    assert not (tmp_path / "c.h5").exists()


def test_prepare_a_stand_in_to_order_and_refuse_sizes_for_real_data(capsys, tmp_path):
    from infogan.data.hdf5 import read_info

    status, _, _ = run_main(capsys, "prepare", "synthetic_digits", "--out", tmp_path / "d.h5",
                            "--train-images", "64", "--test-images", "16")
    assert status == 0 and read_info(tmp_path / "d.h5").splits == {"train": (64, 1, 28, 28), "test": (16, 1, 28, 28)}
    status, _, err = run_main(capsys, "prepare", "mnist", "--out", tmp_path / "m.h5", "--train-images", "64")
    assert status == 1
    assert_one_error_line(err, "prepare", "--train-images", "'mnist' has a fixed size")
    assert not (tmp_path / "m.h5").exists()
    status, _, err = run_main(capsys, "prepare", "synthetic_cartoon_faces", "--out", tmp_path / "f.h5",
                              "--test-images", "16")
    assert status == 1
    assert_one_error_line(err, "prepare", "--test-images", "'synthetic_cartoon_faces' has no test split")
    assert not (tmp_path / "f.h5").exists()


def test_evaluate_without_a_finished_run(capsys, data, tmp_path):
    status, _, err = run_main(capsys, "evaluate", tmp_path, "--data", data, "--out", tmp_path / "e.json",
                              "--device", "cpu")
    assert status == 1 and len(err) == 1
    assert_one_error_line(err, "evaluate", tmp_path / "final.pt", "no such checkpoint")
    assert not (tmp_path / "e.json").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda(capsys, data, tmp_path):
    args = train_args(data, tmp_path / "run")
    args[args.index("--device") + 1] = "cuda"
    status, _, err = run_main(capsys, *args)
    assert status == 1
    assert_one_error_line(err, "train", "--device cuda: no CUDA device")


# --- bench ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench_runs():
    """`infogan bench` with bf16 autocast off and on, as two processes at once."""
    processes = {}
    for bf16 in ("false", "true"):
        command = [INFOGAN, "bench", "mnist_infogan", "--config", EXPERIMENTS, "--iterations", "2",
                   "--warmup", "1", "--batch-size", "16", "--threads", "1",
                   "--set", f"speed.bf16_autocast={bf16}"]
        processes[bf16] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return {bf16: (p, *p.communicate(timeout=300)) for bf16, p in processes.items()}


@pytest.mark.slow
@pytest.mark.parametrize("bf16", ["false", "true"])
def test_bench_prints_one_json_line(bench_runs, bf16):
    process, out, err = bench_runs[bf16]
    assert process.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["implementation"] == "infogan" and result["experiment"] == "mnist_infogan"
    assert result["iterations"] == 2 and result["batch_size"] == 16 and result["threads"] == 1
    assert result["images_per_second"] > 0 and result["iterations_per_second"] > 0 and result["seconds"] > 0
    assert result["peak_rss_mb"] > 0
    assert result["device"] == "cpu"
    assert result["speed"]["bf16_autocast"] is (bf16 == "true")
    used = bf16 == "true" and bf16_available(torch.device("cpu"))
    assert result["bf16_autocast_used"] is used
    assert result["bf16_autocast"].startswith("on:" if used else "off:")
    # efficiency: the step's FLOPs (as `infogan plan` counts them) over the time, against a
    # matrix product in the dtype the step computes in, measured in the same process
    from infogan.config import load_experiment
    from infogan.planning import flops_per_iteration

    flops = flops_per_iteration(load_experiment("mnist_infogan", EXPERIMENTS, {"batch_size": 16}))
    assert result["step_gflops_per_second"] == pytest.approx(flops * 2 / result["seconds"] / 1e9, rel=0.01)
    assert result["matmul"].startswith(f"2048x2048 {'bfloat16' if used else 'float32'}")
    assert result["matmul_gflops_per_second"] > 0
    # (rounded numbers: GFLOP/s to 0.1, so a slow step's ratio moves by up to 0.05 / its rate)
    slack = 0.0005 + 0.05 / result["step_gflops_per_second"] * result["efficiency"] + 0.05 / result["matmul_gflops_per_second"]
    assert result["efficiency"] == pytest.approx(result["step_gflops_per_second"] / result["matmul_gflops_per_second"],
                                                 abs=slack)
    assert result["cpu_features"][-1].startswith("torch kernels: ")
    assert "Traceback" not in err


def test_bench_with_zero_iterations_is_a_one_line_error(capsys):
    status, _, err = run_main(capsys, "bench", "mnist_infogan", "--config", EXPERIMENTS, "--iterations", "0",
                              "--warmup", "0", "--batch-size", "8", "--threads", "1")
    assert status == 1
    assert_one_error_line(err, "bench", "--iterations")


# --- counts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("command, option", [
    (["train", "mnist_infogan", "--data", "d.h5", "--out", "run"], "--checkpoint-every"),
    (["train", "mnist_infogan", "--data", "d.h5", "--out", "run"], "--log-every"),
    (["train", "mnist_infogan", "--data", "d.h5", "--out", "run"], "--iterations"),
    (["evaluate", "run", "--data", "d.h5", "--out", "e.json"], "--samples"),
    (["evaluate", "run", "--data", "d.h5", "--out", "e.json"], "--draws"),
    (["prepare", "synthetic_digits", "--out", "d.h5"], "--train-images"),
])
@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_count_below_one_is_refused_before_anything_runs(capsys, tmp_path, monkeypatch, command, option, value):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main([*command, option, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"infogan {command[0]}: error: argument {option}: must be at least 1, got {int(value)}"
    assert list(tmp_path.iterdir()) == []  # nothing written
