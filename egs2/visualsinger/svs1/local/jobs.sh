# shellcheck shell=bash
# Job helpers of svs.sh (sourced): key-file splits, merged split outputs, a pool of background jobs.
#   split_scps <scp> <dir> <n>           <scp> -> <dir>/keys.{1..n}.scp (utils/split_scp.pl)
#   merge_splits <dir> <name> <n>        <dir>/<name>.{1..n}.scp, concatenated and sorted, on stdout
#   launch <cmd...> / wait_all           at most ${nj} background jobs; ${failed}=1 once one fails
#   check_gpus                           the GPUs of --ngpu / --gpu_inference are visible (else exit 1)
# Reads svs.sh's settings: nj ngpu gpu_inference stage stop_stage python.
# shellcheck disable=SC2154,SC2034  # settings of svs.sh; failed is read by local/decode.sh

split_scps() {
    local scp=$1 dir=$2 n=$3 n_i split_files=""
    for n_i in $(seq "${n}"); do split_files+=" ${dir}/keys.${n_i}.scp"; done
    # shellcheck disable=SC2086
    utils/split_scp.pl "${scp}" ${split_files}
}

merge_splits() {
    local dir=$1 name=$2 n=$3 n_i
    for n_i in $(seq "${n}"); do cat "${dir}/${name}.${n_i}.scp"; done | sort
}

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

wait_all() {
    while [ "${running}" -gt 0 ]; do
        wait -n || failed=1
        running=$((running - 1))
    done
}

check_gpus() {
    _need=${ngpu}
    "${gpu_inference}" && [ ${stop_stage} -ge 7 ] && [ "${_need}" -lt 1 ] && _need=1
    if [ "${_need}" -gt 0 ]; then
        ${python} -m espnet2_ext.utils.device --ngpu "${_need}" --what "svs.sh stages ${stage}-${stop_stage} (--ngpu ${ngpu}, --gpu_inference ${gpu_inference})" || exit 1
    fi
}
