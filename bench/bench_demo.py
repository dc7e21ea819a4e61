#!/usr/bin/env python3
"""`make demo` from a fresh clone, timed stage by stage, with a reference of the machine's speed.

    python3 bench/bench_demo.py [--workdir /tmp/bench_demo] [--make_args "DEMO_ARGS="] [--keep]

Clones the repository's HEAD into --workdir (a fresh clone: no .venv, no recipe outputs), runs
`make demo` there and prints a markdown table: the install, each recipe stage (from svs.sh's
"Stage N:" log lines), packing and `perform`, and the total wall time. Before it, the same fixed
workloads on this machine (one core: a pure-Python loop, `import torch` of the new environment
after the run, a float32 matrix product), so that times measured on different machines can be
compared. Run it with nothing else on the machine. The make log stays in --workdir/make_demo.log.
"""

import argparse
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGE_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) \(svs\.sh:\d+:main\) Stage (\d+):")


def python_loop_seconds() -> float:
    t = time.perf_counter()
    sum(i * i for i in range(10 ** 7))
    return time.perf_counter() - t


def torch_seconds(python: Path) -> tuple:
    """(import torch, 20 float32 1024x1024 matmuls on one thread) in seconds, in a new process."""
    code = ("import time; t = time.perf_counter(); import torch; i = time.perf_counter() - t; "
            "torch.set_num_threads(1); a = torch.randn(1024, 1024); a @ a; t = time.perf_counter(); "
            "[a @ a for _ in range(20)]; print(i, time.perf_counter() - t)")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def stage_times(log: str, t_start: float, t_end: float) -> list:
    """[(step, seconds)]: install (start to stage 1), each stage, and the rest (pack's end to the end)."""
    marks = []
    for line in log.splitlines():
        m = STAGE_LINE.match(line)
        if m:
            marks.append((f"stage {m.group(2)}", datetime.fromisoformat(m.group(1)).timestamp()))
    if not marks:
        return [("make demo (no stage line found)", t_end - t_start)]
    rows = [("install", marks[0][1] - t_start)]
    for (name, t), (_, t_next) in zip(marks, marks[1:] + [("end", t_end)]):
        rows.append((name if name != "stage 9" else "stage 9 + perform", t_next - t))
    return rows


def fmt(s: float) -> str:
    return f"{int(s // 60)} min {s % 60:.0f} s" if s >= 60 else f"{s:.0f} s"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", default="/tmp/bench_demo", help="the fresh clone goes here (must not exist)")
    p.add_argument("--make_args", default="", help='extra make arguments, e.g. "DEMO_ARGS=" for the diagnostics too')
    p.add_argument("--keep", action="store_true", help="keep the clone afterwards (default: deleted)")
    a = p.parse_args(argv)
    work = Path(a.workdir)
    if work.exists():
        p.error(f"--workdir {work} exists: pass a new directory (nothing there is overwritten)")
    loop = python_loop_seconds()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    subprocess.run(["git", "clone", "-q", str(REPO), str(work)], check=True)
    log_path = work / "make_demo.log"
    t0 = time.time()
    with open(log_path, "w") as log:
        rc = subprocess.run(["make", "demo", *a.make_args.split()], cwd=work, stdout=log, stderr=subprocess.STDOUT).returncode
    t1 = time.time()
    imp, mm = torch_seconds(work / ".venv" / "bin" / "python")
    rows = stage_times(log_path.read_text(errors="replace"), t0, t1)
    print(f"`make demo {a.make_args}` at commit {commit}, fresh clone in {work}, "
          f"{datetime.now().isoformat(timespec='minutes')}, exit status {rc}\n")
    print("| machine reference (one core) | seconds |\n|---|---|")
    print(f"| pure-Python loop (sum of 10^7 squares) | {loop:.2f} |")
    print(f"| import torch (warm) | {imp:.2f} |")
    print(f"| 20 float32 1024x1024 matmuls | {mm:.2f} |\n")
    print("| step | wall time |\n|---|---|")
    for name, s in rows:
        print(f"| {name} | {fmt(s)} |")
    print(f"| **total** | **{fmt(t1 - t0)}** |")
    if not a.keep and rc == 0:
        shutil.rmtree(work)
    elif rc != 0:
        print(f"\nmake demo failed: see {log_path}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
