# shellcheck shell=bash
# Stage 8 of svs.sh (sourced): score_all scores every finished decode dir not yet scored
#   (gt, ${decode_systems} and the stage-one system; the tags ${inference_tag} ${extra_tags} ${control_tag})
#   -> <decode dir>/scores.json, <decode dir>/logs/score.log, <decode dir>/.score.done
#   then ${expdir}/RESULTS.md (make_results_table) and ${expdir}/listening_kit (make_listening_kit).
# Reads svs.sh's settings: expdir data_feats python decode_cmd nj fs n_shift num_plots syncnet_weights
# wavlm_dir decode_systems stage_one_exp inference_tag extra_tags control_tag.
# shellcheck disable=SC2154

score_all() {
    local score_opts decode_dirs="" score_list=${expdir}/score_dirs.txt system dtag dir n n_score n_jobs
    # Reference mel-cepstra / F0 are shared by every system and control set: computed once, cached.
    score_opts="--fs ${fs} --hop_length ${n_shift} --plots ${num_plots} --cache_dir ${expdir}/score_cache"
    [ -n "${syncnet_weights}" ] && score_opts+=" --syncnet_weights ${syncnet_weights}"
    [ -n "${wavlm_dir}" ] && score_opts+=" --wavlm_dir ${wavlm_dir}"
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
        # Line j of score_jobs.txt: the decode dirs of job j, scored by one process whose scorer loads
        # once; each dir's reference is dump/raw/<set>. The dirs go largest first to the job with the
        # least work so far (a dir costs about its utterance count, plus one: an empty dir still costs).
        while read -r dir; do n=0; [ -f "${dir}/wav.scp" ] && n=$(wc -l < "${dir}/wav.scp"); echo "${n} ${dir}"; done \
            < "${score_list}" | sort -k1,1nr -k2,2 \
            | awk -v n="${n_jobs}" '{ b = 0; for (j = 1; j < n; j++) if (load[j] < load[b]) b = j
                                      load[b] += $1 + 1; job[b] = job[b] " " $2 }
                                    END { for (j = 0; j < n; j++) print job[j] }' > "${expdir}/score_jobs.txt"
        # shellcheck disable=SC2016,SC2086
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
}
