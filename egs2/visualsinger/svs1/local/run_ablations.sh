#!/usr/bin/env bash
# The paper's Tables 1 and 3 and its reference settings 2-4 on this recipe, over training seeds.
# Run after ./run.sh (stages 1-5 and the default stage two must be done):
#   local/run_ablations.sh                                   the defaults (--help lists them)
#   local/run_ablations.sh --systems "performsinger performsinger_single_stage" --seeds "0 1 2 3"
#
#   stage 6 of each (system, seed), up to --jobs at once, one CPU thread each:
#       seed 0 -> <expdir>/svs_<system>  (the one ./run.sh trains; skipped when its .done exists)
#       seed k -> <expdir>/svs_<system>_seed<k> (./run.sh --tag <system>_seed<k> --train_args "--seed k"
#                                             --lip_reader_fit_args "--seed k": the head fit, if any)
#       The stage-one system (--stage_one_system, the baseline) trains from scratch for seed k
#       (--init_from_stage_one false: stage 5's training with another seed); two-stage systems
#       start every seed from the one stage-one model of stage 5.
#   stages 7-8 of all of them in one ./run.sh call (test sets only, none of ./run.sh's diagnostics)
#       -> <expdir>/svs_*/<decode tag>/<set>/scores.json, and <expdir>/RESULTS.md with a table of
#          mean ± sd over the seeds of each system
#   the paper's reference-voice settings (--ref_settings, default 2-4): seed 0 of each system also
#       decodes dump/raw/test_ref<k> (stage 4 makes the sets; stage 7 per system, stage 8 once)
# Every step is a run.sh step with its .done marker: a re-run resumes where it stopped.
set -euo pipefail

systems="stylesinger performsinger performsinger_single_stage sma hpmdubbing hpmdubbing_p"
seeds="0 1 2"
jobs=2
stage_one_system=stylesinger  # name x of conf/train_x.yaml that stage 5 trains (run.sh's --stage_one_config)
expdir=exp    # the recipe's --expdir (one per --stage_one_corpora setting)
run_opts=""   # extra options of every ./run.sh call (e.g. --inference_config conf/decode_ddim10.yaml)
ref_settings="2 3 4"  # reference-voice settings decoded by seed 0 of each system ("" for none)

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (${0##*/}) $*"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --systems) systems=$2; shift 2 ;;
        --seeds) seeds=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --run_opts) run_opts=$2; shift 2 ;;
        --stage_one_system) stage_one_system=$2; shift 2 ;;
        --expdir) expdir=$2; shift 2 ;;
        --ref_settings) ref_settings=$2; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"
                   echo "Options: --systems \"${systems}\" --seeds \"${seeds}\" --jobs ${jobs} --run_opts \"${run_opts}\"" \
                        "--stage_one_system ${stage_one_system} --expdir ${expdir} --ref_settings \"${ref_settings}\""
                   exit 0 ;;
        *) log "Error: unknown option $1 (options: --systems, --seeds, --jobs, --run_opts, --stage_one_system, --expdir," \
               "--ref_settings)"; exit 1 ;;
    esac
done
case "${jobs}" in ''|*[!0-9]*|0) log "Error: --jobs must be a positive integer, got '${jobs}'"; exit 1 ;; esac
for s in ${systems} ${stage_one_system}; do
    [ -f "conf/train_${s}.yaml" ] || { log "Error: conf/train_${s}.yaml not found (--systems and --stage_one_system take names x of conf/train_x.yaml)"; exit 1; }
done
for k in ${seeds}; do
    case "${k}" in ''|*[!0-9]*) log "Error: --seeds takes non-negative integers, got '${k}'"; exit 1 ;; esac
done
for k in ${ref_settings}; do
    case "${k}" in 2|3|4) ;; *) log "Error: --ref_settings takes the paper's settings 2 3 4 (1 is every decode's own), got '${k}'"; exit 1 ;; esac
done

# Options of every ./run.sh call below: where, and which stage one; the decodes add no diagnostics.
common_opts=(--expdir "${expdir}" --stage_one_config "conf/train_${stage_one_system}.yaml")
no_diagnostics=(--lip_controls "" --extra_inference_configs "" --timing_control false)

exp_name() {  # system seed -> exp dir name
    if [ "$2" = 0 ]; then echo "svs_$1"; else echo "svs_$1_seed$2"; fi
}

log "Stage 6 of $(echo ${systems} | wc -w) systems x seeds {${seeds}}, ${jobs} at a time (logs: ${expdir}/<system>/run_ablations.log)"
names=() decode_systems=""
for s in ${systems}; do
    for k in ${seeds}; do
        name=$(exp_name "${s}" "${k}")
        decode_systems+=" ${name}"
        tag_opts=()
        [ "${k}" != 0 ] && tag_opts=(--tag "${s}_seed${k}" --train_args "--seed ${k}" --lip_reader_fit_args "--seed ${k}")
        [ "${k}" != 0 ] && [ "${s}" = "${stage_one_system}" ] && tag_opts+=(--init_from_stage_one false)
        while [ "$(jobs -rp | wc -l)" -ge "${jobs}" ]; do wait -n || true; done
        mkdir -p "${expdir}/${name}"
        # shellcheck disable=SC2086
        ./run.sh --stage 6 --stop_stage 6 --train_config "conf/train_${s}.yaml" --train_nthreads 1 "${common_opts[@]}" \
            "${tag_opts[@]}" ${run_opts} > "${expdir}/${name}/run_ablations.log" 2>&1 &
        names+=("${name}")
        log "started ${name} (pid $!)"
    done
done
wait || true
failed=""
for name in "${names[@]}"; do  # stage 6 leaves <expdir>/<name>/.done only when the training succeeded
    [ -f "${expdir}/${name}/.done" ] || failed+=" ${name}"
done
if [ -n "${failed}" ]; then
    log "Error: stage 6 failed for${failed} (see ${expdir}/<name>/run_ablations.log and ${expdir}/<name>/train.log)"
    exit 1
fi

log "Stages 7-8 of${decode_systems}"
# shellcheck disable=SC2086
./run.sh --stage 7 --stop_stage 8 --decode_systems "${decode_systems# }" --ref_settings "" "${no_diagnostics[@]}" \
    "${common_opts[@]}" ${run_opts}

if [ -n "${ref_settings}" ]; then
    log "Reference settings {${ref_settings}} of seed 0 of each system"
    # shellcheck disable=SC2086
    ./run.sh --stage 4 --stop_stage 4 --ref_settings "${ref_settings}" --lip_controls "" "${common_opts[@]}" ${run_opts}
    ref_systems=""
    for s in ${systems}; do  # extra sets are decoded by the system of --train_config only: one call each
        ref_systems+=" svs_${s}"
        # shellcheck disable=SC2086
        ./run.sh --stage 7 --stop_stage 7 --train_config "conf/train_${s}.yaml" --decode_systems "svs_${s}" \
            --ref_settings "${ref_settings}" "${no_diagnostics[@]}" "${common_opts[@]}" ${run_opts}
    done
    # shellcheck disable=SC2086
    ./run.sh --stage 8 --stop_stage 8 --decode_systems "${ref_systems# }" --ref_settings "${ref_settings}" \
        "${no_diagnostics[@]}" "${common_opts[@]}" ${run_opts}
fi
log "Done: ${expdir}/RESULTS.md"
