"""Shared fixtures: a real HTTP server on 127.0.0.1, so download code is tested without mocks;
and `skip_or_fail`, the one way a test gives up on a check this machine cannot run.

The suite runs in parallel (pytest-xdist, `--dist loadfile`: each module on one worker, so
its module fixtures are made once and its tests keep their order). Modules are handed out
longest first, so that the end-to-end pipelines start at once and the quick modules fill the
other workers meanwhile. There is one worker more than cores (`pytest_xdist_auto_num_workers`
below), and every torch here uses one thread.
"""

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
import yaml

# One thread per test process, and per process a test starts: the suite runs more workers than
# cores, and torch processes with two threads each sharing two cores run slower than with one
# each (OpenMP threads wait on each other).
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)

# The modules that take longest, in the order xdist should start them (measured: --durations
# summed per module); the rest, seconds each, follow in their usual order and fill the end.
LONGEST_FIRST = ("test_pipeline.py", "test_real_mnist_pipeline.py", "test_end_to_end.py", "test_slurm.py",
                 "test_gpu_check.py", "test_train.py", "test_report.py", "test_allocator.py", "test_code_figures.py",
                 "test_figures.py", "test_probes.py", "test_cli.py", "test_planning.py")

OTHER_MODULES_NICE = 10  # the CPU priority of every module but test_pipeline.py (yield_to_the_pipeline_module)


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject.toml): one worker more than this process may use cores. The long
    modules wait part of the time (SLURM's polling, Snakemake's and DVC's steps with one job
    left, downloads from the local server); a third worker on two cores fills those waits
    (measured twice: 9 min 34 s and 11 min 42 s, against 10 min 22 s and 12 min 1 s with two;
    docs/testing.md). PYTEST_XDIST_AUTO_NUM_WORKERS, xdist's own setting, still decides
    where it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    return len(os.sched_getaffinity(0)) + 1


@pytest.fixture(scope="module", autouse=True)
def yield_to_the_pipeline_module(request):
    """On an xdist worker, every module but tests/test_pipeline.py runs at a lower CPU priority
    (nice 10), and so do the processes it starts.

    test_pipeline.py is the suite's critical path: one Snakemake DAG, then DVC steps that each
    wait for the one before, mostly one process at a time. At equal priority it got a third of
    the two cores while three workers ran, and was still running alone, on one core, when the
    rest had finished. Ahead of the others it finishes early and they fill the cores it leaves
    idle. A priority once lowered stays low (raising it back needs root); the pipeline module
    is handed out first, before its worker has run anything else."""
    if os.environ.get("PYTEST_XDIST_WORKER") and request.path.name != "test_pipeline.py":
        if os.getpriority(os.PRIO_PROCESS, 0) < OTHER_MODULES_NICE:
            os.setpriority(os.PRIO_PROCESS, 0, OTHER_MODULES_NICE)


def pytest_collection_modifyitems(items):
    """Longest modules first (stable: each module's own tests keep their order)."""
    def rank(item):
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
    items.sort(key=rank)


def skip_or_fail(reason):
    """Skip, saying why; but under CI=true (set by .ci/run) fail: CI installs everything
    these checks need, so there a check that cannot run is a broken CI machine, and CI must
    not go green without it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: a check CI cannot run fails rather than skips)")
    pytest.skip(reason)


@dataclass
class Reply:
    """One scripted answer. `content_length` larger than the body makes a truncated response."""

    status: int = 200
    body: bytes = b""
    content_length: int | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class LocalServer:
    """Serves files from `directory`, unless a path has scripted replies; logs every request path."""

    def __init__(self, directory: Path | None):
        self.directory = directory
        self.requests: list[str] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def script(self, path: str, *replies: Reply):
        """Answer requests for `path` with `replies` in turn; the last one repeats."""
        self._scripts["/" + path.lstrip("/")] = list(replies)

    def reply_for(self, path: str) -> Reply:
        with self._lock:
            self.requests.append(path)
            script = self._scripts.get(path)
            if script:
                return script.pop(0) if len(script) > 1 else script[0]
        file = self.directory / path.lstrip("/") if self.directory else None
        if file and file.is_file():
            return Reply(body=file.read_bytes())
        return Reply(status=404, body=b"not found")

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler_for(server: LocalServer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            reply = server.reply_for(self.path)
            time.sleep(reply.delay_s)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Length", str(reply.content_length or len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first (a timeout test)

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def http_server():
    """Factory: `http_server(directory=None)` starts a LocalServer, stopped after the test."""
    servers = []

    def start(directory=None) -> LocalServer:
        server = LocalServer(Path(directory) if directory else None)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# The real MNIST, recompressed (its README gives the content digests); never copied into git.
REAL_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def real_mnist() -> Path:
    """The folder of the four real MNIST archives; the test skips, saying why, where it is absent."""
    if not REAL_MNIST.is_dir():
        skip_or_fail(f"the real MNIST is not at {REAL_MNIST} (the project's shared data folder)")
    return REAL_MNIST


@pytest.fixture
def closed_port_url():
    """A base URL on 127.0.0.1 where nothing listens: any request to it fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="session")
def write_tiny_dataset():
    """Factory: `write_tiny_dataset(path, ...)` writes a small dataset file in the project's
    HDF5 layout (random images; labels cycling through 0-9; optional true factors) and returns its path."""

    def write(path, *, n_train=300, n_test=100, image_shape=(1, 28, 28), labels=True, factors=False,
              source="synthetic", dataset="tiny", seed=0):
        import numpy as np

        from infogan.data.hdf5 import Split, write_dataset

        rng = np.random.default_rng(seed)

        def split(count):
            return Split(
                images=rng.integers(0, 256, size=(count, *image_shape), dtype=np.uint8),
                labels=rng.permutation(np.arange(count) % 10) if labels else None,
                factors=rng.uniform(-1, 1, size=(count, 2)).astype(np.float32) if factors else None,
                factor_names=["slant", "width"] if factors else None,
            )

        write_dataset(path, dataset=dataset, source=source, description="tiny test data",
                      splits={"train": split(n_train), "test": split(n_test)})
        return Path(path)

    return write


def changed_yaml(source, out_dir, change):
    """A copy of YAML file `source` in `out_dir`, its content changed by `change(raw)`: config
    files with one thing wrong, for the tests of their checks."""
    raw = yaml.safe_load(Path(source).read_text())
    change(raw)
    path = Path(out_dir) / Path(source).name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path
