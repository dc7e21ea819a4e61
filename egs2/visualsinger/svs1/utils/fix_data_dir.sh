#!/usr/bin/env bash
# Repairs a Kaldi-style data directory in place.
#
#   data/<set>/* --copy--> data/<set>/.backup/*   (all original tables, when anything changes; an
#                                                 older backup of the same name is kept as <file>.<n>)
#                --keep utterances present in every utterance table (and, with segments, whose
#                  recording is in wav.scp); drop empty, key-only and duplicate-key lines
#                --sort (LC_ALL=C), rebuild spk2utt, filter speaker/recording tables
#                --> data/<set>/* (each written to a temp file, then renamed)
#                --> validate_data_dir.sh (requirements inferred from the files present)
# Prints how many utterances were kept/removed; the removed ids go to .backup/removed_utts.
set -euo pipefail

help_message="Usage: $0 <data-dir>
Sorts every table, keeps only the utterances present in all utterance tables, rebuilds spk2utt
and backs the originals up in <data-dir>/.backup/."

while [ $# -gt 0 ]; do
    case "$1" in
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
[ -d "${data}" ] || { echo "$0: no such directory: ${data}" >&2; exit 1; }
[ -f "${data}/utt2spk" ] || { echo "$0: ${data}/utt2spk is missing: cannot fix ${data}" >&2; exit 1; }

perl -I"${utils}/lib" -MDataDir -e '
    my ($dir) = @ARGV;
    my $t = DataDir::load_dir($dir);
    my ($keep, $total) = DataDir::common_utts($t);
    my %all = map { $_->[0] => 1 } @{ $t->{utt2spk}{rows} };
    my @removed = sort grep { !$keep->{$_} } keys %all;
    my $lines = DataDir::select_tables($t, $keep, {});
    my @changed = DataDir::changed($dir, $lines);
    if (!@changed) {
        print STDERR "fix_data_dir.sh: $dir: nothing to fix ($total utterances)\n";
        exit 0;
    }
    my $bdir = DataDir::backup($dir, [sort keys %$t]);
    if (@removed) {
        DataDir::rotate("$bdir/removed_utts");
        DataDir::write_atomic("$bdir/removed_utts", \@removed);
    }
    my $dropped = 0;
    $dropped += scalar(@{ $t->{$_}{problems} }) for keys %$t;
    DataDir::write_dir($dir, { map { $_ => $lines->{$_} } @changed });
    printf STDERR "fix_data_dir.sh: %s: kept %d of %d utterances (removed %d%s); rewrote %s; "
        . "originals in %s\n", $dir, scalar(keys %$keep), $total, scalar(@removed),
        (@removed ? ", listed in $bdir/removed_utts" : ""), join(" ", @changed), $bdir;
    print STDERR "fix_data_dir.sh: $dir: dropped or repaired $dropped malformed line(s)\n" if $dropped;
    for my $name (sort keys %$t) {
        my $n = scalar(@{ $t->{$name}{rows} }) - scalar(@{ $lines->{$name} });
        print STDERR "fix_data_dir.sh:   $name: removed $n line(s)\n" if $n > 0;
    }
' "${data}"

opts=()
[ -f "${data}/feats.scp" ] || opts+=(--no-feats)
[ -f "${data}/text" ] || opts+=(--no-text)
[ -f "${data}/wav.scp" ] || opts+=(--no-wav)
"${utils}/validate_data_dir.sh" "${opts[@]}" "${data}"
