#!/usr/bin/env bash
# run.pl that also copies every job's output to the terminal (cmd_backend=stdout).
#   stdout.pl [run.pl options] [JOB=1:N] LOG CMD ...  ==  run.pl --tee true ...
exec "$(dirname "${BASH_SOURCE[0]}")/run.pl" --tee true "$@"
