#!/usr/bin/env bash
# PerformSinger on VisualSinger-style data (the embedded demo corpus by default).
#   ./run.sh                                  all 8 stages, CPU demo configs
#   ./run.sh --stage 6 --stop_stage 8 --train_config conf/train_sma.yaml     an ablation
#   VISUALSINGER=/data/VisualSinger ./run.sh                                   the real corpus (db.sh)
#   ./run.sh --stage_one_corpora "opencpop:/data/Opencpop m4singer:/data/m4singer"
#                                     stage one also on audio-only corpora (docs/corpora.md)
set -e
set -u
set -o pipefail

fs=22050
n_fft=1024
n_shift=256
win_length=1024

train_set=train
valid_set=dev
test_sets="test test_ood"

stage_one_config=conf/train_stylesinger.yaml
train_config=conf/train_performsinger.yaml
inference_config=conf/decode_fast.yaml
# Griffin-Lim for the CPU demo: 2.4x faster than the packaged HiFi-GAN (trained on speech at this
# mel configuration) with a similar ground-truth-row MCD on the demo corpus (README, Results).
# --vocoder auto picks that HiFi-GAN; --train_vocoder true trains one on this corpus first.
vocoder=griffin_lim

# shellcheck disable=SC1091
. ./db.sh
local_data_opts=""
[ -n "${VISUALSINGER}" ] && local_data_opts+="--corpus ${VISUALSINGER} "
[ -n "${VISUALSINGER_RAW}" ] && local_data_opts+="--raw_performances ${VISUALSINGER_RAW} "
# The demo corpus also has lyric lines that no other set sings (local/data.sh): test_newlyrics
# (the seen singers) and test_newlyrics_ood (an unseen singer).
[ -z "${local_data_opts}" ] && test_sets+=" test_newlyrics test_newlyrics_ood"

./svs.sh \
    --fs "${fs}" --n_fft "${n_fft}" --n_shift "${n_shift}" --win_length "${win_length}" \
    --train_set "${train_set}" --valid_set "${valid_set}" --test_sets "${test_sets}" \
    --stage_one_config "${stage_one_config}" --train_config "${train_config}" \
    --inference_config "${inference_config}" --vocoder "${vocoder}" \
    --local_data_opts "${local_data_opts}" \
    "$@"
