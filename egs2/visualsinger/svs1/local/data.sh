#!/usr/bin/env bash
# Stage 1: corpus (VisualSinger layout) -> data/{train,dev,test,test_ood}.
# Without --corpus the embedded demo corpus is generated into downloads/demo_corpus, and beside it
# downloads/demo_corpus_newlyrics: lyric lines that no other set sings (demo_lyrics.py NEW_LYRICS)
#   -> data/test_newlyrics      (the seen singers)
#   -> data/test_newlyrics_ood  (singerG, an unseen singer who is in no other set)
set -euo pipefail

log() { echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${BASH_SOURCE[0]##*/}:${BASH_LINENO[0]}) $*"; }

corpus=""            # corpus in the VisualSinger layout (empty: generate the demo corpus)
raw_performances=""  # song-level videos + .segments to cut first (into --corpus or downloads/cut_corpus)
performances=""      # song-level videos + lyrics, no annotation (<singer>/<song>.{mp4,txt[,wav]}): annotated
                     # automatically into --corpus or downloads/annotated_corpus (docs/annotate.md)
annotate_separator="" # vocal separator for songs without <song>.wav: a command run as CMD <mix.wav> <vocals.wav>
annotate_opts=""     # more options of espnet2_ext.bin.annotate_performances (e.g. "--lips off")
annotate_again=false # re-annotate a corpus already annotated (TextGrids a person corrected are kept)
fs=22050
seed=0
ood_singers=""       # held-out singers (default: the two last in sorted order)
tolerance=0.2        # max audio/video length mismatch (s)
demo_utts_per_singer=30
demo_ood_utts_per_singer=8
demo_scale=1.0
demo_newlyrics_singers="singerA singerB singerC singerD"  # seen singers of test_newlyrics
demo_newlyrics_ood_singer=singerG                          # the unseen singer of test_newlyrics_ood
demo_newlyrics_utts_per_singer=3
demo_newlyrics_ood_utts=6
demo_video_difficulty=hard   # hard: per-utterance roll, scale, squeeze, blur, noise, occlusions; easy: none of them
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

if [ -n "${performances}" ]; then
    [ -z "${corpus}" ] && corpus=downloads/annotated_corpus
    if [ ! -e "${corpus}/.annotate.done" ] || [ "${annotate_again}" = true ]; then
        log "Annotating performances ${performances} into ${corpus} (problems: ${corpus}/problems.txt, review: ${corpus}/review.tsv)"
        # shellcheck disable=SC2086
        ${python} -m espnet2_ext.bin.annotate_performances --performances "${performances}" --out "${corpus}" \
            --nj "${nj}" --seed "${seed}" ${annotate_separator:+--separator "${annotate_separator}"} ${annotate_opts}
        touch "${corpus}/.annotate.done"
    fi
fi

if [ -z "${corpus}" ]; then
    corpus=downloads/demo_corpus
    log "Demo corpus -> ${corpus} (kept when its .done records the same options; an error when other ones)"
    ${python} -m espnet2_ext.bin.make_demo_corpus --out "${corpus}" --seed "${seed}" --fs "${fs}" \
        --utts_per_singer "${demo_utts_per_singer}" --ood_utts_per_singer "${demo_ood_utts_per_singer}" \
        --scale "${demo_scale}" --video_difficulty "${demo_video_difficulty}" --nj "${nj}" --overwrite --reuse
fi

log "Preparing data/ from ${corpus}"
${python} -m espnet2_ext.bin.prepare_visualsinger --corpus "${corpus}" --out data \
    ${ood_singers:+--ood_singers "${ood_singers}"} --seed "${seed}" --tolerance "${tolerance}" --overwrite true

if [ "${corpus}" = downloads/demo_corpus ]; then
    nl_corpus=downloads/demo_corpus_newlyrics
    log "New-lyrics sets' corpus -> ${nl_corpus}"
    ${python} -m espnet2_ext.bin.make_demo_corpus --out "${nl_corpus}" --seed "${seed}" --fs "${fs}" --lyrics new \
        --singers "${demo_newlyrics_singers} ${demo_newlyrics_ood_singer}" --num_ood 1 \
        --utts_per_singer "${demo_newlyrics_utts_per_singer}" --ood_utts_per_singer "${demo_newlyrics_ood_utts}" \
        --scale "${demo_scale}" --video_difficulty "${demo_video_difficulty}" --nj "${nj}" --overwrite --reuse
    ${python} -m espnet2_ext.bin.prepare_visualsinger --corpus "${nl_corpus}" --out data --set_name test_newlyrics \
        --singers "${demo_newlyrics_singers}" --tolerance "${tolerance}" --overwrite true
    ${python} -m espnet2_ext.bin.prepare_visualsinger --corpus "${nl_corpus}" --out data --set_name test_newlyrics_ood \
        --singers "${demo_newlyrics_ood_singer}" --tolerance "${tolerance}" --overwrite true
fi
log "Successfully finished. [elapsed=${SECONDS}s]"
