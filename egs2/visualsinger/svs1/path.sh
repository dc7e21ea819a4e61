# shellcheck shell=bash
# Activates the repository's virtual environment (created by `make install` at the top level).
# ESPNET2_EXT_ROOT overrides the repository root (e.g. for a copy of the recipe elsewhere).
_repo_root=${ESPNET2_EXT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
if [ -f "${_repo_root}/.venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "${_repo_root}/.venv/bin/activate"
else
    echo "path.sh: ${_repo_root}/.venv not found: run 'make install' in ${_repo_root}" >&2
    return 1 2>/dev/null || exit 1
fi
export PATH=${PWD}/utils:${PATH}
export LC_ALL=C
export PYTHONIOENCODING=UTF-8
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export NLTK_DATA=${NLTK_DATA:-${_repo_root}/.venv/nltk_data}
