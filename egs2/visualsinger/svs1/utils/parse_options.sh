#!/usr/bin/env bash
# Kaldi-style command-line option parser, meant to be *sourced* by a script:
#
#   foo_bar=default          # every option is a shell variable defined before sourcing
#   help_message="usage: $0 [options] <arg>"
#   . utils/parse_options.sh  # consumes the leading --options from "$@"
#
#   caller "$@" --> [ --config FILE ... ] --> [ --foo-bar VALUE | --foo_bar=VALUE ... ] --> "$@" (rest)
#
# Semantics:
#   --foo-bar VALUE, --foo_bar VALUE, --foo-bar=VALUE  set foo_bar, which must already be defined;
#                                   an undefined name is an error that names the option.
#   If foo_bar currently holds true/false, VALUE must be true or false.
#   --config FILE                   read first (lower priority than the command line, left to right):
#                                   lines `name=value` (shell syntax) and `# comments`; each name
#                                   must be a defined variable (errors name FILE and line).
#   --help, -h                      print the caller's $help_message on stderr and exit 0.
#   --                              ends the options; parsing also stops at the first non-option.
# Run directly (not sourced) with --help it prints this usage.

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'
    [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]] && exit 0
    echo "parse_options.sh: this file must be sourced: '. utils/parse_options.sh'" >&2
    exit 1
fi

# __po_fail MESSAGE: print and leave the caller (exit, since the caller is a script).
__po_fail() {
    echo "$0: $*" >&2
    exit 1
}

# __po_set NAME VALUE ORIGIN: assign NAME=VALUE after checking NAME exists and boolean-ness.
__po_set() {
    local __po_name=$1 __po_value=$2 __po_origin=$3
    if [[ ! "${__po_name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
        __po_fail "${__po_origin}: '${__po_name}' is not a valid option name"
    fi
    if [[ -z "${!__po_name+defined}" ]]; then
        __po_fail "${__po_origin}: unknown option (no variable '${__po_name}' is defined in $0; see $0 --help)"
    fi
    local __po_old=${!__po_name}
    if [[ "${__po_old}" == "true" || "${__po_old}" == "false" ]] &&
        [[ "${__po_value}" != "true" && "${__po_value}" != "false" ]]; then
        __po_fail "${__po_origin}: expected true or false, got '${__po_value}'"
    fi
    printf -v "${__po_name}" '%s' "${__po_value}"
}

# __po_read_config FILE: apply its `name=value` lines.
__po_read_config() {
    local __po_file=$1 __po_line __po_lineno=0 __po_name __po_rhs __po_value
    [[ -r "${__po_file}" && -f "${__po_file}" ]] ||
        __po_fail "--config: cannot read config file '${__po_file}'"
    while IFS= read -r __po_line || [[ -n "${__po_line}" ]]; do
        __po_lineno=$((__po_lineno + 1))
        __po_line=${__po_line%$'\r'}
        [[ "${__po_line}" =~ ^[[:space:]]*(#.*)?$ ]] && continue
        if [[ "${__po_line}" =~ ^[[:space:]]*(--)?([A-Za-z_][A-Za-z0-9_-]*)[[:space:]]*=(.*)$ ]]; then
            __po_name=${BASH_REMATCH[2]//-/_}
            __po_rhs=${BASH_REMATCH[3]}
            # The value is read like a shell assignment (quotes and $VARS, as when sourced).
            if ! eval "__po_value=${__po_rhs}" 2>/dev/null; then
                __po_fail "${__po_file}:${__po_lineno}: cannot parse the value in '${__po_line}'"
            fi
            __po_set "${__po_name}" "${__po_value}" "${__po_file}:${__po_lineno}"
        else
            __po_fail "${__po_file}:${__po_lineno}: expected 'name=value', got '${__po_line}'"
        fi
    done < "${__po_file}"
}

# Pass 1: config files, in order.
__po_args=("$@")
for ((__po_i = 0; __po_i < ${#__po_args[@]}; __po_i++)); do
    __po_a=${__po_args[__po_i]}
    case "${__po_a}" in
        --) break ;;
        --config)
            (( __po_i + 1 < ${#__po_args[@]} )) || __po_fail "--config: missing file argument"
            __po_i=$((__po_i + 1))
            __po_read_config "${__po_args[__po_i]}" ;;
        --config=*) __po_read_config "${__po_a#--config=}" ;;
        --*=*) ;;
        --*) __po_i=$((__po_i + 1)) ;;
        *) break ;;
    esac
done

# Pass 2: command-line options (higher priority).
while (( $# > 0 )); do
    case "$1" in
        --) shift; break ;;
        --help|-h)
            if [[ -n "${help_message:-}" ]]; then
                printf '%s\n' "${help_message}" >&2
            else
                echo "$0: no help message defined" >&2
            fi
            exit 0 ;;
        --config) shift 2 ;;
        --config=*) shift ;;
        --*=*)
            __po_n=${1%%=*}; __po_n=${__po_n#--}
            __po_set "${__po_n//-/_}" "${1#*=}" "option $1"
            shift ;;
        --?*)
            (( $# >= 2 )) || __po_fail "option $1: missing value"
            __po_n=${1#--}
            __po_set "${__po_n//-/_}" "$2" "option $1"
            shift 2 ;;
        *) break ;;
    esac
done

unset __po_args __po_i __po_a __po_n
unset -f __po_set __po_read_config __po_fail
true
