# shellcheck shell=bash
# Stages 2 and 3 of svs.sh (sourced), up to ${nj} key-file splits of each set through ${train_cmd};
# job j of a tool runs it on split j of every set in one process (espnet2_ext.bin.run_batch, args
# files and logs in ${data_feats}/logs/{audio,lip}/<tool>.j.{args,log}):
#   audio_features <set>...  data/<set>/wav.scp -> format_wav (fs) -> extract_f0, extract_dvector
#                            -> ${data_feats}/<set>/{wav,pitch,spembs}.scp (+ the data files copied)
#   lip_roi <set>...         ${data_feats}/<set>/video.scp -> extract_lip_roi, merge_lip_reports
#                            -> ${data_feats}/<set>/{lip,face_track}.scp, lip_report.json
#   reference_sets         stage 4: reference voices (settings 1-4) and lip-timing controls of the test sets
#   run_pending_sets <marker> <function>   svs.sh's call of the first two on the sets not yet marked done
# Reads svs.sh's settings: all_sets data_feats nj python train_cmd fs n_shift lip_crop_scale lip_front_end
# max_excluded_fraction test_sets ref_settings lip_controls; uses local/jobs.sh.
# shellcheck disable=SC2154

# <marker> <function>: <function> once on the sets of ${all_sets} without ${data_feats}/<set>/<marker>,
# then their markers (the sets with one are skipped, logged).
run_pending_sets() {
    local marker=$1 fn=$2 dset pending=()
    for dset in ${all_sets}; do
        [ -f "${data_feats}/${dset}/${marker}" ] && { log "${data_feats}/${dset}/${marker} exists: skipping ${dset}"; continue; }
        pending+=("${dset}")
    done
    [ "${#pending[@]}" -eq 0 ] && return 0
    "${fn}" "${pending[@]}"
    for dset in "${pending[@]}"; do touch "${data_feats}/${dset}/${marker}"; done
}

# <scp>: the number of key-file splits of a set, ${nj} or its line count when fewer.
n_splits() {
    min "${nj}" "$(wc -l < "$1")"
}

# One line of a run_batch args file: the arguments, shell-quoted.
args_line() {
    printf '%q ' "$@"
    echo
}

# <tool> <dir> <n>: ${train_cmd} JOB=1:<n>, job j running <tool> on every line of <dir>/<tool>.j.args
# in one process (espnet2_ext.bin.run_batch) -> log <dir>/<tool>.j.log
run_batches() {
    local tool=$1 dir=$2 n=$3
    ${train_cmd} JOB=1:"${n}" "${dir}/${tool}.JOB.log" \
        ${python} -m espnet2_ext.bin.run_batch --module "espnet2_ext.bin.${tool}" --args_file "${dir}/${tool}.JOB.args"
}

# Empty args files <dir>/<tool>.{1..nj}.args of each tool.
new_batches() {
    local dir=$1 tool j
    shift
    mkdir -p "${dir}"
    for tool in "$@"; do
        for j in $(seq "${nj}"); do : > "${dir}/${tool}.${j}.args"; done
    done
}

audio_features() {  # <set>...: every tool once per job over all the sets (its imports load once)
    local dset out f _nj n_jobs=1 logdir j batch=${data_feats}/logs/audio
    new_batches "${batch}" format_wav extract_f0 extract_dvector
    for dset in "$@"; do
        out=${data_feats}/${dset}
        mkdir -p "${out}"
        for f in text utt2spk spk2utt label score.scp video.scp mouth_gt.scp; do
            [ -f "data/${dset}/${f}" ] && cp "data/${dset}/${f}" "${out}/${f}"
        done
        _nj=$(n_splits "data/${dset}/wav.scp")
        [ "${_nj}" -gt "${n_jobs}" ] && n_jobs=${_nj}
        logdir=${out}/logs/audio
        mkdir -p "${logdir}"
        split_scps "data/${dset}/wav.scp" "${logdir}" "${_nj}"
        for j in $(seq "${_nj}"); do
            args_line --in_scp "${logdir}/keys.${j}.scp" --out_dir "${out}/data/wav" --out_scp "${logdir}/wav.${j}.scp" \
                --fs "${fs}" >> "${batch}/format_wav.${j}.args"
        done
    done
    run_batches format_wav "${batch}" "${n_jobs}"
    for dset in "$@"; do
        out=${data_feats}/${dset}
        logdir=${out}/logs/audio
        _nj=$(n_splits "data/${dset}/wav.scp")
        merge_splits "${logdir}" wav "${_nj}" > "${out}/wav.scp"
        split_scps "${out}/wav.scp" "${logdir}" "${_nj}"
        for j in $(seq "${_nj}"); do
            args_line --wav_scp "${logdir}/keys.${j}.scp" --fs "${fs}" --hop_length "${n_shift}" \
                --out_ark "${out}/data/pitch.${j}.ark" --out_scp "${logdir}/pitch.${j}.scp" >> "${batch}/extract_f0.${j}.args"
            args_line --wav_scp "${logdir}/keys.${j}.scp" \
                --out_ark "${out}/data/spembs.${j}.ark" --out_scp "${logdir}/spembs.${j}.scp" >> "${batch}/extract_dvector.${j}.args"
        done
    done
    run_batches extract_f0 "${batch}" "${n_jobs}"
    run_batches extract_dvector "${batch}" "${n_jobs}"
    for dset in "$@"; do
        out=${data_feats}/${dset}
        logdir=${out}/logs/audio
        _nj=$(n_splits "data/${dset}/wav.scp")
        merge_splits "${logdir}" pitch "${_nj}" > "${out}/pitch.scp"
        merge_splits "${logdir}" spembs "${_nj}" > "${out}/spembs.scp"
        utils/validate_data_dir.sh --no-feats "${out}"
    done
}

lip_roi() {  # <set>...: one extract_lip_roi process per job over all the sets, one merge_lip_reports process
    local dset out logdir _nj n_jobs=1 gt_opt j reports n_all n_lip batch=${data_feats}/logs/lip
    new_batches "${batch}" extract_lip_roi merge_lip_reports
    for dset in "$@"; do
        out=${data_feats}/${dset}
        logdir=${out}/logs/lip
        mkdir -p "${logdir}"
        _nj=$(n_splits "${out}/video.scp")
        [ "${_nj}" -gt "${n_jobs}" ] && n_jobs=${_nj}
        split_scps "${out}/video.scp" "${logdir}" "${_nj}"
        gt_opt=()
        [ -f "${out}/mouth_gt.scp" ] && gt_opt=(--mouth_gt_scp "${out}/mouth_gt.scp")
        reports=()
        # landmark front end (MediaPipe face mesh, Haar cascades when it is not installed):
        # mouth crops aligned to the mean face -> data/lip, SyncNet face tracks -> data/face_track
        for j in $(seq "${_nj}"); do
            args_line --video_scp "${logdir}/keys.${j}.scp" "${gt_opt[@]}" \
                --out_dir "${out}/data/lip" --out_scp "${logdir}/lip.${j}.scp" --report "${logdir}/report.${j}.json" \
                --crop_scale "${lip_crop_scale}" --front_end "${lip_front_end}" \
                --face_track_dir "${out}/data/face_track" --face_track_scp "${logdir}/face_track.${j}.scp" \
                >> "${batch}/extract_lip_roi.${j}.args"
            reports+=("${logdir}/report.${j}.json")
        done
        args_line --reports "${reports[@]}" --out "${out}/lip_report.json" \
            --max_excluded_fraction "${max_excluded_fraction}" >> "${batch}/merge_lip_reports.1.args"
    done
    run_batches extract_lip_roi "${batch}" "${n_jobs}"
    # the excluded fraction of each set: merge_lip_reports stops the stage at the first set over it
    run_batches merge_lip_reports "${batch}" 1
    for dset in "$@"; do
        out=${data_feats}/${dset}
        logdir=${out}/logs/lip
        _nj=$(n_splits "${out}/video.scp")
        merge_splits "${logdir}" lip "${_nj}" > "${out}/lip.scp"
        merge_splits "${logdir}" face_track "${_nj}" > "${out}/face_track.scp"
        [ -s "${out}/face_track.scp" ] || rm -f "${out}/face_track.scp"  # Haar front end: no face track
        n_all=$(wc -l < "${out}/video.scp")
        n_lip=$(wc -l < "${out}/lip.scp")
        if [ "${n_lip}" -lt "${n_all}" ]; then
            log "${dset}: $((n_all - n_lip)) utterance(s) have no usable face; see ${out}/lip_report.json"
            utils/fix_data_dir.sh "${out}"
        fi
        log "${dset}: $(${python} -m espnet2_ext.bin.report_summary --lip_report "${out}/lip_report.json")"
    done
}

reference_sets() {
    local dset out setting pool_opt mode
    # The paper's setting 1 for every test set and the valid set (decoded by the sampler sweep and
    # any dev choice): each utterance's own recording is its reference (ref_utt, ref_wav.scp in
    # place; decoding reads the reference's mel and F0 from it).
    for dset in ${valid_set} ${test_sets}; do
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
}
