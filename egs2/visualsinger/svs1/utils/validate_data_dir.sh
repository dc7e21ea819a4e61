#!/usr/bin/env bash
# Checks a Kaldi-style data directory and names the file (and line) of every problem.
#
#   data/<set>/{utt2spk,spk2utt,wav.scp,text,label,score.scp,video.scp,...} --> errors? exit 1 : exit 0
#
# Checks: required files present (utt2spk, spk2utt, wav.scp, text, feats.scp unless switched off);
# every table sorted by key in LC_ALL=C order with unique keys and no empty or key-only lines;
# the same utterance set in every utterance-keyed table (wav.scp, text, label, score.scp,
# video.scp, pitch.scp, lip.scp, ...; see utils/lib/DataDir.pm for which files are tables);
# spk2utt consistent with utt2spk; utt2spk sorted by speaker too; speaker tables (spk2gender,
# cmvn.scp) only name known speakers; segments well-formed and pointing into wav.scp.
set -euo pipefail

help_message="Usage: $0 [--no-feats] [--no-text] [--no-wav] [--no-spk-sort] [--non-print] <data-dir>
  --no-feats      do not require feats.scp
  --no-text       do not require text
  --no-wav        do not require wav.scp
  --no-spk-sort   do not require utt2spk to be sorted by speaker as well
  --non-print     accepted for compatibility (text is not checked for printable characters)
  --max-errors N  print at most N problems (default 20)"

no_feats=0; no_text=0; no_wav=0; no_spk_sort=0; max_errors=20
while [ $# -gt 0 ]; do
    case "$1" in
        --no-feats) no_feats=1; shift ;;
        --no-text) no_text=1; shift ;;
        --no-wav) no_wav=1; shift ;;
        --no-spk-sort) no_spk_sort=1; shift ;;
        --non-print) shift ;;
        --max-errors) max_errors=$2; shift 2 ;;
        --help|-h) echo "${help_message}" >&2; exit 0 ;;
        --*) echo "$0: unknown option $1" >&2; echo "${help_message}" >&2; exit 1 ;;
        *) break ;;
    esac
done
if [ $# -ne 1 ]; then
    echo "${help_message}" >&2
    exit 1
fi
data=${1%/}
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

exec perl -I"${utils}/lib" -MDataDir -e '
    my ($dir, $nf, $nt, $nw, $ns, $max) = @ARGV;
    my @err = eval { DataDir::validate($dir, { no_feats => $nf, no_text => $nt, no_wav => $nw,
                                                no_spk_sort => $ns }) };
    if ($@) { print STDERR "validate_data_dir.sh: $@"; exit 1; }
    if (@err) {
        print STDERR "validate_data_dir.sh: $dir is not valid (" . scalar(@err) . " problem(s)):\n";
        print STDERR "  $_\n" for @err[0 .. ($#err < $max - 1 ? $#err : $max - 1)];
        print STDERR "  ...\n" if @err > $max;
        exit 1;
    }
    my $n = 0;
    if (open(my $fh, "<", "$dir/utt2spk")) { $n++ while <$fh>; }
    print STDERR "validate_data_dir.sh: $dir is OK ($n utterances)\n";
' "${data}" "${no_feats}" "${no_text}" "${no_wav}" "${no_spk_sort}" "${max_errors}"
