#!/usr/bin/env bash
# Stage script of the multimodal, duration-free SVS recipe (PerformSinger).
#
#   1 data prep      local/data.sh                      -> data/{train,dev,test,test_ood}
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

# Training
stage_one_config=conf/train_stylesinger.yaml   # stage 5 (no video)
train_config=conf/train_performsinger.yaml     # stage 6
init_from_stage_one=auto   # auto: true unless the config is single-stage (*single_stage*, hpmdubbing)
lip_pretrain=auto          # auto: pretrain the lip encoder by lip reading when the config names no weights
lip_pretrain_config=conf/lip_pretrain.yaml
lip_reader_fit=auto        # auto: fit the lip-reading head before stage two when the config freezes a head it has no weights for
lip_reader_fit_config=conf/lip_reader_fit.yaml
lip_reader_fit_args=""     # extra options of espnet2_ext.bin.fit_lip_reader (e.g. "--seed 1")
tag=""                     # experiment name suffix
train_args=""              # extra arguments of the trainer
train_nthreads=2           # CPU threads of a training job (stage 5 uses 1 per job while lip pretraining runs beside it)

# Decoding and scoring
inference_config=conf/decode_ddim.yaml
inference_tag=""
inference_model=auto        # auto: valid.<criterion>.ave.pth (average of the keep_nbest_models best), else .best.pth
# Further decode configs of the visual systems (test sets only), e.g. the paper's duration predictor
# instead of the lip-reading heads: each lands in its own decode_<config>_<vocoder> dir.
extra_inference_configs="conf/decode_ddim_predictor.yaml"
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
EOF
)

log "$0 $*"
. utils/parse_options.sh

if [ $# -ne 0 ]; then
    log "${help_message}"
    log "Error: No positional arguments are required."
    exit 2
fi

. ./path.sh
. ./cmd.sh

system_name() {  # conf/train_foo.yaml -> svs_foo
    local base
    base=$(basename "$1" .yaml)
    echo "svs_${base#train_}"
}
stage_one_exp=${expdir}/$(system_name "${stage_one_config}")
if [ -n "${tag}" ]; then
    svs_exp=${expdir}/svs_${tag}
else
    svs_exp=${expdir}/$(system_name "${train_config}")
fi
decode_tag() {  # conf/decode_foo.yaml -> decode_foo_<vocoder>
    echo "decode_$(basename "$1" .yaml | sed 's/^decode_//')_${vocoder}"
}
if [ -z "${inference_tag}" ]; then
    inference_tag=$(decode_tag "${inference_config}")
fi
extra_tags=""
for config in ${extra_inference_configs}; do extra_tags+=" $(decode_tag "${config}")"; done
for dset in ${extra_decode_sets}; do
    case " ${test_sets} " in *" ${dset} "*) ;; *) log "Error: --extra_decode_sets: ${dset} is not in --test_sets (${test_sets})"; exit 1 ;; esac
done
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

# Runs a per-utterance python tool on JOB=1:nj splits of <scp>; the tool gets the split as $in.JOB.
# usage: split_and_run <name> <scp> <logdir> <cmd...with JOB>
split_scps() {
    local scp=$1 dir=$2 n=$3
    local split_files=""
    for n_i in $(seq "${n}"); do split_files+=" ${dir}/keys.${n_i}.scp"; done
    # shellcheck disable=SC2086
    utils/split_scp.pl "${scp}" ${split_files}
}

# ----------------------------------------------------------------------------------------------
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
fi

# ----------------------------------------------------------------------------------------------
if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
    log "Stage 2: Audio features (wav at ${fs} Hz, F0, GE2E d-vectors) -> ${data_feats}/<set>"
    for dset in ${all_sets}; do
        out=${data_feats}/${dset}
        if [ -f "${out}/.audio.done" ]; then
            log "${out}/.audio.done exists: skipping ${dset}"
            continue
        fi
        mkdir -p "${out}"
        for f in text utt2spk spk2utt label score.scp video.scp mouth_gt.scp; do
            [ -f "data/${dset}/${f}" ] && cp "data/${dset}/${f}" "${out}/${f}"
        done
        _nj=$(min "${nj}" "$(wc -l < "data/${dset}/wav.scp")")
        logdir=${out}/logs/audio
        mkdir -p "${logdir}"
        split_scps "data/${dset}/wav.scp" "${logdir}" "${_nj}"
        ${train_cmd} JOB=1:"${_nj}" "${logdir}/format_wav.JOB.log" \
            ${python} -m espnet2_ext.bin.format_wav --in_scp "${logdir}/keys.JOB.scp" \
                --out_dir "${out}/data/wav" --out_scp "${logdir}/wav.JOB.scp" --fs "${fs}"
        for n_i in $(seq "${_nj}"); do cat "${logdir}/wav.${n_i}.scp"; done | sort > "${out}/wav.scp"
        split_scps "${out}/wav.scp" "${logdir}" "${_nj}"
        ${train_cmd} JOB=1:"${_nj}" "${logdir}/f0.JOB.log" \
            ${python} -m espnet2_ext.bin.extract_f0 --wav_scp "${logdir}/keys.JOB.scp" \
                --fs "${fs}" --hop_length "${n_shift}" \
                --out_ark "${out}/data/pitch.JOB.ark" --out_scp "${logdir}/pitch.JOB.scp"
        ${train_cmd} JOB=1:"${_nj}" "${logdir}/dvector.JOB.log" \
            ${python} -m espnet2_ext.bin.extract_dvector --wav_scp "${logdir}/keys.JOB.scp" \
                --out_ark "${out}/data/spembs.JOB.ark" --out_scp "${logdir}/spembs.JOB.scp"
        for n_i in $(seq "${_nj}"); do cat "${logdir}/pitch.${n_i}.scp"; done | sort > "${out}/pitch.scp"
        for n_i in $(seq "${_nj}"); do cat "${logdir}/spembs.${n_i}.scp"; done | sort > "${out}/spembs.scp"
        utils/validate_data_dir.sh --no-feats "${out}"
        touch "${out}/.audio.done"
    done
fi

# ----------------------------------------------------------------------------------------------
if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
    log "Stage 3: Lip ROI extraction (face landmarks, aligned 96x96 crops) -> ${data_feats}/<set>/{lip,face_track}.scp"
    for dset in ${all_sets}; do
        out=${data_feats}/${dset}
        if [ -f "${out}/.lip.done" ]; then
            log "${out}/.lip.done exists: skipping ${dset}"
            continue
        fi
        logdir=${out}/logs/lip
        mkdir -p "${logdir}"
        _nj=$(min "${nj}" "$(wc -l < "${out}/video.scp")")
        split_scps "${out}/video.scp" "${logdir}" "${_nj}"
        gt_opt=""
        [ -f "${out}/mouth_gt.scp" ] && gt_opt="--mouth_gt_scp ${out}/mouth_gt.scp"
        # landmark front end (MediaPipe face mesh, Haar cascades when it is not installed):
        # mouth crops aligned to the mean face -> data/lip, SyncNet face tracks -> data/face_track
        ${train_cmd} JOB=1:"${_nj}" "${logdir}/lip.JOB.log" \
            ${python} -m espnet2_ext.bin.extract_lip_roi --video_scp "${logdir}/keys.JOB.scp" ${gt_opt} \
                --out_dir "${out}/data/lip" --out_scp "${logdir}/lip.JOB.scp" --report "${logdir}/report.JOB.json" \
                --crop_scale "${lip_crop_scale}" --front_end "${lip_front_end}" \
                --face_track_dir "${out}/data/face_track" --face_track_scp "${logdir}/face_track.JOB.scp"
        reports=""
        for n_i in $(seq "${_nj}"); do reports+=" ${logdir}/report.${n_i}.json"; done
        # shellcheck disable=SC2086
        ${python} -m espnet2_ext.bin.merge_lip_reports --reports ${reports} \
            --out "${out}/lip_report.json" --max_excluded_fraction "${max_excluded_fraction}"
        for n_i in $(seq "${_nj}"); do cat "${logdir}/lip.${n_i}.scp"; done | sort > "${out}/lip.scp"
        for n_i in $(seq "${_nj}"); do cat "${logdir}/face_track.${n_i}.scp"; done | sort > "${out}/face_track.scp"
        [ -s "${out}/face_track.scp" ] || rm -f "${out}/face_track.scp"  # Haar front end: no face track
        n_all=$(wc -l < "${out}/video.scp")
        n_lip=$(wc -l < "${out}/lip.scp")
        if [ "${n_lip}" -lt "${n_all}" ]; then
            log "${dset}: $((n_all - n_lip)) utterance(s) have no usable face; see ${out}/lip_report.json"
            utils/fix_data_dir.sh "${out}"
        fi
        log "${dset}: $(${python} -c "import json,sys; r=json.load(open(sys.argv[1])); print({k: r.get(k) for k in ('front_end', 'detection_rate', 'center_err_px_median', 'center_err_px_p95', 'center_err_fw_median', 'roll_err_deg_median', 'face_width_px_median')})" "${out}/lip_report.json")"
        touch "${out}/.lip.done"
    done
fi

# ----------------------------------------------------------------------------------------------
if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
    log "Stage 4: Token list, reference sets, statistics -> ${token_list}, ${stats_dir}"
    if [ ! -f "${dumpdir}/token_list/.done" ]; then
        mkdir -p "$(dirname "${token_list}")"
        {
            echo "<blank>"
            echo "<unk>"
            cut -d ' ' -f 2- "${data_feats}/${train_set}/text" | tr ' ' '\n' | grep -v '^$' | LC_ALL=C sort -u
            echo "<sos/eos>"
        } > "${token_list}.tmp"
        mv "${token_list}.tmp" "${token_list}"
        touch "${dumpdir}/token_list/.done"
    fi
    # The paper's setting 1 for every test set: each utterance's own recording is its reference
    # (ref_utt, ref_wav.scp in place; decoding reads the reference's mel and F0 from it).
    for dset in ${test_sets}; do
        out=${data_feats}/${dset}
        [ -f "${out}/.ref.done" ] && continue
        ${python} -m espnet2_ext.bin.make_reference_sets --dump_dir "${out}" --setting 1
        touch "${out}/.ref.done"
    done
    # The paper's settings 2-4: another utterance of the same singer, another seen singer,
    # an unseen singer as the reference voice (test utterances, d-vector of the reference).
    for setting in ${ref_settings}; do
        out=${data_feats}/test_ref${setting}
        [ -f "${out}/.done" ] && continue
        pool_opt=""
        [ "${setting}" = 4 ] && pool_opt="--pool_dir ${data_feats}/test_ood"
        # shellcheck disable=SC2086
        ${python} -m espnet2_ext.bin.make_reference_sets --dump_dir "${data_feats}/test" \
            ${pool_opt} --out_dir "${out}" --setting "${setting}" --seed 0
        touch "${out}/.done"
    done
    # Controls: test with its lip frames shuffled in time, or with another utterance's video.
    for mode in ${lip_controls}; do
        out=${data_feats}/test_lip${mode}
        [ -f "${out}/.done" ] && continue
        ${python} -m espnet2_ext.bin.make_lip_control_set --dump_dir "${data_feats}/test" \
            --out_dir "${out}" --mode "${mode}" --seed 0
        touch "${out}/.done"
    done
    if [ ! -f "${stats_dir}/.done" ]; then
        _opts=""
        for dset in "${train_set}" "${valid_set}"; do
            key=train
            [ "${dset}" = "${valid_set}" ] && key=valid
            _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/text,text,text "
            _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/wav.scp,singing,sound "
            _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/label,label,duration "
            _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/score.scp,score,score "
            _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/pitch.scp,pitch,kaldi_ark "
            _opts+="--${key}_shape_file ${data_feats}/${dset}/text "
        done
        # shellcheck disable=SC2086
        ${train_cmd} "${stats_dir}/logs/stats.log" \
            ${python} -m espnet2_ext.bin.visual_svs_train --collect_stats true --config "${stage_one_config}" \
                --use_preprocessor true --token_type phn --token_list "${token_list}" \
                --normalize none --pitch_normalize none --energy_normalize none \
                --fs "${fs}" --feats_extract_conf "${fbank_conf}" \
                --batch_type unsorted --batch_size 1 --num_workers 0 --ngpu 0 \
                --output_dir "${stats_dir}" ${_opts}
        touch "${stats_dir}/.done"
    fi
fi

# Data arguments of training: every stream of the dump, shape files from the stats dir.
train_data_opts() {
    local key dset _opts=""
    for key in train valid; do
        dset=${train_set}
        [ "${key}" = valid ] && dset=${valid_set}
        _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/text,text,text "
        _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/wav.scp,singing,sound "
        _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/label,label,duration "
        _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/score.scp,score,score "
        _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/pitch.scp,pitch,kaldi_ark "
        _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/spembs.scp,spembs,kaldi_ark "
        if [ "${1:-}" = lip ]; then
            _opts+="--${key}_data_path_and_name_and_type ${data_feats}/${dset}/lip.scp,lip,npy "
        fi
        _opts+="--${key}_shape_file ${stats_dir}/${key}/singing_shape "
    done
    echo "${_opts}"
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

# Trains <config> into <exp dir> with espnet's trainer (resumable), launched by espnet2.bin.launch:
# --ngpu 0: one CPU process; --ngpu N: N processes on this node, DDP (multiprocessing_distributed);
# --num_nodes M (cmd_backend=slurm): one srun task per node, each spawning --ngpu ranks,
# rendezvous through a file in <exp dir> (--dist_launcher slurm, --dist_init_method file://...).
train_system() {
    local config=$1 exp=$2
    shift 2
    local extra=("$@")
    mkdir -p "${exp}"
    local use_lip
    use_lip=$(conf_get "${config}" svs_conf.use_visual)
    [ "$(conf_get "${config}" svs)" = hpmdubbing ] && use_lip=True
    local lip_opt=""
    [ "${use_lip}" = True ] && lip_opt=lip
    local threads=${nthreads:-${train_nthreads}} dist_opts=()
    # several ranks: parameters a batch leaves unused (frozen paths, optional branches) are allowed
    [ $((ngpu * num_nodes)) -gt 1 ] && dist_opts+=(--unused_parameters true)
    log "Training ${config} -> ${exp} (log: ${exp}/train.log)"
    # shellcheck disable=SC2046,SC2086
    OMP_NUM_THREADS=${threads} ${python} -m espnet2.bin.launch \
        --cmd "${cuda_cmd} --num-threads ${threads}" --log "${exp}/train.log" \
        --ngpu "${ngpu}" --num_nodes "${num_nodes}" --init_file_prefix "${exp}/.dist_init_" \
        --multiprocessing_distributed true -- \
        ${python} -m espnet2_ext.bin.visual_svs_train \
            --config "${config}" --use_preprocessor true --token_type phn --token_list "${token_list}" \
            --fs "${fs}" --feats_extract_conf "${fbank_conf}" \
            --normalize global_mvn --normalize_conf stats_file="${stats_dir}/train/feats_stats.npz" \
            --resume true --output_dir "${exp}" "${dist_opts[@]}" \
            $(train_data_opts ${lip_opt}) "${extra[@]}" ${train_args}
    # Training curves once, from the checkpoint (the demo configs turn the per-epoch plots off).
    ${python} -m espnet2_ext.bin.plot_train_stats --exp_dir "${exp}" >> "${exp}/train.log" 2>&1 \
        || log "Warning: could not plot the training curves of ${exp} (see ${exp}/train.log)"
}

# ----------------------------------------------------------------------------------------------
# GPUs asked for must be visible before any training or decoding starts (jobs of this machine;
# with cmd_backend=slurm every entry point checks on its own node).
if [ "${cmd_backend}" != slurm ] && [ ${stage} -le 7 ] && [ ${stop_stage} -ge 5 ]; then
    _need=${ngpu}
    "${gpu_inference}" && [ ${stop_stage} -ge 7 ] && [ "${_need}" -lt 1 ] && _need=1
    if [ "${_need}" -gt 0 ]; then
        ${python} -m espnet2_ext.utils.device --ngpu "${_need}" --what "svs.sh stages ${stage}-${stop_stage} (--ngpu ${ngpu}, --gpu_inference ${gpu_inference})" || exit 1
    fi
fi

# ----------------------------------------------------------------------------------------------
if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
    log "Stage 5: Stage-one training (${stage_one_config}, no video) -> ${stage_one_exp}"
    # The lip encoder's lip-reading pretraining needs no stage-one model: it runs beside it.
    lip_pid=""
    pretrained=$(conf_get "${train_config}" svs_conf.lip_encoder_conf.pretrained)
    if [ "${lip_pretrain}" = true ] || { [ "${lip_pretrain}" = auto ] && [ -z "${pretrained}" ]; }; then
        if [ -f "${expdir}/lip_pretrain/.done" ]; then
            log "${expdir}/lip_pretrain/.done exists: skipping lip-reading pretraining"
        else
            if ! ${python} -m espnet2_ext.bin.check_lip_conf "${lip_pretrain_config}" "${train_config}"; then
                log "Error: see above (stage 6 would load these weights into ${train_config}'s lip encoder)"
                exit 1
            fi
            log "Stage 5: Lip-reading pretraining of the lip encoder (${lip_pretrain_config}) -> ${expdir}/lip_pretrain (log: ${expdir}/lip_pretrain/train.log)"
            mkdir -p "${expdir}/lip_pretrain"
            ${cuda_cmd} --gpu "${single_gpu}" "${expdir}/lip_pretrain/train.log" \
                ${python} -m espnet2_ext.bin.pretrain_lip_encoder --ngpu "${single_gpu}" \
                    --train_lip_scp "${data_feats}/${train_set}/lip.scp" --train_label "${data_feats}/${train_set}/label" \
                    --valid_lip_scp "${data_feats}/${valid_set}/lip.scp" --valid_label "${data_feats}/${valid_set}/label" \
                    --config "${lip_pretrain_config}" --out_dir "${expdir}/lip_pretrain" --resume &
            lip_pid=$!
        fi
    fi
    if [ -f "${stage_one_exp}/.done" ]; then
        log "${stage_one_exp}/.done exists: skipping"
    else
        nthreads=${train_nthreads}
        [ -n "${lip_pid}" ] && nthreads=1
        train_system "${stage_one_config}" "${stage_one_exp}"
        unset nthreads
        touch "${stage_one_exp}/.done"
    fi
    if [ -n "${lip_pid}" ]; then
        if ! wait "${lip_pid}"; then
            log "Error: lip-reading pretraining failed: see ${expdir}/lip_pretrain/train.log"
            exit 1
        fi
        touch "${expdir}/lip_pretrain/.done"
        log "Lip-reading pretraining: $(${python} -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"best valid frame acc {max(e['valid_frame_acc'] for e in r['epochs']):.3f} (epoch {r['best_epoch']}), chance {r['chance']:.3f}\")" "${expdir}/lip_pretrain/log.json" 2>/dev/null)"
    fi
fi

# ----------------------------------------------------------------------------------------------
if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
    log "Stage 6: Stage-two training (${train_config}) -> ${svs_exp}"
    if [ -f "${svs_exp}/.done" ]; then
        log "${svs_exp}/.done exists: skipping"
    else
        opts=()
        if [ "${init_from_stage_one}" = auto ]; then
            init_from_stage_one=true
            case "$(basename "${train_config}")" in *single_stage*) init_from_stage_one=false ;; esac
            [ "$(conf_get "${train_config}" svs)" = hpmdubbing ] && init_from_stage_one=false
            log "init_from_stage_one=auto -> ${init_from_stage_one}"
        fi
        if [ "${init_from_stage_one}" = true ]; then
            stage_one_model=$(model_file "${stage_one_exp}")
            if [ ! -f "${stage_one_model}" ]; then
                log "Error: ${stage_one_model} not found: run stage 5 first, or pass --init_from_stage_one false"
                exit 1
            fi
            opts+=(--stage_one_checkpoint "${stage_one_model}")
        fi
        pretrained=$(conf_get "${train_config}" svs_conf.lip_encoder_conf.pretrained)
        encoder_weights=${pretrained}
        if [ -z "${pretrained}" ] && [ -f "${expdir}/lip_pretrain/lip_encoder.pth" ] && [ "${lip_pretrain}" != false ]; then
            log "Lip encoder initialised from ${expdir}/lip_pretrain/lip_encoder.pth (lip-reading pretraining)"
            opts+=(--svs_conf "lip_encoder_conf.pretrained=${expdir}/lip_pretrain/lip_encoder.pth")
            encoder_weights=${expdir}/lip_pretrain/lip_encoder.pth
        fi
        # A frozen lip-reading head needs weights: fit it on the frozen encoder's cached features
        # (espnet2_ext/lipread/head_fit.py) -> ${svs_exp}/lip_reader/lip_reader.pth, then load it.
        if [ "${lip_reader_fit}" = true ] || { [ "${lip_reader_fit}" = auto ] \
                && [ "$(conf_get "${train_config}" svs_conf.lip_reader_conf.freeze)" = True ] \
                && [ -z "$(conf_get "${train_config}" svs_conf.lip_reader_conf.pretrained)" ]; }; then
            fit_dir=${svs_exp}/lip_reader
            if [ -z "${encoder_weights}" ]; then
                log "Error: fitting the lip-reading head of ${train_config} needs lip encoder weights: set lip_encoder_conf.pretrained or run stage 5 (lip-reading pretraining)"
                exit 1
            fi
            if [ -f "${fit_dir}/.done" ]; then
                log "${fit_dir}/.done exists: skipping the lip-reading head fit"
            else
                log "Stage 6: Fitting the lip-reading heads on the frozen lip encoder (${lip_reader_fit_config}) -> ${fit_dir} (log: ${fit_dir}/fit.log)"
                mkdir -p "${fit_dir}"
                # shellcheck disable=SC2086
                OMP_NUM_THREADS=1 ${cuda_cmd} --gpu "${single_gpu}" "${fit_dir}/fit.log" \
                    ${python} -m espnet2_ext.bin.fit_lip_reader --train_config "${train_config}" --ngpu "${single_gpu}" \
                        --lip_encoder "${encoder_weights}" --token_list "${token_list}" \
                        --train_lip_scp "${data_feats}/${train_set}/lip.scp" --train_label "${data_feats}/${train_set}/label" \
                        --valid_lip_scp "${data_feats}/${valid_set}/lip.scp" --valid_label "${data_feats}/${valid_set}/label" \
                        --config "${lip_reader_fit_config}" --out_dir "${fit_dir}" --overwrite --resume ${lip_reader_fit_args}
                touch "${fit_dir}/.done"
                log "Lip-reading heads: $(grep "done in" "${fit_dir}/fit.log" | tail -n 1 | sed 's/.*INFO //')"
            fi
            opts+=(--svs_conf "lip_reader_conf.pretrained=${fit_dir}/lip_reader.pth")
        fi
        train_system "${train_config}" "${svs_exp}" "${opts[@]}"
        touch "${svs_exp}/.done"
    fi
fi

# ----------------------------------------------------------------------------------------------
if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ]; then
    log "Stage 7: Decoding ${decode_systems} (${inference_config}, vocoder ${vocoder}) -> ${expdir}/svs_*/${inference_tag}"
    if "${train_vocoder}" && [ -z "${vocoder_checkpoint}" ]; then
        log "Stage 7: HiFi-GAN training on ${train_set} (${vocoder_max_steps} steps) -> ${expdir}/vocoder"
        if [ ! -f "${expdir}/vocoder/.done" ]; then
            mkdir -p "${expdir}/vocoder"
            ${cuda_cmd} --gpu "${single_gpu}" "${expdir}/vocoder/train.log" \
                ${python} -m espnet2_ext.bin.train_vocoder --ngpu "${single_gpu}" --wav_scp "${data_feats}/${train_set}/wav.scp" \
                    --fbank_conf "${fbank_conf}" --out_dir "${expdir}/vocoder" --max_steps "${vocoder_max_steps}" --resume
            touch "${expdir}/vocoder/.done"
        fi
        vocoder_checkpoint=${expdir}/vocoder/generator.pth
        [ "${vocoder}" = auto ] && vocoder=hifigan
    fi
    inference_ngpu=0
    "${gpu_inference}" && inference_ngpu=1  # each decode job on one GPU (model and HiFi-GAN)
    voc_opts="--vocoder ${vocoder}"
    [ -n "${vocoder_checkpoint}" ] && voc_opts+=" --vocoder_checkpoint ${vocoder_checkpoint}"
    # Every system decodes the test sets; the stage-two system (the one of --train_config) also
    # decodes the reference-voice settings 2-4 and the lip-timing controls.
    extra_sets=""
    for setting in ${ref_settings}; do extra_sets+=" test_ref${setting}"; done
    for mode in ${lip_controls}; do extra_sets+=" test_lip${mode}"; done
    # One decode job: up to ${decode_sets_per_job} sets of one system in each process (the model and
    # vocoder start-up is paid once per process), JOB=1:decode_nj splits of their utterances,
    # merged into each set's decode dir.
    # <timing dir>: "" (the model's own durations) or a decode tag dir whose <set>/durations are imposed.
    decode_group() {  # <exp dir> <model file> <config> <tag> <timing dir> <set>...
        local exp=$1 model=$2 config=$3 dtag=$4 timing_from=$5
        shift 5
        local dset _nj=${decode_nj} args="" first=$1
        for dset in "$@"; do
            _nj=$(min "${_nj}" "$(wc -l < "${data_feats}/${dset}/text")")
        done
        for dset in "$@"; do
            local dir=${exp}/${dtag}/${dset}
            mkdir -p "${dir}/logs"
            split_scps "${data_feats}/${dset}/text" "${dir}/logs" "${_nj}"
            args+=" --data_dir ${data_feats}/${dset} --key_file ${dir}/logs/keys.JOB.scp"
            args+=" --output_dir ${dir}/logs/output.JOB --wav_dir ${dir}/wav --attn_dir ${dir}/attn --video_dir ${dir}/video"
            [ -n "${timing_from}" ] && args+=" --fixed_durations ${timing_from}/${dset}/durations"
        done
        local logdir=${exp}/${dtag}/${first}/logs
        # shellcheck disable=SC2086
        ${decode_cmd} --gpu "${inference_ngpu}" JOB=1:"${_nj}" "${logdir}/decode.JOB.log" \
            ${python} -m espnet2_ext.bin.visual_svs_inference --config "${config}" --ngpu "${inference_ngpu}" \
                --model_file "${model}" --train_config "${exp}/config.yaml" --progress false ${args} ${voc_opts}
        local f n_i
        for dset in "$@"; do
            local dir=${exp}/${dtag}/${dset}
            for f in wav.scp feats.scp f0.scp durations timing; do
                for n_i in $(seq "${_nj}"); do cat "${dir}/logs/output.${n_i}/${f}"; done | sort > "${dir}/${f}"
            done
            touch "${dir}/.done"
        done
    }
    # The paper's GT row: the ground-truth mel through the same vocoder.
    vocode_gt_set() {
        local dset=$1
        local dir=${expdir}/gt/${inference_tag}/${dset}
        mkdir -p "${dir}/logs"
        # shellcheck disable=SC2086
        ${decode_cmd} "${dir}/logs/vocode.log" \
            ${python} -m espnet2_ext.bin.vocode_gt --wav_scp "${data_feats}/${dset}/wav.scp" \
                --label "${data_feats}/${dset}/label" --fbank_conf "${fbank_conf}" --out_dir "${dir}" \
                --video_scp "${data_feats}/${dset}/video.scp" ${voc_opts}
        touch "${dir}/.done"
    }
    # Decode jobs run ${nj} at a time; each takes up to ${decode_sets_per_job} sets of one system
    # (its log: <first set's decode dir>/logs/decode.JOB.log).
    running=0
    failed=0
    launch() {  # <job>...: run it in the background, at most ${nj} at once
        "$@" &
        running=$((running + 1))
        if [ "${running}" -ge "${nj}" ]; then
            wait -n || failed=1
            running=$((running - 1))
        fi
    }
    # The sets of one (system, config) not yet decoded, up to ${decode_sets_per_job} per job.
    decode_system() {  # <exp dir> <model file> <config> <tag> <timing dir> <set>...
        local exp=$1 model=$2 config=$3 dtag=$4 timing_from=$5
        shift 5
        local dset group=()
        for dset in "$@"; do
            [ -f "${exp}/${dtag}/${dset}/.done" ] && { log "${exp}/${dtag}/${dset}/.done exists: skipping"; continue; }
            group+=("${dset}")
            [ "${#group[@]}" -lt "${decode_sets_per_job}" ] && continue
            log "Decoding ${group[*]} of $(basename "${exp}") with ${config} (log: ${exp}/${dtag}/${group[0]}/logs/)"
            launch decode_group "${exp}" "${model}" "${config}" "${dtag}" "${timing_from}" "${group[@]}"
            group=()
        done
        if [ "${#group[@]}" -gt 0 ]; then
            log "Decoding ${group[*]} of $(basename "${exp}") with ${config} (log: ${exp}/${dtag}/${group[0]}/logs/)"
            launch decode_group "${exp}" "${model}" "${config}" "${dtag}" "${timing_from}" "${group[@]}"
        fi
    }
    wait_all() {
        while [ "${running}" -gt 0 ]; do
            wait -n || failed=1
            running=$((running - 1))
        done
    }
    first_system=$(echo ${decode_systems} | cut -d ' ' -f 1)
    for system in ${decode_systems}; do
        exp=${expdir}/${system}
        decode_sets="${test_sets}"
        [ "${system}" = "$(basename "${svs_exp}")" ] && decode_sets+="${extra_sets}"
        model=$(model_file "${exp}")
        if [ ! -f "${model}" ]; then
            log "Error: ${model} not found (train ${system} first)"
            exit 1
        fi
        # shellcheck disable=SC2086
        decode_system "${exp}" "${model}" "${inference_config}" "${inference_tag}" "" ${decode_sets}
        # The visual systems also decode --extra_decode_sets with each --extra_inference_configs config.
        if [ "$(conf_get "${exp}/config.yaml" svs_conf.use_visual)" = True ]; then
            for config in ${extra_inference_configs}; do
                # shellcheck disable=SC2086
                decode_system "${exp}" "${model}" "${config}" "$(decode_tag "${config}")" "" ${extra_decode_sets}
            done
        fi
        [ "${system}" = "${first_system}" ] || continue
        for dset in ${test_sets}; do
            dir=${expdir}/gt/${inference_tag}/${dset}
            [ -f "${dir}/.done" ] && { log "${dir}/.done exists: skipping"; continue; }
            log "Vocoding the ground truth of ${dset} (log: ${dir}/logs/)"
            launch vocode_gt_set "${dset}"
        done
    done
    wait_all
    # The fusion control, once the stage-two system's durations exist: the stage-one acoustic
    # model with the timing that system's decode gave (its lip-reading heads in the demo).
    if "${timing_control}" && [ "${stage_one_exp}" != "${svs_exp}" ] && [ "${failed}" -eq 0 ] \
            && [[ " ${decode_systems} " == *" $(basename "${svs_exp}") "* ]]; then
        # shellcheck disable=SC2086
        decode_system "${stage_one_exp}" "$(model_file "${stage_one_exp}")" "${inference_config}" "${control_tag}" \
            "${svs_exp}/${inference_tag}" ${extra_decode_sets}
        wait_all
    fi
    if [ "${failed}" -ne 0 ]; then
        log "Error: decoding failed; see the logs under ${expdir}/*/decode_*/*/logs/"
        exit 1
    fi
fi

# ----------------------------------------------------------------------------------------------
if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 8 ]; then
    log "Stage 8: Scoring (MCD, FFE, Cos, LSE, durations, plots) -> scores.json, ${expdir}/RESULTS.md"
    # Reference mel-cepstra / F0 are shared by every system and control set: computed once, cached.
    score_opts="--fs ${fs} --hop_length ${n_shift} --plots ${num_plots} --cache_dir ${expdir}/score_cache"
    [ -n "${syncnet_weights}" ] && score_opts+=" --syncnet_weights ${syncnet_weights}"
    [ -n "${wavlm_dir}" ] && score_opts+=" --wavlm_dir ${wavlm_dir}"
    decode_dirs=""
    score_list=${expdir}/score_dirs.txt
    : > "${score_list}"
    for system in gt ${decode_systems} $(basename "${stage_one_exp}"); do
        for dtag in ${inference_tag} ${extra_tags} ${control_tag}; do
            for dir in "${expdir}/${system}/${dtag}"/*/; do
                [ -f "${dir}/.done" ] || continue
                dir=${dir%/}
                [[ " ${decode_dirs} " == *" ${dir} "* ]] && continue
                decode_dirs+=" ${dir}"
                [ -f "${dir}/.score.done" ] && [ "${dir}/.score.done" -nt "${dir}/.done" ] && continue
                echo "${dir}" >> "${score_list}"
            done
        done
    done
    n_score=$(wc -l < "${score_list}")
    if [ "${n_score}" -gt 0 ]; then
        n_jobs=$(min "${nj}" "${n_score}")
        log "Scoring ${n_score} decode dir(s) in ${n_jobs} job(s) (logs: <decode dir>/logs/score.log)"
        # Line j of score_jobs.txt: the decode dirs of job j (every n_jobs-th of the list), scored by
        # one process whose scorer loads once; each dir's reference is dump/raw/<set>.
        awk -v n="${n_jobs}" '{ job[(NR - 1) % n] = job[(NR - 1) % n] " " $0 } END { for (j = 0; j < n; j++) print job[j] }' \
            "${score_list}" > "${expdir}/score_jobs.txt"
        # shellcheck disable=SC2016
        ${decode_cmd} JOB=1:"${n_jobs}" "${expdir}/score_logs/score.JOB.log" \
            bash -c 'dirs=$(sed -n "JOBp" "$0"); args=""; for d in ${dirs}; do args+=" --decode_dir ${d} --ref_dir $2/$(basename "${d}")"; done
                "$1" -m espnet2_ext.bin.score_svs ${args} ${@:3} --log_file logs/score.log \
                && for d in ${dirs}; do touch "${d}/.score.done"; done' \
            "${expdir}/score_jobs.txt" "${python}" "${data_feats}" ${score_opts}
    fi
    ${python} -m espnet2_ext.bin.make_results_table --exp_dir "${expdir}" --out "${expdir}/RESULTS.md"
    # shellcheck disable=SC2086
    ${python} -m espnet2_ext.bin.make_listening_kit --decode_dirs ${decode_dirs} \
        --out "${expdir}/listening_kit" --n 10 --seed 0 --overwrite
    cat "${expdir}/RESULTS.md"
fi

# ----------------------------------------------------------------------------------------------
if [ ${stage} -le 9 ] && [ ${stop_stage} -ge 9 ]; then
    # Stage 9: the stage-two system (--train_config) as one zip in espnet's pack convention
    # (config, model file, stats, token list, lip-reading heads, vocoder, meta.yaml), which
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
            --model_file "${inference_model}" --vocoder "${vocoder}" --crop_scale "${lip_crop_scale}" \
            --decode_config "${inference_config}" ${pack_opts}
    fi
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
