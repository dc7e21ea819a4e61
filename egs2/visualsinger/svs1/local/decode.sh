# shellcheck shell=bash
# Stage 7 of svs.sh (sourced): train_hifigan -> ${expdir}/vocoder (with --train_vocoder true);
# decode_all decodes every system of ${decode_systems}
#   the test sets (+ the reference settings and lip controls for the --train_config system)
#       -> ${expdir}/<system>/${inference_tag}/<set>/{wav.scp,feats.scp,f0.scp,durations,timing,wav/,video/}
#   the systems that choose a duration source: --extra_decode_sets with each --extra_inference_configs
#       -> ${expdir}/<system>/decode_<config>_<vocoder>/<set>
#   the ground truth through the same vocoder          -> ${expdir}/gt/${inference_tag}/<set>
#   the fusion control (stage one with the stage-two system's durations)
#       -> ${expdir}/<stage one>/${control_tag}/<set>
# One decode process takes up to ${decode_sets_per_job} sets of one system (it loads the model once),
# JOB=1:${decode_nj} key-file splits of their utterances; ${nj} processes run at once (local/jobs.sh).
# Reads svs.sh's settings: data_feats expdir python decode_cmd decode_nj decode_sets_per_job vocoder
# vocoder_checkpoint gpu_inference test_sets ref_settings lip_controls extra_inference_configs
# extra_decode_sets timing_control decode_systems stage_one_exp svs_exp inference_config inference_tag
# control_tag fbank_conf cuda_cmd single_gpu train_set vocoder_max_steps; uses local/jobs.sh and svs.sh's model_file, need, decode_tag.
# shellcheck disable=SC2154

decode_group() {  # <exp dir> <model file> <config> <tag> <timing dir> <set>...
    local exp=$1 model=$2 config=$3 dtag=$4 timing_from=$5
    shift 5
    local dset _nj=${decode_nj} args="" first=$1 dir logdir f
    for dset in "$@"; do
        _nj=$(min "${_nj}" "$(wc -l < "${data_feats}/${dset}/text")")
    done
    for dset in "$@"; do
        dir=${exp}/${dtag}/${dset}
        mkdir -p "${dir}/logs"
        split_scps "${data_feats}/${dset}/text" "${dir}/logs" "${_nj}"
        args+=" --data_dir ${data_feats}/${dset} --key_file ${dir}/logs/keys.JOB.scp"
        args+=" --output_dir ${dir}/logs/output.JOB --wav_dir ${dir}/wav --attn_dir ${dir}/attn --video_dir ${dir}/video"
        [ -n "${timing_from}" ] && args+=" --fixed_durations ${timing_from}/${dset}/durations"
    done
    logdir=${exp}/${dtag}/${first}/logs
    # shellcheck disable=SC2086
    ${decode_cmd} --gpu "${inference_ngpu}" JOB=1:"${_nj}" "${logdir}/decode.JOB.log" \
        ${python} -m espnet2_ext.bin.visual_svs_inference --config "${config}" --ngpu "${inference_ngpu}" \
            --model_file "${model}" --train_config "${exp}/config.yaml" --progress false ${args} ${voc_opts}
    for dset in "$@"; do
        dir=${exp}/${dtag}/${dset}
        for f in wav.scp feats.scp f0.scp durations timing lip_confidence; do
            for n_i in $(seq "${_nj}"); do cat "${dir}/logs/output.${n_i}/${f}"; done | sort > "${dir}/${f}"
        done
        touch "${dir}/.done"
    done
}

# The paper's GT row: the ground-truth mel through the same vocoder.
vocode_gt_set() {
    local dset=$1 dir=${expdir}/gt/${inference_tag}/$1
    mkdir -p "${dir}/logs"
    # shellcheck disable=SC2086
    ${decode_cmd} "${dir}/logs/vocode.log" \
        ${python} -m espnet2_ext.bin.vocode_gt --wav_scp "${data_feats}/${dset}/wav.scp" \
            --label "${data_feats}/${dset}/label" --fbank_conf "${fbank_conf}" --out_dir "${dir}" \
            --video_scp "${data_feats}/${dset}/video.scp" ${voc_opts}
    touch "${dir}/.done"
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

train_hifigan() {
    mkdir -p "${expdir}/vocoder"
    ${cuda_cmd} --gpu "${single_gpu}" "${expdir}/vocoder/train.log" \
        ${python} -m espnet2_ext.bin.train_vocoder --ngpu "${single_gpu}" --wav_scp "${data_feats}/${train_set}/wav.scp" \
            --fbank_conf "${fbank_conf}" --out_dir "${expdir}/vocoder" --max_steps "${vocoder_max_steps}" --resume
}

decode_all() {
    local extra_sets="" setting mode system exp decode_sets model config dset dir first_system chooses
    inference_ngpu=0
    "${gpu_inference}" && inference_ngpu=1  # each decode job on one GPU (model and HiFi-GAN)
    voc_opts="--vocoder ${vocoder}"
    [ -n "${vocoder_checkpoint}" ] && voc_opts+=" --vocoder_checkpoint ${vocoder_checkpoint}"
    # Every system decodes the test sets; the stage-two system (the one of --train_config) also
    # decodes the reference-voice settings 2-4 and the lip-timing controls.
    for setting in ${ref_settings}; do extra_sets+=" test_ref${setting}"; done
    for mode in ${lip_controls}; do extra_sets+=" test_lip${mode}"; done
    # shellcheck disable=SC2086
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
        # The systems with a duration source to choose also decode --extra_decode_sets with each
        # --extra_inference_configs config.
        chooses=$(need "${exp}/config.yaml" chooses_duration_source)
        if [ "${chooses}" = true ]; then
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
}
