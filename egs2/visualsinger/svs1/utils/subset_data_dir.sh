#!/usr/bin/env bash
# Writes a subset of a data directory.
#
#   src/ --(choose utterances)--> keep only them in every table, rebuild spk2utt--> dest/
#
# Usage:
#   subset_data_dir.sh [--seed S] <src> <N> <dest>   N utterances chosen at random (seeded)
#   subset_data_dir.sh --first <src> <N> <dest>      the first N utterances (utt2spk order)
#   subset_data_dir.sh --last <src> <N> <dest>       the last N utterances
#   subset_data_dir.sh --utt-list <file> <src> <dest>   utterances listed (first column)
#   subset_data_dir.sh --spk-list <file> <src> <dest>   all utterances of the listed speakers
# Error when N exceeds the number of utterances. dest must be absent or hold no tables unless
# --overwrite true (old tables -> dest/.backup/).
set -euo pipefail

mode=random
list=""
seed=0
overwrite=false
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "$1"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h) usage 0 ;;
        --first) mode=first; shift ;;
        --last) mode=last; shift ;;
        --utt-list|--utt_list) mode=utt-list; list=$2; shift 2 ;;
        --spk-list|--spk_list) mode=spk-list; list=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --overwrite) overwrite=$2; shift 2 ;;
        --*) echo "$0: unknown option $1" >&2; usage 1 ;;
        *) break ;;
    esac
done
case "${mode}" in
    utt-list|spk-list)
        [ $# -eq 2 ] || usage 1
        src=${1%/}; dest=${2%/}; num=0
        [ -f "${list}" ] || { echo "$0: cannot read list ${list}" >&2; exit 1; } ;;
    *)
        [ $# -eq 3 ] || usage 1
        src=${1%/}; num=$2; dest=${3%/}
        [[ "${num}" =~ ^[0-9]+$ ]] || { echo "$0: N must be a number, got '${num}'" >&2; exit 1; } ;;
esac
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ -d "${src}" ] || { echo "$0: no such directory: ${src}" >&2; exit 1; }
mkdir -p "${dest}"
[ "$(cd "${src}" && pwd)" != "$(cd "${dest}" && pwd)" ] || { echo "$0: src and dest are the same" >&2; exit 1; }

perl -I"${utils}/lib" -MDataDir -e '
    $SIG{__DIE__} = sub { print STDERR "subset_data_dir.sh: $_[0]"; exit 1 };
    my ($src, $dest, $mode, $num, $list, $seed, $overwrite, $shuffle) = @ARGV;
    my $t = DataDir::load_dir($src);
    die "$src/utt2spk is missing\n" unless exists $t->{utt2spk};
    my @utts = map { $_->[0] } @{ $t->{utt2spk}{rows} };
    my @chosen;
    if ($mode eq "utt-list" || $mode eq "spk-list") {
        open(my $fh, "<", $list) or die "cannot read $list: $!\n";
        my %want;
        while (<$fh>) { my ($k) = split; $want{$k} = 1 if defined $k; }
        my $col = $mode eq "utt-list" ? 0 : 1;
        @chosen = map { $_->[0] } grep { $want{ (split(" ", "$_->[0] $_->[1]"))[$col] } } @{ $t->{utt2spk}{rows} };
        my %have = map { ($mode eq "utt-list" ? $_->[0] : $_->[1]) => 1 } @{ $t->{utt2spk}{rows} };
        my @unknown = grep { !$have{$_} } sort keys %want;
        printf STDERR "subset_data_dir.sh: warning: %d id(s) of %s are not in %s (first: %s)\n",
            scalar(@unknown), $list, $src, $unknown[0] if @unknown;
    } else {
        die "asked for $num utterances but $src has only " . scalar(@utts) . "\n" if $num > @utts;
        if ($mode eq "first") { @chosen = @utts[0 .. $num - 1]; }
        elsif ($mode eq "last") { @chosen = @utts[@utts - $num .. $#utts]; }
        else {
            my @sh = split /\n/, `printf "%s\\n" @utts | $shuffle --srand $seed`;
            die "shuffle failed\n" if $? != 0;
            @chosen = @sh[0 .. $num - 1];
        }
    }
    die "the subset of $src is empty\n" unless @chosen;
    my %keep = map { $_ => 1 } @chosen;
    my $lines = DataDir::select_tables($t, \%keep, {});
    my @old = DataDir::table_names($dest);
    if (@old) {
        die "$dest already holds tables (" . join(" ", @old) . "); pass --overwrite true to replace them\n"
            unless $overwrite eq "true";
        my $b = DataDir::backup($dest, \@old);
        unlink("$dest/$_") for @old;
        print STDERR "subset_data_dir.sh: replaced the tables of $dest (old ones in $b)\n";
    }
    DataDir::write_dir($dest, $lines);
    printf STDERR "subset_data_dir.sh: %d of %d utterances of %s -> %s\n",
        scalar(@chosen), scalar(@utts), $src, $dest;
' "${src}" "${dest}" "${mode}" "${num}" "${list}" "${seed}" "${overwrite}" "${utils}/shuffle_list.pl"

opts=()
[ -f "${dest}/feats.scp" ] || opts+=(--no-feats)
[ -f "${dest}/text" ] || opts+=(--no-text)
[ -f "${dest}/wav.scp" ] || opts+=(--no-wav)
"${utils}/validate_data_dir.sh" "${opts[@]}" "${dest}"
