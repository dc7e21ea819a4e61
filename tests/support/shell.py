"""Running the recipe's shell helpers (egs2/visualsinger/svs1/utils, cmd.sh, local/) from tests:
subprocesses in temporary directories, and a small Kaldi-style data dir to run them on."""

import os
import subprocess
from pathlib import Path

from tests.support.paths import RECIPE

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
