"""Behaviour of the recipe's shell helpers (egs2/visualsinger/svs1/utils, cmd.sh), run as
subprocesses from temporary directories."""

import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest
from tests.support.paths import REPO_ROOT

RECIPE = REPO_ROOT / "egs2" / "visualsinger" / "svs1"
UTILS = RECIPE / "utils"


def run(args, cwd, env=None, check=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60
    )
    if check is True:
        assert p.returncode == 0, p.stdout + p.stderr
    if check is False:
        assert p.returncode != 0, p.stdout + p.stderr
    return p


def write(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_data_dir(d: Path, utts=(("a_1", "a"), ("a_2", "a"), ("b_1", "b"), ("b_2", "b"))):
    d.mkdir(parents=True, exist_ok=True)
    write(d / "wav.scp", "".join(f"{u} /x/{u}.wav\n" for u, _ in utts))
    write(d / "text", "".join(f"{u} n i h ao\n" for u, _ in utts))
    write(d / "utt2spk", "".join(f"{u} {s}\n" for u, s in utts))
    spk = {}
    for u, s in utts:
        spk.setdefault(s, []).append(u)
    write(d / "spk2utt", "".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk.items())))
    write(d / "label", "".join(f"{u} 0.0 0.5 n 0.5 1.0 i\n" for u, _ in utts))
    write(d / "score.scp", "".join(f"{u} /x/{u}.json\n" for u, _ in utts))
    write(d / "video.scp", "".join(f"{u} /x/{u}.mp4\n" for u, _ in utts))
    write(d / "lip_report.json", '{"detection_rate": 1.0}\n')  # not a table: ignored
    (d / "logs").mkdir(exist_ok=True)
    return d


# ------------------------------------------------------------------ parse_options.sh
CALLER = """#!/usr/bin/env bash
set -euo pipefail
foo_bar=default
flag=false
help_message="usage: caller.sh [options] <arg>"
. "{utils}/parse_options.sh"
echo "foo_bar=${{foo_bar}} flag=${{flag}} rest=$*"
"""


@pytest.fixture
def caller(tmp_path):
    script = tmp_path / "caller.sh"
    write(script, CALLER.format(utils=UTILS))
    script.chmod(0o755)
    return script


def test_parse_options_sets_variables(caller, tmp_path):
    p = run([caller, "--foo-bar", "x y", "--flag", "true", "pos1", "--not-an-option"], tmp_path, check=True)
    assert p.stdout.strip() == "foo_bar=x y flag=true rest=pos1 --not-an-option"
    p = run([caller, "--foo_bar=7", "--", "--x"], tmp_path, check=True)
    assert p.stdout.strip() == "foo_bar=7 flag=false rest=--x"


def test_parse_options_rejects_unknown_and_bad_bool(caller, tmp_path):
    p = run([caller, "--no-such", "1"], tmp_path, check=False)
    assert "--no-such" in p.stderr and "no_such" in p.stderr
    assert p.stdout == ""
    p = run([caller, "--flag", "maybe"], tmp_path, check=False)
    assert "true or false" in p.stderr
    p = run([caller, "--foo-bar"], tmp_path, check=False)
    assert "missing value" in p.stderr


def test_parse_options_config_and_help(caller, tmp_path):
    write(tmp_path / "c.conf", "# comment\nfoo_bar=from_conf\nflag=true\n")
    p = run([caller, "--config", "c.conf", "a"], tmp_path, check=True)
    assert p.stdout.strip() == "foo_bar=from_conf flag=true rest=a"
    # the command line wins over the config, wherever --config appears
    p = run([caller, "--foo-bar", "cli", "--config", "c.conf"], tmp_path, check=True)
    assert p.stdout.strip().startswith("foo_bar=cli flag=true")
    write(tmp_path / "bad.conf", "foo_bar=1\nunknown_var=2\n")
    p = run([caller, "--config", "bad.conf"], tmp_path, check=False)
    assert "bad.conf:2" in p.stderr and "unknown_var" in p.stderr
    p = run([caller, "--help"], tmp_path, check=True)
    assert "usage: caller.sh" in p.stderr and p.stdout == ""


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


# ------------------------------------------------------------------ scp tools
def test_split_scp_even_and_by_speaker(tmp_path):
    utts = [f"s{s}_{i:02d}" for s, n in ((1, 5), (2, 2), (3, 3)) for i in range(n)]
    write(tmp_path / "in.scp", "".join(f"{u} /x/{u}\n" for u in utts))
    write(tmp_path / "utt2spk", "".join(f"{u} {u.split('_')[0]}\n" for u in utts))
    run([UTILS / "split_scp.pl", "in.scp", "o1", "o2", "o3"], tmp_path, check=True)
    parts = [(tmp_path / f"o{i}").read_text().splitlines() for i in (1, 2, 3)]
    assert sorted(len(x) for x in parts) == [3, 3, 4]
    assert sum(parts, []) == (tmp_path / "in.scp").read_text().splitlines()
    run([UTILS / "split_scp.pl", "--utt2spk", "utt2spk", "in.scp", "o1", "o2"], tmp_path, check=True)
    spk_sets = [{ln.split("_")[0] for ln in (tmp_path / f"o{i}").read_text().splitlines()} for i in (1, 2)]
    assert spk_sets[0] and spk_sets[1] and not (spk_sets[0] & spk_sets[1])
    assert [len((tmp_path / f"o{i}").read_text().splitlines()) for i in (1, 2)] == [5, 5]
    p = run([UTILS / "split_scp.pl", "--utt2spk", "utt2spk", "in.scp", "a", "b", "c", "d"], tmp_path, check=False)
    assert "3 speaker" in p.stderr
    p = run([UTILS / "split_scp.pl", "in.scp"] + [f"x{i}" for i in range(11)], tmp_path, check=False)
    assert "in.scp" in p.stderr and "10 line" in p.stderr
    assert not (tmp_path / "x0").exists()


def test_spk2utt_filter_shuffle(tmp_path):
    write(tmp_path / "utt2spk", "a_1 a\na_2 a\nb_1 b\n")
    p = run([UTILS / "utt2spk_to_spk2utt.pl", "utt2spk"], tmp_path, check=True)
    assert p.stdout == "a a_1 a_2\nb b_1\n"
    write(tmp_path / "spk2utt", p.stdout)
    p = run([UTILS / "spk2utt_to_utt2spk.pl", "spk2utt"], tmp_path, check=True)
    assert p.stdout == "a_1 a\na_2 a\nb_1 b\n"
    write(tmp_path / "ids", "a_2\nb_1 extra\n")
    assert run([UTILS / "filter_scp.pl", "ids", "utt2spk"], tmp_path).stdout == "a_2 a\nb_1 b\n"
    assert run([UTILS / "filter_scp.pl", "--exclude", "ids", "utt2spk"], tmp_path).stdout == "a_1 a\n"
    write(tmp_path / "l", "".join(f"{i}\n" for i in range(50)))
    s1 = run([UTILS / "shuffle_list.pl", "--srand", "3", "l"], tmp_path, check=True).stdout
    s2 = run([UTILS / "shuffle_list.pl", "--srand", "3", "l"], tmp_path, check=True).stdout
    s3 = run([UTILS / "shuffle_list.pl", "--srand", "4", "l"], tmp_path, check=True).stdout
    assert s1 == s2 != s3 and sorted(s1.split()) == sorted(s3.split()) and s1 != (tmp_path / "l").read_text()


# ------------------------------------------------------------------ data dirs
def validate(d, *opts):
    return run([UTILS / "validate_data_dir.sh", *opts, d], d.parent)


def test_validate_accepts_good_dir(tmp_path):
    d = make_data_dir(tmp_path / "d")
    assert validate(d, "--no-feats").returncode == 0
    p = validate(d)
    assert p.returncode != 0 and "feats.scp" in p.stderr


def test_validate_catches_unsorted(tmp_path):
    d = make_data_dir(tmp_path / "d")
    write(d / "video.scp", "a_1 v\nb_1 v\na_2 v\nb_2 v\n")
    p = validate(d, "--no-feats")
    assert p.returncode != 0 and "video.scp:3" in p.stderr and "sorted" in p.stderr


def test_validate_catches_mismatched_utts_and_empty_lines(tmp_path):
    d = make_data_dir(tmp_path / "d")
    write(d / "score.scp", "a_1 s\na_2 s\nb_1 s\n")
    write(d / "label", "a_1 0 1 n\na_2 0 1 n\n\nb_1 0 1 n\nb_2 0 1 n\nc_1 0 1 n\n")
    p = validate(d, "--no-feats")
    assert p.returncode != 0
    assert "score.scp" in p.stderr and "b_2" in p.stderr
    assert "label:3: empty line" in p.stderr and "c_1" in p.stderr


def test_validate_catches_spk2utt_inconsistency(tmp_path):
    d = make_data_dir(tmp_path / "d")
    write(d / "spk2utt", "a a_1\nb b_1 b_2\n")
    p = validate(d, "--no-feats")
    assert p.returncode != 0 and "spk2utt:1" in p.stderr and "'a'" in p.stderr


def test_fix_data_dir_repairs_and_backs_up(tmp_path):
    d = make_data_dir(tmp_path / "d")
    bad = {
        "video.scp": "a_1 v\nb_1 v\na_2 v\nb_2 v\n",          # unsorted
        "score.scp": "a_1 s\na_2 s\nb_1 s\n",                  # b_2 missing
        "spk2utt": "a a_1\nb b_1 b_2\n",                       # inconsistent
        "label": "a_1 0 1 n\n\na_2 0 1 n\nb_1 0 1 n\nb_2 0 1 n\n",  # empty line
    }
    for name, text in bad.items():
        write(d / name, text)
    p = run([UTILS / "fix_data_dir.sh", d], tmp_path, check=True)
    assert "kept 3 of 4" in p.stderr and "removed 1" in p.stderr
    assert validate(d, "--no-feats").returncode == 0
    for name, text in bad.items():
        assert (d / ".backup" / name).read_text() == text
    assert (d / "video.scp").read_text() == "a_1 v\na_2 v\nb_1 v\n"
    assert (d / "spk2utt").read_text() == "a a_1 a_2\nb b_1\n"
    assert (d / ".backup/removed_utts").read_text() == "b_2\n"
    assert (d / "lip_report.json").read_text() == '{"detection_rate": 1.0}\n'
    # a second run finds nothing to do and keeps the backups
    p = run([UTILS / "fix_data_dir.sh", d], tmp_path, check=True)
    assert "nothing to fix" in p.stderr
    assert (d / ".backup/score.scp").read_text() == bad["score.scp"]


def test_combine_copy_subset(tmp_path):
    make_data_dir(tmp_path / "s1", utts=(("a_1", "a"), ("a_2", "a")))
    make_data_dir(tmp_path / "s2", utts=(("b_1", "b"),))
    write(tmp_path / "s1/only_here.scp", "a_1 x\na_2 x\n")
    p = run([UTILS / "combine_data.sh", "c", "s1", "s2"], tmp_path, check=True)
    assert "only_here.scp" in p.stderr and not (tmp_path / "c/only_here.scp").exists()
    assert (tmp_path / "c/spk2utt").read_text() == "a a_1 a_2\nb b_1\n"
    p = run([UTILS / "combine_data.sh", "c", "s1", "s2"], tmp_path, check=False)
    assert "--overwrite" in p.stderr
    p = run([UTILS / "combine_data.sh", "c2", "s1", "s1"], tmp_path, check=False)
    assert "a_1" in p.stderr
    run([UTILS / "copy_data_dir.sh", "--utt-prefix", "x-", "--spk-prefix", "x-", "c", "cp"], tmp_path, check=True)
    assert (tmp_path / "cp/utt2spk").read_text() == "x-a_1 x-a\nx-a_2 x-a\nx-b_1 x-b\n"
    run([UTILS / "subset_data_dir.sh", "--first", "c", "2", "f"], tmp_path, check=True)
    assert (tmp_path / "f/wav.scp").read_text().split()[::2] == ["a_1", "a_2"]
    run([UTILS / "subset_data_dir.sh", "--last", "c", "1", "l"], tmp_path, check=True)
    assert (tmp_path / "l/spk2utt").read_text() == "b b_1\n"
    write(tmp_path / "list", "a_2\n")
    run([UTILS / "subset_data_dir.sh", "--utt-list", "list", "c", "u"], tmp_path, check=True)
    assert (tmp_path / "u/text").read_text().split()[0] == "a_2"
    p = run([UTILS / "subset_data_dir.sh", "c", "9", "r"], tmp_path, check=False)
    assert "only 3" in p.stderr


# ------------------------------------------------------------------ cmd.sh
@pytest.mark.parametrize("backend,runner", [("local", "run.pl"), ("stdout", "stdout.pl"), ("slurm", "slurm.pl")])
def test_cmd_sh_backends(backend, runner):
    p = run(["bash", "-c", f'cmd_backend={backend}; . ./cmd.sh; echo "$train_cmd|$cuda_cmd|$decode_cmd"; '
             "command -v run.pl"], RECIPE, check=True)
    cmds = p.stdout.splitlines()[0].split("|")
    assert all(c.split()[0] == runner for c in cmds)
    assert p.stdout.splitlines()[1] == str(UTILS / "run.pl")
    p = run(["bash", "-c", "cmd_backend=nope; . ./cmd.sh"], RECIPE, check=False)
    assert "nope" in p.stderr


def test_all_utils_have_help():
    for name in ["run.pl", "slurm.pl", "stdout.pl", "split_scp.pl", "utt2spk_to_spk2utt.pl",
                 "spk2utt_to_utt2spk.pl", "filter_scp.pl", "shuffle_list.pl", "validate_data_dir.sh",
                 "fix_data_dir.sh", "combine_data.sh", "copy_data_dir.sh", "subset_data_dir.sh",
                 "parse_options.sh"]:
        f = UTILS / name
        assert os.access(f, os.X_OK), name
        p = run([f, "--help"], RECIPE)
        assert p.returncode == 0 and len(p.stdout + p.stderr) > 40, name


FAKE_RUN_SH = r"""#!/usr/bin/env bash
# records its arguments; stage 6 marks exp/<name>/.done unless the config is listed in FAIL
echo "$*" >> calls.txt
conf="" tag="" stage=""
while [ $# -gt 0 ]; do
    case "$1" in
        --train_config) conf=$2; shift 2 ;;
        --tag) tag=$2; shift 2 ;;
        --stage) stage=$2; shift 2 ;;
        *) shift ;;
    esac
done
[ "${stage}" = 6 ] || exit 0
name=$(basename "${conf}" .yaml); name=svs_${name#train_}
[ -n "${tag}" ] && name=svs_${tag}
case " ${FAIL:-} " in *" ${conf} "*) exit 1 ;; esac
mkdir -p "exp/${name}" && sleep 0.2 && touch "exp/${name}/.done"
"""


def _ablation_dir(tmp_path):
    write(tmp_path / "run.sh", FAKE_RUN_SH)
    (tmp_path / "run.sh").chmod(0o755)
    for s in ("a", "b"):
        write(tmp_path / "conf" / f"train_{s}.yaml", "svs: performsinger\n")
    (tmp_path / "local").mkdir()
    script = tmp_path / "local" / "run_ablations.sh"
    script.write_text((RECIPE / "local" / "run_ablations.sh").read_text())
    script.chmod(0o755)
    return script


def test_run_ablations_trains_every_system_and_seed_then_scores_them_once(tmp_path):
    script = _ablation_dir(tmp_path)
    run([script, "--systems", "a b", "--seeds", "0 3", "--jobs", "2"], tmp_path, check=True)
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    train = [c for c in calls if "--stage 6" in c]
    assert len(train) == 4 and all("--train_nthreads 1" in c for c in train)
    assert sum("--tag a_seed3 --train_args --seed 3 --lip_reader_fit_args --seed 3" in c for c in train) == 1
    assert sum("--tag" not in c and "conf/train_b.yaml" in c for c in train) == 1  # seed 0: the default name
    score = [c for c in calls if "--stage 7" in c]
    assert len(score) == 1 and calls[-1] == score[0]
    assert "--decode_systems svs_a svs_a_seed3 svs_b svs_b_seed3" in score[0]


def test_run_ablations_names_failed_trainings_and_does_not_score(tmp_path):
    script = _ablation_dir(tmp_path)
    p = run([script, "--systems", "a b", "--seeds", "0 1"], tmp_path, env={"FAIL": "conf/train_b.yaml"}, check=False)
    assert "stage 6 failed for svs_b svs_b_seed1" in p.stdout + p.stderr
    assert "--stage 7" not in (tmp_path / "calls.txt").read_text()


@pytest.mark.parametrize("args,msg", [(["--jobs", "0"], "--jobs"), (["--systems", "zz"], "conf/train_zz.yaml"),
                                      (["--systems", "a", "--seeds", "x"], "--seeds"), (["--bogus", "1"], "unknown option")])
def test_run_ablations_rejects_bad_options(tmp_path, args, msg):
    script = _ablation_dir(tmp_path)
    p = run([script] + args, tmp_path, check=False)
    assert msg in p.stdout + p.stderr and not (tmp_path / "calls.txt").exists()


def test_run_ablations_help_lists_its_defaults(tmp_path):
    script = _ablation_dir(tmp_path)
    p = run([script, "--help"], tmp_path, check=True)
    assert '--seeds "0 1 2"' in p.stdout and "--jobs 2" in p.stdout and not (tmp_path / "calls.txt").exists()
