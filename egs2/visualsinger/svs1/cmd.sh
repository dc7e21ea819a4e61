# shellcheck shell=bash
# Job runners used by svs.sh (sourced). Pick the back-end here.
#   local   run.pl:    jobs run on this machine, up to --max-jobs-run at once
#   stdout  stdout.pl: like local, and every job's output is also shown on the terminal
#   slurm   slurm.pl:  jobs go to Slurm with the rules of conf/slurm.conf
# Call sites add their own options, e.g. `${cuda_cmd} --gpu "${ngpu}" exp/log/train.log ...`,
# `${train_cmd} JOB=1:4 log/f0.JOB.log ...`.
cmd_backend=${cmd_backend:-local}

# The runners live in utils/ next to this file; make sure they are found.
_cmd_utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/utils
case ":${PATH}:" in
    *":${_cmd_utils}:"*) ;;
    *) export PATH="${_cmd_utils}:${PATH}" ;;
esac
unset _cmd_utils

if [ "${cmd_backend}" = local ]; then
    export train_cmd="run.pl"        # CPU jobs: feature extraction, lip ROI, statistics
    export cuda_cmd="run.pl"         # training (the call site passes --gpu N)
    export decode_cmd="run.pl"       # decoding, vocoding, scoring
elif [ "${cmd_backend}" = stdout ]; then
    export train_cmd="stdout.pl"
    export cuda_cmd="stdout.pl"
    export decode_cmd="stdout.pl"
elif [ "${cmd_backend}" = slurm ]; then
    export train_cmd="slurm.pl --config conf/slurm.conf --num-threads 2 --mem 8G"
    export cuda_cmd="slurm.pl --config conf/slurm.conf --num-threads 4 --mem 32G"
    export decode_cmd="slurm.pl --config conf/slurm.conf --num-threads 2 --mem 16G"
else
    echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (expected local, stdout or slurm)" >&2
    return 1 2>/dev/null || exit 1
fi
