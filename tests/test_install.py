"""A non-editable install works from anywhere: its config files ship inside the package.

`pip install .` builds a wheel from a copy of the project's sources (so the build leaves
nothing in the checkout) into a target folder; the `infogan` command it installs, run from
an empty directory with that folder first on the path, trains an experiment and reads the
figure definitions without the checkout's help.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the target folder of a non-editable install, the environment that puts it first)."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy(REPO / "pyproject.toml", source)
    for name in ("README.md", "LICENSE"):
        shutil.copy(REPO / name, source)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True)
    env = {key: value for key, value in os.environ.items() if key != "INFOGAN_CONFIG"}
    env["PYTHONPATH"] = str(target)
    return target, env


def test_the_installed_package_is_the_one_imported(installed, tmp_path):
    target, env = installed
    found = subprocess.run([sys.executable, "-c", "import infogan.config as c; print(c.__file__); "
                            "print(c.default_config_path())"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(path).is_relative_to(target) for path in found)
    assert Path(found[1]).is_file()


def test_installed_infogan_trains_and_reads_figure_definitions_from_another_directory(installed, tmp_path,
                                                                                    write_tiny_dataset):
    target, env = installed
    data = write_tiny_dataset(tmp_path / "data.h5", n_train=32, n_test=16)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    trained = subprocess.run([str(target / "bin" / "infogan"), "train", "mnist_infogan", "--data", str(data),
                              "--out", "run", "--iterations", "2", "--set", "batch_size=8", "--device", "cpu"],
                             cwd=elsewhere, env=env, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    assert (elsewhere / "run" / "final.pt").is_file()
    figures = subprocess.run([sys.executable, "-c", "from infogan.figures import load_figure_specs; "
                              "print(sorted(load_figure_specs()))"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, check=True)
    assert figures.stdout.strip() == "[2, 3, 4, 5, 6]"
