# shellcheck shell=bash
# Trainings of svs.sh (sourced):
#   collect_stats               stage 4: espnet's feature statistics of ${train_set}/${valid_set} -> ${stats_dir}
#   train_system <config> <exp dir> [trainer option...]
#                               stages 5-6: espnet's trainer (resumable) -> <exp dir>, curves -> <exp dir>/images
#   start_lip_pretrain          stage 5, in the background (pid in lip_pid): pretrain_lip_encoder -> ${expdir}/lip_pretrain
#   finish_lip_pretrain         waits for it; marker ${expdir}/lip_pretrain/.done
#   stage_two_opts              stage 6: the trainer options of ${train_config} in opts: --stage_one_checkpoint
#                               (two-stage systems), the pretrained lip encoder, the fitted lip-reading heads
#   fit_lip_reader_heads <dir> <lip encoder weights>
#                               stage 6: fit_lip_reader -> <dir>/lip_reader.pth
# The data arguments come from espnet2_ext.bin.data_args (the dump streams of
# espnet2_ext/tasks/dump_streams.py; lip.scp when the config's system reads lips).
# Reads svs.sh's settings: data_feats train_set valid_set stats_dir token_list fs fbank_conf python
# train_cmd cuda_cmd ngpu num_nodes train_nthreads nthreads train_args stage_one_config train_config expdir
# single_gpu lip_pretrain_config lip_reader_fit_config lip_reader_fit_args lip_pid init_from_stage_one
# stage_one_exp svs_exp lip_pretrain lip_reader_fit; uses svs.sh's need, conf_get and model_file.
# shellcheck disable=SC2154

collect_stats() {
    local _opts
    _opts=$(${python} -m espnet2_ext.bin.data_args --use stats \
        --train_dir "${data_feats}/${train_set}" --train_shape_file "${data_feats}/${train_set}/text" \
        --valid_dir "${data_feats}/${valid_set}" --valid_shape_file "${data_feats}/${valid_set}/text")
    # shellcheck disable=SC2086
    ${train_cmd} "${stats_dir}/logs/stats.log" \
        ${python} -m espnet2_ext.bin.visual_svs_train --collect_stats true --config "${stage_one_config}" \
            --use_preprocessor true --token_type phn --token_list "${token_list}" \
            --normalize none --pitch_normalize none --energy_normalize none \
            --fs "${fs}" --feats_extract_conf "${fbank_conf}" \
            --batch_type unsorted --batch_size 1 --num_workers 0 --ngpu 0 \
            --output_dir "${stats_dir}" ${_opts}
}

# Trains <config> into <exp dir> with espnet's trainer (resumable), launched by espnet2.bin.launch:
# --ngpu 0: one CPU process; --ngpu N: N processes on this node, DDP (multiprocessing_distributed);
# --num_nodes M (cmd_backend=slurm): one srun task per node, each spawning --ngpu ranks,
# rendezvous through a file in <exp dir> (--dist_launcher slurm, --dist_init_method file://...).
train_system() {
    local config=$1 exp=$2
    shift 2
    local extra=("$@") data_opts threads=${nthreads:-${train_nthreads}} dist_opts=()
    mkdir -p "${exp}"
    data_opts=$(${python} -m espnet2_ext.bin.data_args --use train --config "${config}" \
        --train_dir "${data_feats}/${train_set}" --train_shape_file "${stats_dir}/train/singing_shape" \
        --valid_dir "${data_feats}/${valid_set}" --valid_shape_file "${stats_dir}/valid/singing_shape")
    # several ranks: parameters a batch leaves unused (frozen paths, optional branches) are allowed
    [ $((ngpu * num_nodes)) -gt 1 ] && dist_opts+=(--unused_parameters true)
    log "Training ${config} -> ${exp} (log: ${exp}/train.log)"
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=${threads} ${python} -m espnet2.bin.launch \
        --cmd "${cuda_cmd} --num-threads ${threads}" --log "${exp}/train.log" \
        --ngpu "${ngpu}" --num_nodes "${num_nodes}" --init_file_prefix "${exp}/.dist_init_" \
        --multiprocessing_distributed true -- \
        ${python} -m espnet2_ext.bin.visual_svs_train \
            --config "${config}" --use_preprocessor true --token_type phn --token_list "${token_list}" \
            --fs "${fs}" --feats_extract_conf "${fbank_conf}" \
            --normalize global_mvn --normalize_conf stats_file="${stats_dir}/train/feats_stats.npz" \
            --resume true --output_dir "${exp}" "${dist_opts[@]}" \
            ${data_opts} "${extra[@]}" ${train_args}
    # Training curves once, from the checkpoint (the demo configs turn the per-epoch plots off).
    ${python} -m espnet2_ext.bin.plot_train_stats --exp_dir "${exp}" >> "${exp}/train.log" 2>&1 \
        || log "Warning: could not plot the training curves of ${exp} (see ${exp}/train.log)"
}

start_lip_pretrain() {
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
}

fit_lip_reader_heads() {
    local fit_dir=$1 encoder_weights=$2
    log "Stage 6: Fitting the lip-reading heads on the frozen lip encoder (${lip_reader_fit_config}) -> ${fit_dir} (log: ${fit_dir}/fit.log)"
    mkdir -p "${fit_dir}"
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 ${cuda_cmd} --gpu "${single_gpu}" "${fit_dir}/fit.log" \
        ${python} -m espnet2_ext.bin.fit_lip_reader --train_config "${train_config}" --ngpu "${single_gpu}" \
            --lip_encoder "${encoder_weights}" --token_list "${token_list}" \
            --train_lip_scp "${data_feats}/${train_set}/lip.scp" --train_label "${data_feats}/${train_set}/label" \
            --valid_lip_scp "${data_feats}/${valid_set}/lip.scp" --valid_label "${data_feats}/${valid_set}/label" \
            --config "${lip_reader_fit_config}" --out_dir "${fit_dir}" --overwrite --resume \
            --cache_dir "${expdir}/lip_reader_fits" ${lip_reader_fit_args}
    log "Lip-reading heads: $(grep "done in" "${fit_dir}/fit.log" | tail -n 1 | sed 's/.*INFO //')"
}

finish_lip_pretrain() {
    if ! wait "${lip_pid}"; then
        log "Error: lip-reading pretraining failed: see ${expdir}/lip_pretrain/train.log"
        exit 1
    fi
    touch "${expdir}/lip_pretrain/.done"
    log "Lip-reading pretraining: $(${python} -m espnet2_ext.bin.report_summary --lip_pretrain_log "${expdir}/lip_pretrain/log.json" 2>/dev/null)"
}

stage_two_opts() {
    local stage_one_model encoder_weights fit_needed fit_dir
    opts=()
    if [ "${init_from_stage_one}" = auto ]; then
        init_from_stage_one=$(need "${train_config}" two_stage)
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
    encoder_weights=$(conf_get "${train_config}" svs_conf.lip_encoder_conf.pretrained)
    if [ -z "${encoder_weights}" ] && [ -f "${expdir}/lip_pretrain/lip_encoder.pth" ] && [ "${lip_pretrain}" != false ]; then
        log "Lip encoder initialised from ${expdir}/lip_pretrain/lip_encoder.pth (lip-reading pretraining)"
        opts+=(--svs_conf "lip_encoder_conf.pretrained=${expdir}/lip_pretrain/lip_encoder.pth")
        encoder_weights=${expdir}/lip_pretrain/lip_encoder.pth
    fi
    # A frozen lip-reading head needs weights: fit it on the frozen encoder's cached features
    # (espnet2_ext/lipread/head_fit.py) -> ${svs_exp}/lip_reader/lip_reader.pth, then load it.
    fit_needed=$(need "${train_config}" fit_lip_reader)
    if [ "${lip_reader_fit}" = true ] || { [ "${lip_reader_fit}" = auto ] && [ "${fit_needed}" = true ]; }; then
        fit_dir=${svs_exp}/lip_reader
        if [ -z "${encoder_weights}" ]; then
            log "Error: fitting the lip-reading head of ${train_config} needs lip encoder weights: set lip_encoder_conf.pretrained or run stage 5 (lip-reading pretraining)"
            exit 1
        fi
        if [ -f "${fit_dir}/.done" ]; then
            log "${fit_dir}/.done exists: skipping the lip-reading head fit"
        else
            fit_lip_reader_heads "${fit_dir}" "${encoder_weights}"  # local/train.sh
            touch "${fit_dir}/.done"
        fi
        opts+=(--svs_conf "lip_reader_conf.pretrained=${fit_dir}/lip_reader.pth")
    fi
}
