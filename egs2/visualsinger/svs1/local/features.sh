# shellcheck shell=bash
# Stages 2 and 3 of svs.sh for one set (sourced), ${nj} key-file splits through ${train_cmd}:
#   audio_features <set>   data/<set>/wav.scp -> format_wav (fs) -> extract_f0, extract_dvector
#                          -> ${data_feats}/<set>/{wav,pitch,spembs}.scp (+ the data files copied)
#   lip_roi <set>          ${data_feats}/<set>/video.scp -> extract_lip_roi, merge_lip_reports
#                          -> ${data_feats}/<set>/{lip,face_track}.scp, lip_report.json
#   reference_sets         stage 4: reference voices (settings 1-4) and lip-timing controls of the test sets
# Reads svs.sh's settings: data_feats nj python train_cmd fs n_shift lip_crop_scale lip_front_end
# max_excluded_fraction test_sets ref_settings lip_controls; uses local/jobs.sh.
# shellcheck disable=SC2154

audio_features() {
    local dset=$1 out=${data_feats}/$1 f _nj logdir
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
    merge_splits "${logdir}" wav "${_nj}" > "${out}/wav.scp"
    split_scps "${out}/wav.scp" "${logdir}" "${_nj}"
    ${train_cmd} JOB=1:"${_nj}" "${logdir}/f0.JOB.log" \
        ${python} -m espnet2_ext.bin.extract_f0 --wav_scp "${logdir}/keys.JOB.scp" \
            --fs "${fs}" --hop_length "${n_shift}" \
            --out_ark "${out}/data/pitch.JOB.ark" --out_scp "${logdir}/pitch.JOB.scp"
    ${train_cmd} JOB=1:"${_nj}" "${logdir}/dvector.JOB.log" \
        ${python} -m espnet2_ext.bin.extract_dvector --wav_scp "${logdir}/keys.JOB.scp" \
            --out_ark "${out}/data/spembs.JOB.ark" --out_scp "${logdir}/spembs.JOB.scp"
    merge_splits "${logdir}" pitch "${_nj}" > "${out}/pitch.scp"
    merge_splits "${logdir}" spembs "${_nj}" > "${out}/spembs.scp"
    utils/validate_data_dir.sh --no-feats "${out}"
}

lip_roi() {
    local dset=$1 out=${data_feats}/$1 logdir _nj gt_opt="" reports="" n_i n_all n_lip
    logdir=${out}/logs/lip
    mkdir -p "${logdir}"
    _nj=$(min "${nj}" "$(wc -l < "${out}/video.scp")")
    split_scps "${out}/video.scp" "${logdir}" "${_nj}"
    [ -f "${out}/mouth_gt.scp" ] && gt_opt="--mouth_gt_scp ${out}/mouth_gt.scp"
    # landmark front end (MediaPipe face mesh, Haar cascades when it is not installed):
    # mouth crops aligned to the mean face -> data/lip, SyncNet face tracks -> data/face_track
    ${train_cmd} JOB=1:"${_nj}" "${logdir}/lip.JOB.log" \
        ${python} -m espnet2_ext.bin.extract_lip_roi --video_scp "${logdir}/keys.JOB.scp" ${gt_opt} \
            --out_dir "${out}/data/lip" --out_scp "${logdir}/lip.JOB.scp" --report "${logdir}/report.JOB.json" \
            --crop_scale "${lip_crop_scale}" --front_end "${lip_front_end}" \
            --face_track_dir "${out}/data/face_track" --face_track_scp "${logdir}/face_track.JOB.scp"
    for n_i in $(seq "${_nj}"); do reports+=" ${logdir}/report.${n_i}.json"; done
    # shellcheck disable=SC2086
    ${python} -m espnet2_ext.bin.merge_lip_reports --reports ${reports} \
        --out "${out}/lip_report.json" --max_excluded_fraction "${max_excluded_fraction}"
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
