#!/usr/bin/env bash
# Stage script of the multimodal, duration-free SVS recipe (PerformSinger).
#
#   1 data prep      local/data.sh                      -> data/{train,dev,test,test_ood}
#                    (+ --stage_one_corpora: audio-only corpora -> data/<name>_train, data/train_stage_one)
#   2 audio feats    wav formatting, F0, GE2E d-vectors -> dump/raw/<set>/{wav.scp,pitch.scp,spembs.scp}
#   3 lip ROI        face + mouth tracking, 96x96 crops -> dump/raw/<set>/{lip.scp,lip_report.json}
#   4 tokens/stats   token list, references (setting 1 in place, sets 2-4), espnet stats
#                                                       -> dump/token_list, dump/raw/<set>/ref_wav.scp, exp/svs_stats
#   5 stage one      no-video acoustic model (+ lip-reading pretraining of the lip encoder)
#                                                       -> exp/svs_<stage_one>, exp/lip_pretrain
#   6 stage two      visual model from stage one        -> exp/svs_<system>
#                    (+ lip-reading head fitted on the frozen lip encoder first -> exp/svs_<system>/lip_reader)
#   7 decoding       duration-free inference, vocoder, dubbed video -> exp/svs_*/decode_<tag>/<set>
#                    (+ the visual systems with --extra_inference_configs, the stage-one model with
#                     the stage-two system's timing: --timing_control)
#   8 scoring        MCD, FFE, Cos, LSE, duration metrics, plots    -> scores.json, exp/RESULTS.md
#   9 packing        the stage-two system in one zip (not run by default) -> exp/svs_<system>/packed/<system>.zip
#
# Every step leaves a .done marker; a re-run skips finished steps. --stage N re-enters at stage N.
# What a system needs (lips, two stages, a head fit, lip pretraining, decode options) its SVS class
# declares (espnet2_ext.bin.system_needs); the stages' tool calls live in local/{jobs,features,train,decode,score}.sh.

set -e
set -u
set -o pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
min() {
    local a b
    a=$1
    for b in "$@"; do
        if [ "${b}" -le "${a}" ]; then a="${b}"; fi
    done
    echo "${a}"
}
SECONDS=0

# General configuration
stage=1
stop_stage=8
nj=2                 # parallel jobs of stages 1 (demo corpus), 2, 3, 7 and 8
ngpu=0               # GPUs per node of a training job (0: CPU; >1: DDP, one process per GPU)
num_nodes=1          # nodes of a stage 5/6 training (>1 needs cmd_backend=slurm: srun, one task per node)
gpu_inference=false  # stage 7 decodes (and vocodes with HiFi-GAN) on one GPU
dumpdir=dump
expdir=exp
python=python3

# Data
fs=22050
n_fft=1024
n_shift=256
win_length=1024
n_mels=80
fmin=0
fmax=8000
local_data_opts=""   # options of local/data.sh (e.g. "--corpus /path/VisualSinger")
train_set=train
valid_set=dev
test_sets="test test_ood"
ref_settings="2 3 4" # the paper's reference-voice settings decoded besides setting 1
lip_controls="shuffle swap"  # control sets of test with broken lip timing (frames shuffled / another video)
max_excluded_fraction=0.1  # stage 3 fails when more utterances have no detectable face
lip_front_end=auto  # stage 3 face front end: auto (MediaPipe face mesh if installed, else Haar), mediapipe, haar
lip_crop_scale=0.65  # Haar front end only: side of the mouth crop as a fraction of the face width
stage_one_corpora="" # audio-only corpora stage one also trains on: "[<name>=]<layout>:<dir> ..." (docs/corpora.md)

# Training
stage_one_config=conf/train_stylesinger.yaml   # stage 5 (no video)
train_config=conf/train_performsinger.yaml     # stage 6
init_from_stage_one=auto   # auto: what the system declares (two_stage; false for VCFM-S, HPMDubbing)
lip_pretrain=auto          # auto: pretrain the lip encoder by lip reading when the system has one without weights
lip_pretrain_config=conf/lip_pretrain.yaml
lip_reader_fit=auto        # auto: fit the lip-reading head before stage two when the config freezes a head it has no weights for
lip_reader_fit_config=conf/lip_reader_fit.yaml
lip_reader_fit_args=""     # extra options of espnet2_ext.bin.fit_lip_reader (e.g. "--seed 1")
tag=""                     # experiment name suffix
train_args=""              # extra arguments of the trainer
train_nthreads=2           # CPU threads of a training job (stage 5 uses 1 per job while lip pretraining runs beside it)

# Decoding and scoring
inference_config=conf/decode_fast.yaml
inference_tag=""
inference_model=auto        # auto: valid.<criterion>.ave.pth (average of the keep_nbest_models best), else .best.pth
# Further decode configs of the visual systems (test sets only), e.g. the paper's duration predictor
# instead of the lip-reading heads: each lands in its own decode_<config>_<vocoder> dir.
extra_inference_configs="conf/decode_predictor.yaml"
# Control of the fusion module: the stage-one (no video) model decoded with the durations of the
# --train_config system's decode -> exp/<stage one>/<inference tag>_timing_of_<system>/<set>.
timing_control=true
extra_decode_sets="test test_ood"  # the sets of the two above (those of --test_sets that exist)
decode_systems=""          # exp dir names (svs_x) to decode; default: the ones of stages 5 and 6
decode_nj=1                # jobs per decode group (key-file splits of its sets)
decode_sets_per_job=4      # sets of one system that one decode process takes (it loads the model once)
vocoder=auto               # auto | griffin_lim | hifigan_pretrained | hifigan
vocoder_checkpoint=""
train_vocoder=false        # train HiFi-GAN on this recipe's mel pipeline before decoding
vocoder_max_steps=2000
syncnet_weights=""         # SyncNet weights for LSE-C/LSE-D (none ship offline)
wavlm_dir=""               # WavLM speaker-verification model dir for Cos (d-vector Cos otherwise)
num_plots=4

help_message=$(cat << EOF
Usage: $0 --stage <stage> --stop_stage <stop_stage> [options]

Stages: 1 data prep, 2 audio features, 3 lip ROI, 4 tokens/stats, 5 stage-one training,
        6 stage-two training, 7 decoding, 8 scoring.

Options:
    --stage, --stop_stage   # Stages to run (default: ${stage} .. ${stop_stage})
    --nj                    # Parallel jobs (default: ${nj})
    --ngpu                  # GPUs per node for training; >1: DDP (default: ${ngpu})
    --num_nodes             # Nodes of a training; >1 needs cmd_backend=slurm (default: ${num_nodes})
    --gpu_inference         # Decode on a GPU in stage 7 (default: ${gpu_inference})
    --fs, --n_fft, --n_shift, --win_length, --n_mels, --fmin, --fmax  # mel pipeline
    --local_data_opts       # Options of local/data.sh (default: "${local_data_opts}")
    --stage_one_corpora     # Audio-only corpora (opencpop / m4singer layout) stage one also trains on,
                            # "[<name>=]<layout>:<dir> ..." (docs/corpora.md; default: "${stage_one_corpora}")
    --stage_one_config      # Stage-one (no video) config (default: ${stage_one_config})
    --train_config          # Stage-two config (default: ${train_config})
    --init_from_stage_one   # Initialise the stage-two model from stage one (default: ${init_from_stage_one})
    --lip_pretrain          # auto | true | false (default: ${lip_pretrain})
    --lip_reader_fit        # auto | true | false: fit the lip-reading head before stage two (default: ${lip_reader_fit})
    --lip_reader_fit_config # Its options (default: ${lip_reader_fit_config})
    --lip_reader_fit_args   # Extra options of espnet2_ext.bin.fit_lip_reader (default: "${lip_reader_fit_args}")
    --tag                   # Suffix of the experiment dir (default: config name)
    --train_args            # Extra trainer arguments (default: "${train_args}")
    --inference_config      # Decoding config (default: ${inference_config})
    --inference_model       # Model file in the exp dir (default: ${inference_model})
    --extra_inference_configs  # Further decode configs of the visual systems (default: "${extra_inference_configs}")
    --timing_control        # Decode stage one with the stage-two system's durations too (default: ${timing_control})
    --extra_decode_sets     # Test sets of those two (default: "${extra_decode_sets}")
    --decode_systems        # Exp dirs to decode and score (default: those of stages 5 and 6)
    --decode_sets_per_job   # Sets of one system per decode process, which loads the model once (default: ${decode_sets_per_job})
    --decode_nj             # Key-file splits (jobs) of each decode process's sets (default: ${decode_nj})
    --vocoder               # auto | griffin_lim | hifigan_pretrained | hifigan (default: ${vocoder})
    --vocoder_checkpoint    # HiFi-GAN checkpoint (default: none)
    --train_vocoder         # Train HiFi-GAN on the training set first (default: ${train_vocoder})
    --syncnet_weights       # SyncNet weights for LSE (default: none -> null with the reason)
    --ref_settings          # Reference-voice settings decoded besides setting 1 (default: "${ref_settings}")
    --lip_controls          # Control sets with broken lip timing (default: "${lip_controls}")
                            # (a default of --extra_decode_sets, --ref_settings or --lip_controls that
                            #  needs a set not in --test_sets is dropped)
EOF
)

# The diagnostics' defaults name sets of the default --test_sets. Until parsing they hold a marker,
# so that a value the user gave (command line or --config) is told from a default (see below).
declare -A diag_defaults=([extra_decode_sets]="${extra_decode_sets}" [ref_settings]="${ref_settings}"
                          [lip_controls]="${lip_controls}")
diag_unset="<default>"
extra_decode_sets=${diag_unset} ref_settings=${diag_unset} lip_controls=${diag_unset}

log "$0 $*"
. utils/parse_options.sh

if [ $# -ne 0 ]; then
    log "${help_message}"
    log "Error: No positional arguments are required."
    exit 2
fi

. ./path.sh
. ./cmd.sh

# Sourced helpers: job splits and the background pool (local/jobs.sh), stages 2-3 per set
# (local/features.sh), the trainings (local/train.sh), stage 7 (local/decode.sh), stage 8 (local/score.sh).
. ./local/jobs.sh
. ./local/features.sh
. ./local/train.sh
. ./local/decode.sh
. ./local/score.sh

system_name() {  # conf/train_foo.yaml -> svs_foo
    local base
    base=$(basename "$1" .yaml)
    echo "svs_${base#train_}"
}
decode_tag() {  # conf/decode_foo.yaml -> decode_foo_<vocoder>
    echo "decode_$(basename "$1" .yaml | sed 's/^decode_//')_${vocoder}"
}
# What the system of a training config needs (espnet2_ext/svs/needs.py): need <config> <field> -> value
need() {
    ${python} -m espnet2_ext.bin.system_needs --config "$1" --field "$2"
}
# Reads a dotted key of a YAML config merged over its base_config chain ("" when absent).
conf_get() {
    ${python} -m espnet2_ext.utils.config "$1" "$2"
}
# The model file of an exp dir: --inference_model, or with auto the average of the
# keep_nbest_models best checkpoints by the first best_model_criterion of its config.yaml (the
# trainer's <phase>.<criterion>.ave.pth; PerformSinger configs select by valid loss_synth), or the
# best checkpoint when no average was written (espnet2_ext/utils/model_file.py).
model_file() {
    ${python} -m espnet2_ext.utils.model_file "$1" "${inference_model}"
}
stage_one_exp=${expdir}/$(system_name "${stage_one_config}")
if [ -n "${tag}" ]; then
    svs_exp=${expdir}/svs_${tag}
else
    svs_exp=${expdir}/$(system_name "${train_config}")
fi
if [ -z "${inference_tag}" ]; then
    inference_tag=$(decode_tag "${inference_config}")
fi
extra_tags=""
for config in ${extra_inference_configs}; do extra_tags+=" $(decode_tag "${config}")"; done
# The diagnostics run on sets of --test_sets only: --extra_decode_sets, --ref_settings (from test;
# setting 4 draws its voices from test_ood) and --lip_controls (of test). A default value that needs
# a set --test_sets lacks is dropped with an info line; a value the user gave is an error.
diag_needs() {  # <option> <value> -> the sets it needs
    case "$1" in
        extra_decode_sets) echo "$2" ;;
        ref_settings) if [ "$2" = 4 ]; then echo "test test_ood"; else echo test; fi ;;
        lip_controls) echo test ;;
    esac
}
for opt in extra_decode_sets ref_settings lip_controls; do
    given=true
    if [ "${!opt}" = "${diag_unset}" ]; then
        given=false
        printf -v "${opt}" '%s' "${diag_defaults[${opt}]}"
    fi
    kept="" dropped=""
    for value in ${!opt}; do
        missing=""
        for dset in $(diag_needs "${opt}" "${value}"); do
            case " ${test_sets} " in *" ${dset} "*) ;; *) missing+=" ${dset}" ;; esac
        done
        if [ -z "${missing}" ]; then
            kept+=" ${value}"
        elif "${given}"; then
            missing=" needs${missing}"
            [ "${opt}" = extra_decode_sets ] && missing=" is not"
            log "Error: --${opt}: ${value}${missing} in --test_sets (${test_sets})"
            exit 1
        else
            dropped+=" ${value}"
        fi
    done
    [ -n "${dropped}" ] && log "--${opt}: default${dropped} dropped: needs a set not in --test_sets (${test_sets})"
    printf -v "${opt}" '%s' "${kept# }"
done
unset diag_defaults diag_unset given kept dropped missing value
control_tag=${inference_tag}_timing_of_$(basename "${svs_exp}")
if [ -z "${decode_systems}" ]; then
    decode_systems="$(basename "${stage_one_exp}") $(basename "${svs_exp}")"
fi
for opt in nj decode_nj decode_sets_per_job num_nodes; do
    case "${!opt}" in ''|*[!0-9]*|0) log "Error: --${opt} must be a positive integer, got '${!opt}'"; exit 1 ;; esac
done
case "${ngpu}" in ''|*[!0-9]*) log "Error: --ngpu must be a non-negative integer, got '${ngpu}'"; exit 1 ;; esac
case "${gpu_inference}" in true|false) ;; *) log "Error: --gpu_inference must be true or false, got '${gpu_inference}'"; exit 1 ;; esac
if [ "${num_nodes}" -gt 1 ] && [ "${cmd_backend}" != slurm ]; then
    log "Error: --num_nodes ${num_nodes} needs cmd_backend=slurm (cmd.sh): ${cmd_backend} runs every job on this machine"
    exit 1
fi
data_feats=${dumpdir}/raw
single_gpu=$(min "${ngpu}" 1)  # lip pretraining, the head fit and HiFi-GAN train on one device
token_list=${dumpdir}/token_list/phn/tokens.txt
stats_dir=${expdir}/svs_stats_raw_phn
fbank_conf="{fs: ${fs}, n_fft: ${n_fft}, hop_length: ${n_shift}, win_length: ${win_length}, n_mels: ${n_mels}, fmin: ${fmin}, fmax: ${fmax}}"
all_sets="${train_set} ${valid_set} ${test_sets}"

# --stage_one_corpora (docs/corpora.md): stage 1 also writes data/<name>_train of each corpus and
# their union with ${train_set}, data/train_stage_one; stage 2 processes them (stage 3 leaves them
# out: no video); stage 4 makes the token list from the union (own dir) and its statistics
# (${stats_dir}_stage_one); stage 5 trains on the union, and stage 6 normalises with its statistics
# when it starts from stage one. ${expdir}/stage_one_corpora records the corpora: an exp dir is
# never reused with other ones.
stage_one_train_set=${train_set}
stage_one_stats_dir=${stats_dir}
stage_one_sets=""
if [ -n "${stage_one_corpora}" ]; then
    # "name=layout:/absolute/dir ..." (checked)
    stage_one_corpora=$(${python} -m espnet2_ext.bin.prepare_stage_one_corpora --corpora "${stage_one_corpora}" --print_corpora)
    for corpus in ${stage_one_corpora}; do stage_one_sets+=" ${corpus%%=*}_train"; done
    stage_one_sets=${stage_one_sets# }
    stage_one_train_set=train_stage_one
    stage_one_stats_dir=${stats_dir}_stage_one
    token_list=${dumpdir}/token_list_stage_one/phn/tokens.txt
fi
if [ -f "${expdir}/stage_one_corpora" ] && [ "$(cat "${expdir}/stage_one_corpora")" != "${stage_one_corpora}" ]; then
    log "Error: ${expdir} holds systems of --stage_one_corpora '$(cat "${expdir}/stage_one_corpora")', not '${stage_one_corpora}': pass another --expdir"
    exit 1
elif [ -n "${stage_one_corpora}" ] && [ ! -f "${expdir}/stage_one_corpora" ]; then
    if [ -f "${stage_one_exp}/.done" ]; then
        log "Error: ${stage_one_exp} was trained without --stage_one_corpora: pass another --expdir"
        exit 1
    fi
    mkdir -p "${expdir}"
    echo "${stage_one_corpora}" > "${expdir}/stage_one_corpora"
fi
# Runs "$@" with train_set and stats_dir of stage one's training (the union with --stage_one_corpora).
with_stage_one_data() {
    local saved_set=${train_set} saved_stats=${stats_dir}
    train_set=${stage_one_train_set} stats_dir=${stage_one_stats_dir}
    "$@"
    train_set=${saved_set} stats_dir=${saved_stats}
}
# Stage 1 of --stage_one_corpora: data/<name>_train of each corpus (espnet2_ext/bin/prepare_stage_one_corpora.py)
# and data/train_stage_one, their union with data/${train_set}; its .done records the corpora and fs.
stage_one_data() {
    local marker=data/${stage_one_train_set}/.done record="${stage_one_corpora} fs=${fs}" dset srcs=()
    if [ -f "${marker}" ] && [ "$(cat "${marker}")" = "${record}" ]; then
        log "${marker} exists: skipping the stage-one corpora"
        return 0
    elif [ -f "${marker}" ]; then
        log "Error: ${marker} records '$(cat "${marker}")', not '${record}': remove data/${stage_one_train_set}, data/<name>_train and ${data_feats}/ of them to prepare others"
        exit 1
    fi
    log "Stage 1: stage-one corpora ${stage_one_corpora} -> data/{${stage_one_sets// /,}}, data/${stage_one_train_set}"
    ${python} -m espnet2_ext.bin.prepare_stage_one_corpora --corpora "${stage_one_corpora}" --out data \
        --fs "${fs}" --nj "${nj}" --overwrite true
    for dset in ${stage_one_sets}; do
        utils/validate_data_dir.sh --no-feats "data/${dset}"
        srcs+=("data/${dset}")
    done
    utils/combine_data.sh --extra-files "label score.scp" --overwrite true "data/${stage_one_train_set}" "data/${train_set}" "${srcs[@]}"
    echo "${record}" > "${marker}"
}
# Stage 2 of --stage_one_corpora: ${data_feats}/train_stage_one, the union of the dumped sets (again
# when one of them was dumped after it).
stage_one_dump() {
    local out=${data_feats}/${stage_one_train_set} dset srcs=() stale=false
    for dset in ${train_set} ${stage_one_sets}; do
        srcs+=("${data_feats}/${dset}")
        [ "${data_feats}/${dset}/.audio.done" -nt "${out}/.audio.done" ] && stale=true
    done
    if ! "${stale}"; then
        log "${out}/.audio.done exists: skipping"
        return 0
    fi
    utils/combine_data.sh --extra-files "label score.scp pitch.scp spembs.scp" --overwrite true "${out}" "${srcs[@]}"
    touch "${out}/.audio.done"
}

# ----------------------------------------------------------------------------------------------
# Stage 1: local/data.sh -> data/<set> (Kaldi-style data dirs), validated; marker data/.done
if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
    log "Stage 1: Data preparation (local/data.sh ${local_data_opts}) -> data/"
    if [ -f data/.done ]; then
        log "data/.done exists: skipping (delete it to prepare again)"
    else
        # shellcheck disable=SC2086
        local/data.sh --fs "${fs}" --nj "${nj}" ${local_data_opts}
        for dset in ${all_sets}; do
            utils/validate_data_dir.sh --no-feats "data/${dset}"
        done
        touch data/.done
    fi
    if [ -n "${stage_one_corpora}" ]; then
        stage_one_data
    fi
fi

# ----------------------------------------------------------------------------------------------
# Stage 2: audio_features of the sets not done (local/features.sh) -> ${data_feats}/<set>/{wav,pitch,spembs}.scp;
# marker ${data_feats}/<set>/.audio.done
if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
    log "Stage 2: Audio features (wav at ${fs} Hz, F0, GE2E d-vectors) -> ${data_feats}/<set>"
    if [ -n "${stage_one_corpora}" ]; then
        av_sets=${all_sets}
        all_sets+=" ${stage_one_sets}"  # the audio-only corpora too (stage 3 leaves them out)
        run_pending_sets .audio.done audio_features  # local/features.sh
        all_sets=${av_sets}
        stage_one_dump
    else
        run_pending_sets .audio.done audio_features  # local/features.sh
    fi
fi

# ----------------------------------------------------------------------------------------------
# Stage 3: lip_roi of the sets not done (local/features.sh) -> ${data_feats}/<set>/{lip,face_track}.scp, lip_report.json;
# marker ${data_feats}/<set>/.lip.done
if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
    log "Stage 3: Lip ROI extraction (face landmarks, aligned 96x96 crops) -> ${data_feats}/<set>/{lip,face_track}.scp"
    run_pending_sets .lip.done lip_roi  # local/features.sh
fi

# ----------------------------------------------------------------------------------------------
# Stage 4: make_token_list -> ${token_list}; make_reference_sets (setting 1 in place: ref_utt,
# ref_wav.scp of the valid and each test set; settings 2-4 -> ${data_feats}/test_ref<k>); make_lip_control_set
# -> ${data_feats}/test_lip<mode>; collect_stats (local/train.sh) -> ${stats_dir}. A marker for each.
if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
    log "Stage 4: Token list, reference sets, statistics -> ${token_list}, ${stats_dir}"
    token_dir=${token_list%/phn/tokens.txt}
    if [ ! -f "${token_dir}/.done" ]; then
        # the phones of stage one's training set (with --stage_one_corpora: of every corpus)
        ${python} -m espnet2_ext.bin.make_token_list --text "${data_feats}/${stage_one_train_set}/text" --out "${token_list}"
        touch "${token_dir}/.done"
    fi
    reference_sets  # local/features.sh: markers <set>/.ref.done, test_ref<k>/.done, test_lip<mode>/.done
    if [ ! -f "${stats_dir}/.done" ]; then
        collect_stats
        touch "${stats_dir}/.done"
    fi
    if [ -n "${stage_one_corpora}" ] && [ ! -f "${stage_one_stats_dir}/.done" ]; then
        with_stage_one_data collect_stats  # -> ${stage_one_stats_dir}: stage one's shapes and feature statistics
        touch "${stage_one_stats_dir}/.done"
    fi
fi

# ----------------------------------------------------------------------------------------------
# GPUs asked for must be visible before any training or decoding starts (jobs of this machine;
# with cmd_backend=slurm every entry point checks on its own node).
if [ "${cmd_backend}" != slurm ] && [ ${stage} -le 7 ] && [ ${stop_stage} -ge 5 ]; then
    check_gpus  # local/jobs.sh
fi

# ----------------------------------------------------------------------------------------------
# Stage 5: train_system (local/train.sh) of ${stage_one_config} -> ${stage_one_exp}; beside it, when
# the --train_config system needs it (or --lip_pretrain true), pretrain_lip_encoder -> ${expdir}/lip_pretrain.
# Markers ${stage_one_exp}/.done, ${expdir}/lip_pretrain/.done
if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
    log "Stage 5: Stage-one training (${stage_one_config}, no video, on ${stage_one_train_set}) -> ${stage_one_exp}"
    # The lip encoder's lip-reading pretraining needs no stage-one model: it runs beside it.
    lip_pid=""
    wants_lip_pretrain=$(need "${train_config}" pretrain_lip_encoder)
    if [ "${lip_pretrain}" = true ] || { [ "${lip_pretrain}" = auto ] && [ "${wants_lip_pretrain}" = true ]; }; then
        if [ -f "${expdir}/lip_pretrain/.done" ]; then
            log "${expdir}/lip_pretrain/.done exists: skipping lip-reading pretraining"
        else
            start_lip_pretrain  # local/train.sh: sets lip_pid
        fi
    fi
    if [ -f "${stage_one_exp}/.done" ]; then
        log "${stage_one_exp}/.done exists: skipping"
    else
        nthreads=${train_nthreads}
        [ -n "${lip_pid}" ] && nthreads=1
        with_stage_one_data train_system "${stage_one_config}" "${stage_one_exp}"
        unset nthreads
        touch "${stage_one_exp}/.done"
    fi
    if [ -n "${lip_pid}" ]; then
        finish_lip_pretrain  # local/train.sh
    fi
fi

# ----------------------------------------------------------------------------------------------
# Stage 6: train_system of ${train_config} -> ${svs_exp}, from the stage-one model when its system
# trains in two stages; first, when it needs it, fit_lip_reader -> ${svs_exp}/lip_reader/lip_reader.pth.
# Markers ${svs_exp}/.done, ${svs_exp}/lip_reader/.done
if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
    log "Stage 6: Stage-two training (${train_config}) -> ${svs_exp}"
    if [ -f "${svs_exp}/.done" ]; then
        log "${svs_exp}/.done exists: skipping"
    else
        stage_two_opts  # local/train.sh: --stage_one_checkpoint, lip encoder weights, fitted heads -> opts
        if [ -n "${stage_one_corpora}" ] && [ "${init_from_stage_one}" = true ]; then
            # the feature normalisation of the stage-one model it starts from (the union's statistics)
            opts+=(--normalize_conf "stats_file=${stage_one_stats_dir}/train/feats_stats.npz")
        fi
        train_system "${train_config}" "${svs_exp}" "${opts[@]}"
        touch "${svs_exp}/.done"
    fi
fi

# ----------------------------------------------------------------------------------------------
# Stage 7: [train_vocoder -> ${expdir}/vocoder/generator.pth, marker .done]; decode_all
# (local/decode.sh) -> ${expdir}/<system>/<decode tag>/<set> and ${expdir}/gt/${inference_tag}/<set>,
# each with its .done marker
if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ]; then
    log "Stage 7: Decoding ${decode_systems} (${inference_config}, vocoder ${vocoder}) -> ${expdir}/svs_*/${inference_tag}"
    if "${train_vocoder}" && [ -z "${vocoder_checkpoint}" ]; then
        log "Stage 7: HiFi-GAN training on ${train_set} (${vocoder_max_steps} steps) -> ${expdir}/vocoder"
        if [ ! -f "${expdir}/vocoder/.done" ]; then
            train_hifigan  # local/decode.sh
            touch "${expdir}/vocoder/.done"
        fi
        vocoder_checkpoint=${expdir}/vocoder/generator.pth
        [ "${vocoder}" = auto ] && vocoder=hifigan
    fi
    decode_all
fi

# ----------------------------------------------------------------------------------------------
# Stage 8: score_all (local/score.sh) -> <decode dir>/scores.json (marker .score.done),
# ${expdir}/RESULTS.md, ${expdir}/listening_kit
if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 8 ]; then
    log "Stage 8: Scoring (MCD, FFE, Cos, LSE, durations, plots) -> scores.json, ${expdir}/RESULTS.md"
    score_all
fi

# ----------------------------------------------------------------------------------------------
# Stage 9: pack_model -> ${svs_exp}/packed/<system>.zip (newer than ${svs_exp}/.done: done)
if [ ${stage} -le 9 ] && [ ${stop_stage} -ge 9 ]; then
    # The stage-two system (--train_config) as one zip in espnet's pack convention
    # (config, model file, stats, token list, lip-reading heads, vocoder, meta.yaml, and stage 3's
    # explicit lip front end from the training set's lip_report.json), which
    # `python -m espnet2_ext.bin.perform --model <zip>` loads from any directory.
    pack=${svs_exp}/packed/$(basename "${svs_exp}" | sed 's/^svs_//').zip
    log "Stage 9: Packing ${svs_exp} -> ${pack}"
    if [ -f "${pack}" ] && [ "${pack}" -nt "${svs_exp}/.done" ]; then
        log "${pack} is newer than ${svs_exp}/.done: skipping (delete it to pack again)"
    else
        pack_voc=${vocoder_checkpoint}
        [ -z "${pack_voc}" ] && "${train_vocoder}" && pack_voc=${expdir}/vocoder/generator.pth
        pack_opts=""
        [ -n "${pack_voc}" ] && pack_opts="--vocoder_checkpoint ${pack_voc}"
        # shellcheck disable=SC2086
        ${python} -m espnet2_ext.bin.pack_model --exp_dir "${svs_exp}" --out "${pack}" \
            --model_file "${inference_model}" --vocoder "${vocoder}" \
            --lip_report "${data_feats}/${train_set}/lip_report.json" \
            --decode_config "${inference_config}" ${pack_opts}
    fi
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
