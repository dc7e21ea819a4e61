#!/usr/bin/env bash
# Stage 1: corpus (VisualSinger layout) -> data/{train,dev,test,test_ood}.
# Without --corpus the embedded demo corpus is generated into downloads/demo_corpus.
set -euo pipefail

log() { echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${BASH_SOURCE[0]##*/}:${BASH_LINENO[0]}) $*"; }

corpus=""            # corpus in the VisualSinger layout (empty: generate the demo corpus)
raw_performances=""  # song-level videos + .segments to cut first (into --corpus or downloads/cut_corpus)
fs=22050
seed=0
ood_singers=""       # held-out singers (default: the two last in sorted order)
tolerance=0.2        # max audio/video length mismatch (s)
demo_utts_per_singer=30
demo_ood_utts_per_singer=8
demo_scale=1.0
nj=2                 # processes generating the demo corpus
python=${python:-python3}

. utils/parse_options.sh || exit 1

if [ -n "${raw_performances}" ]; then
    [ -z "${corpus}" ] && corpus=downloads/cut_corpus
    if [ ! -e "${corpus}/.done" ]; then
        log "Cutting song-level performances ${raw_performances} into ${corpus}"
        ${python} -m espnet2_ext.bin.cut_performances --raw "${raw_performances}" --out "${corpus}"
        touch "${corpus}/.done"
    fi
fi

if [ -z "${corpus}" ]; then
    corpus=downloads/demo_corpus
    if [ -e "${corpus}/.done" ]; then
        log "Demo corpus already in ${corpus} (remove ${corpus}/.done to regenerate)"
    else
        log "Generating the demo corpus into ${corpus}"
        ${python} -m espnet2_ext.bin.make_demo_corpus --out "${corpus}" --seed "${seed}" --fs "${fs}" \
            --utts_per_singer "${demo_utts_per_singer}" --ood_utts_per_singer "${demo_ood_utts_per_singer}" \
            --scale "${demo_scale}" --nj "${nj}" --overwrite
    fi
fi

log "Preparing data/ from ${corpus}"
${python} -m espnet2_ext.bin.prepare_visualsinger --corpus "${corpus}" --out data \
    ${ood_singers:+--ood_singers "${ood_singers}"} --seed "${seed}" --tolerance "${tolerance}" --overwrite true
log "Successfully finished. [elapsed=${SECONDS}s]"
