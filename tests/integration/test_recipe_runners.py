"""The recipe's job runners (utils/run.pl, utils/slurm.pl with a fake sbatch), run as subprocesses
from temporary directories."""

import os
import shlex
import time

import pytest

from tests.support.paths import RECIPE
from tests.support.shell import UTILS, run, write


# ------------------------------------------------------------------ run.pl
def test_run_pl_parallel_substitutes_job_and_logs(tmp_path):
    t0 = time.time()
    run([UTILS / "run.pl", "--max-jobs-run", "4", "JOB=1:4", "log/x.JOB.log",
         "sleep", "1", "&&", "echo", "job", "JOB", "out.JOB"], tmp_path, check=True)
    elapsed = time.time() - t0
    assert elapsed < 2.5, f"4 x 1 s jobs with 4 slots took {elapsed:.1f} s: not parallel"
    for j in range(1, 5):
        log = (tmp_path / f"log/x.{j}.log").read_text()
        assert f"# sleep 1 && echo job {j} out.{j}" in log
        assert f"\njob {j} out.{j}\n" in log
        assert "# Started at" in log and "# Ended (code 0)" in log


def test_run_pl_bounds_parallelism(tmp_path):
    t0 = time.time()
    run([UTILS / "run.pl", "--max-jobs-run", "1", "JOB=1:3", "log/s.JOB.log", "sleep", "0.4"],
        tmp_path, check=True)
    assert time.time() - t0 >= 1.2


def test_run_pl_default_parallelism_ignores_omp_num_threads(tmp_path):
    # path.sh exports OMP_NUM_THREADS=1 (threads per job); the default number of parallel jobs
    # must still be the machine's CPUs. Each job waits for the other one to start: run one at a
    # time, the first would give up and fail.
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs 2 CPUs")
    wait = 'touch started.JOB; for i in $(seq 100); do [ -f started.1 ] && [ -f started.2 ] && exit 0; sleep 0.1; done; exit 1'
    p = run([UTILS / "run.pl", "JOB=1:2", "log/w.JOB.log", "bash", "-c", wait], tmp_path,
            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0, (tmp_path / "log/w.1.log").read_text()


def test_run_pl_failure_names_jobs_and_others_still_run(tmp_path):
    p = run([UTILS / "run.pl", "JOB=1:3", "log/f.JOB.log", "echo", "ran", "JOB", ";",
             "test", "JOB", "-ne", "2"], tmp_path, check=False)
    assert "log/f.2.log" in p.stderr and "JOB=2" in p.stderr
    assert "log/f.1.log" not in p.stderr and "log/f.3.log" not in p.stderr
    assert "# Ended (code 1)" in (tmp_path / "log/f.2.log").read_text()
    for j in (1, 3):
        log = (tmp_path / f"log/f.{j}.log").read_text()
        assert f"ran {j}" in log and "# Ended (code 0)" in log


def test_run_pl_single_job_and_ignored_options(tmp_path):
    run([UTILS / "run.pl", "--gpu", "1", "--mem", "4G", "--num-threads", "2", "--num_threads", "2",
         "exp/one.log", "echo", "a b|c"], tmp_path, check=True)
    log = (tmp_path / "exp/one.log").read_text()
    assert "\na b|c\n" in log  # an argument with whitespace is quoted, not parsed by the shell
    p = run([UTILS / "run.pl", "exp/one.log", "false"], tmp_path, check=False)
    assert "exp/one.log" in p.stderr
    p = run([UTILS / "run.pl", "--bogus", "1", "exp/one.log", "true"], tmp_path, check=False)
    assert "--bogus" in p.stderr


def test_run_pl_pipefail(tmp_path):
    # a failing producer in a pipe fails the job (no half-written output looking valid)
    run([UTILS / "run.pl", "log/p.log", "false", "|", "cat"], tmp_path, check=False)


# ------------------------------------------------------------------ slurm.pl
def sbatch_words(stdout):
    lines = [ln for ln in stdout.splitlines() if ln.startswith("sbatch")]
    assert len(lines) == 1, stdout
    return shlex.split(lines[0])


def test_slurm_print_only_array(tmp_path):
    write(tmp_path / "conf/slurm.conf", (RECIPE / "conf/slurm.conf").read_text())
    p = run([UTILS / "slurm.pl", "--print-only", "--gpu", "2", "--mem", "8G", "--num-threads", "4",
             "--max-jobs-run", "3", "JOB=1:10", "exp/log/f0.JOB.log", "python", "x.py", "keys.JOB.scp"],
            tmp_path, check=True)
    w = sbatch_words(p.stdout)
    assert w[-1] == "exp/log/q/f0.sh"
    assert "--array=1-10%3" in w
    assert "--gres=gpu:2" in w and "--mem=8G" in w and "--cpus-per-task=4" in w
    assert "--output=exp/log/f0.%a.log" in w
    assert "--export=ALL" in w and "--time=24:00:00" in w
    assert "SLURM_ARRAY_TASK_ID" in p.stderr and "python x.py keys.JOB.scp" in p.stderr
    assert not (tmp_path / "exp").exists(), "--print-only must not write anything"


def test_slurm_print_only_single_job_env_and_config(tmp_path):
    write(tmp_path / "my.conf", "command sbatch\noption gpu=0 --partition=cpu\n"
          "option gpu=* --partition=gpu --gres=gpu:$0\ndefault gpu=0\n"
          "option num_threads=* --cpus-per-task=$0\n")
    p = run([UTILS / "slurm.pl", "--config", "my.conf", "--num_threads", "1", "exp/t.log", "echo", "hi"],
            tmp_path, env={"SLURM_PL_PRINT_ONLY": "1"}, check=True)
    w = sbatch_words(p.stdout)
    assert "--partition=cpu" in w and "--cpus-per-task=1" in w and "--output=exp/t.log" in w
    assert not any(x.startswith("--array") for x in w) and not any("gres" in x for x in w)
    p = run([UTILS / "slurm.pl", "--config", "my.conf", "--print-only", "--gpu", "1", "exp/t.log", "true"],
            tmp_path, check=True)
    assert "--gres=gpu:1" in sbatch_words(p.stdout)
    p = run([UTILS / "slurm.pl", "--config", "my.conf", "--print-only", "--mem", "4G", "exp/t.log", "true"],
            tmp_path, check=False)
    assert "--mem" in p.stderr and "my.conf" in p.stderr
    write(tmp_path / "broken.conf", "command sbatch\noptoin gpu=* x\n")
    p = run([UTILS / "slurm.pl", "--config", "broken.conf", "--print-only", "exp/t.log", "true"],
            tmp_path, check=False)
    assert "broken.conf:2" in p.stderr


FAKE_SBATCH = """#!/usr/bin/env bash
# Stand-in for sbatch: runs the tasks locally in the background (task $SKIP never runs).
array=""; out=""; script="${@: -1}"
for a in "$@"; do case "$a" in --array=*) array=${a#--array=};; --output=*) out=${a#--output=};; esac; done
echo "$@" >> sbatch.calls
if [ -n "$array" ]; then r=${array%%%*}
  for t in $(seq ${r%-*} ${r#*-}); do [ "$t" = "${SKIP:-0}" ] && continue
    SLURM_ARRAY_TASK_ID=$t bash "$script" > "${out//%a/$t}" 2>&1 & done
else bash "$script" > "$out" 2>&1 & fi
echo 4242
"""


def test_slurm_submits_waits_and_reports(tmp_path):
    bindir = tmp_path / "bin"
    write(bindir / "sbatch", FAKE_SBATCH)
    write(bindir / "squeue", "#!/usr/bin/env bash\nexit 0\n")  # empty queue: job has left
    write(bindir / "sacct", "#!/usr/bin/env bash\necho '4242_3|OUT_OF_MEMORY|0:125'\n")
    for f in bindir.iterdir():
        f.chmod(0o755)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}", "SLURM_PL_POLL_INTERVAL": "0.2"}
    run([UTILS / "slurm.pl", "JOB=1:3", "log/ok.JOB.log", "echo", "task", "JOB"], tmp_path, env=env, check=True)
    for j in (1, 2, 3):
        log = (tmp_path / f"log/ok.{j}.log").read_text()
        assert f"\ntask {j}\n" in log and "# Ended (code 0)" in log
    p = run([UTILS / "slurm.pl", "JOB=1:3", "log/bad.JOB.log", "test", "JOB", "-ne", "2"], tmp_path,
            env=dict(env, SKIP="3"), check=False)
    assert "exit code 1, log is in log/bad.2.log" in p.stderr
    assert "OUT_OF_MEMORY" in p.stderr and "log/bad.3.log" in p.stderr
    assert "log/bad.1.log" not in p.stderr
