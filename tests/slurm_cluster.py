"""A real single-node SLURM cluster on 127.0.0.1 for tests, from Debian's slurm-wlm and munge.

Everything lives in one folder: a generated munge key, slurm.conf and gres.conf, the
daemons' state, spool, pid and log files. The node's CPUs and memory are what `slurmd -C`
reports for this machine. Two partitions share the node, `cpu` (the default) and `gpu`, and
the node declares GPUs as a generic resource (GRES), so jobs that ask for `--gpus` are
scheduled although no GPU exists. No cgroups (proctrack/linuxproc, task/none) and no
accounting database, so it runs as root in a container without access to cgroups.

    cluster = SlurmCluster(folder); cluster.start(); ...; cluster.stop()

`start` raises ClusterUnavailable, with the daemons' log tails, when they do not come up.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "sinfo", "scontrol", "scancel")


class ClusterUnavailable(RuntimeError):
    """The daemons could not be started here; the message says why."""


def missing_requirements():
    """Why no cluster can be started on this machine, or None."""
    if os.geteuid() != 0:
        return "needs root to run munged, slurmctld and slurmd"
    missing = [name for name in DAEMONS + CLIENTS if not shutil.which(name, path=_sbin_path())]
    if missing:
        return f"{', '.join(missing)} not installed: apt-get install slurm-wlm munge"
    return None


def _sbin_path():
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def _free_ports(count):
    """`count` different TCP ports on 127.0.0.1 that nothing listens on now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tail(path, lines=8):
    if not path.is_file():
        return f"{path.name}: (no file)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"{path.name}:\n  " + "\n  ".join(text)


class SlurmCluster:
    """munged, slurmctld and slurmd for one node, `node`, with `gpus` declared GPUs."""

    # The gpu GRES plugin keeps only GPUs that name a device file. Any character device
    # does: with task/none nothing confines or opens it; jobs only see CUDA_VISIBLE_DEVICES.
    DEVICE_FILES = ("/dev/null", "/dev/zero")

    def __init__(self, folder, node="infogan-node", gpus=1):
        if not 1 <= gpus <= len(self.DEVICE_FILES):
            raise ValueError(f"gpus must be 1 to {len(self.DEVICE_FILES)}")
        self.folder = Path(folder)
        self.node = node
        self.gpus = gpus
        self.conf = self.folder / "slurm.conf"
        self.logs = self.folder / "log"
        self.socket = self.folder / "run" / "munge.socket"
        self.processes = {}
        self.memory_mb = None
        # Client commands (sbatch, squeue, ...) read SLURM_CONF; variables of an enclosing
        # SLURM job (when the tests themselves run in one) would confuse them.
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(("SLURM_", "SBATCH_"))}
        self.bin = self.folder / "bin"
        self.env.update(SLURM_CONF=str(self.conf), PATH=os.pathsep.join([str(self.bin), _sbin_path()]))

    def start(self):
        for name, mode in (("munge", 0o700), ("run", 0o755), ("state", 0o700), ("spool", 0o700), ("log", 0o755)):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
            (self.folder / name).chmod(mode)
        self._start_munged()
        self._write_config()
        self._write_srun_wrapper()
        self._start("slurmctld", "slurmctld", "-D", "-f", self.conf)
        self._start("slurmd", "slurmd", "-D", "-N", self.node, "-f", self.conf)
        self._wait_until_idle()

    def stop(self):
        """Cancel what still runs, then stop the daemons this object started (slurmd first)."""
        try:
            self._cancel_jobs()
        except (OSError, subprocess.SubprocessError):
            pass  # the daemons go anyway; slurmd's job steps end with their job
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def _cancel_jobs(self):
        if not self._alive("slurmctld"):
            return
        ids = self.command("squeue", "--noheader", "--format=%i", check=False, timeout=15).stdout.split()
        if ids:
            self.command("scancel", *ids, check=False, timeout=15)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.command(
                    "squeue", "--noheader", "--states=RUNNING,COMPLETING,PENDING", check=False, timeout=15).stdout.strip():
                time.sleep(0.5)

    def command(self, *args, check=True, timeout=60):
        """Run a SLURM client command against this cluster."""
        result = subprocess.run([str(a) for a in args], env=self.env, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, args))} failed ({result.returncode}): {result.stderr.strip()}\n"
                               f"{self.log_tails()}")
        return result

    def jobs(self):
        """Every job slurmctld still knows (finished ones for MinJobAge), as {field: value} with
        `scontrol show job --details` fields, e.g. Comment, Partition, TresPerJob, JOB_GRES, JobState."""
        output = self.command("scontrol", "show", "job", "--details", "--oneliner").stdout
        return [dict(token.partition("=")[::2] for token in line.split() if "=" in token)
                for line in output.splitlines() if line.startswith("JobId=")]

    def log_tails(self, first=()):
        """The end of each daemon's log (its log file, else what it printed), `first` ones first."""
        names = [*first, *(name for name in DAEMONS if name not in first)]
        return "\n".join(_tail(self.logs / f"{name}.log") if (self.logs / f"{name}.log").is_file()
                         else _tail(self.logs / f"{name}.out") for name in names)

    def _start_munged(self):
        key = self.folder / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        # --force: munged wants every folder above its socket open to all users; pytest's
        # temporary folders are not, and only root (the daemons, the jobs) uses this socket.
        self._start("munged", "munged", "--foreground", "--force", f"--key-file={key}", f"--socket={self.socket}",
                    f"--pid-file={self.folder / 'run' / 'munged.pid'}", f"--log-file={self.logs / 'munged.log'}",
                    f"--seed-file={self.folder / 'munge' / 'munged.seed'}")
        self._wait_for(lambda: self.socket.exists(), "munged did not open its socket", ("munged",), 15)

    def _write_config(self):
        self.memory_mb, hardware = self._node_hardware()
        host = socket.gethostname().split(".")[0]
        controller_port, node_port = _free_ports(2)
        state = self.folder
        self.conf.write_text(f"""\
# Written by tests/slurm_cluster.py: one node on 127.0.0.1, no cgroups, no accounting database.
ClusterName=infogan-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={controller_port}
SlurmdPort={node_port}
AuthType=auth/munge
AuthInfo=socket={self.socket}
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={state / 'state'}
SlurmdSpoolDir={state / 'spool'}
SlurmctldPidFile={state / 'run' / 'slurmctld.pid'}
SlurmdPidFile={state / 'run' / 'slurmd.pid'}
SlurmctldLogFile={self.logs / 'slurmctld.log'}
SlurmdLogFile={self.logs / 'slurmd.log'}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
# Finished jobs stay visible to squeue and scontrol for an hour (there is no sacct here).
MinJobAge=3600
GresTypes=gpu
NodeName={self.node} NodeAddr=127.0.0.1 NodeHostname={host} {hardware} Gres=gpu:{self.gpus} State=UNKNOWN
PartitionName=cpu Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={self.node} MaxTime=INFINITE State=UP
""")
        devices = ",".join(self.DEVICE_FILES[:self.gpus])
        (self.folder / "gres.conf").write_text(f"NodeName={self.node} Name=gpu File={devices}\n")

    def _write_srun_wrapper(self):
        """An `srun` first on the jobs' PATH that restores SLURM_CONF: inside a job, the slurm-jobstep
        plugin removes the SLURM_* variables, SLURM_CONF too, before it calls srun. On a real
        cluster srun finds its configuration at the default path (or through DNS); this one's
        is in a temporary folder."""
        self.bin.mkdir(exist_ok=True)
        wrapper = self.bin / "srun"
        wrapper.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec "{shutil.which("srun", path=_sbin_path())}" "$@"\n')
        wrapper.chmod(0o755)

    def _node_hardware(self):
        """(memory in MB, the CPU and memory fields of `slurmd -C`) for this machine."""
        reported = subprocess.run(["slurmd", "-C"], env=self.env, capture_output=True, text=True, timeout=30,
                                  check=False).stdout
        line = next((line for line in reported.splitlines() if line.startswith("NodeName=")), "")
        fields = [field for field in line.split()
                  if field.split("=")[0] in ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket",
                                             "ThreadsPerCore", "RealMemory")]
        memory = re.search(r"RealMemory=(\d+)", line)
        if not memory:
            raise ClusterUnavailable(f"`slurmd -C` did not report this machine's hardware: {reported!r}")
        return int(memory.group(1)), " ".join(fields)

    def _start(self, name, *command):
        with open(self.logs / f"{name}.out", "wb") as output:
            self.processes[name] = subprocess.Popen([str(c) for c in command], env=self.env, stdin=subprocess.DEVNULL,
                                                    stdout=output, stderr=subprocess.STDOUT, start_new_session=True)

    def _alive(self, name):
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def _wait_for(self, condition, failure, daemons, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            dead = [name for name in daemons if not self._alive(name)]
            if dead:
                raise ClusterUnavailable(f"{', '.join(dead)} exited at start.\n{self.log_tails(dead)}")
            if condition():
                return
            time.sleep(0.3)
        raise ClusterUnavailable(f"{failure} within {seconds} s.\n{self.log_tails()}")

    def _wait_until_idle(self):
        def idle():
            state = self.command("sinfo", "--noheader", "--Node", f"--nodes={self.node}", "--format=%T",
                                 check=False).stdout.split()
            return "idle" in state

        self._wait_for(idle, f"node {self.node} did not become idle (sinfo)", DAEMONS, 60)
