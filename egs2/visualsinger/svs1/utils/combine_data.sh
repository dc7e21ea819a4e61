#!/usr/bin/env bash
# Merges data directories into a new one.
#
#   src1/ src2/ ... --(tables present in every source: concatenate; utterance ids must be
#                      unique across sources; speaker/recording rows must agree)-->
#                   --sort, rebuild spk2utt--> dest/ --> validate_data_dir.sh
# A table present in only some sources is skipped with a warning (an error if listed in
# --extra-files). dest must be absent or empty unless --overwrite true (its old tables are then
# backed up in dest/.backup/).
set -euo pipefail

extra_files=""
overwrite=false
skip_fix=false
help_message="Usage: $0 [options] <dest-data-dir> <src-data-dir1> [<src-data-dir2> ...]
Options:
  --extra-files \"f1 f2\"   tables that must exist in every source (error otherwise)
  --overwrite true|false  replace the tables of a non-empty dest (default false)
  --skip-fix true|false   do not validate the result (default false)"
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"
if [ $# -lt 2 ]; then
    echo "${help_message}" >&2
    exit 1
fi
dest=${1%/}
shift
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for src in "$@"; do
    [ -d "${src}" ] || { echo "$0: no such directory: ${src}" >&2; exit 1; }
    [ "$(cd "${src}" && pwd)" != "$(mkdir -p "${dest}" && cd "${dest}" && pwd)" ] ||
        { echo "$0: dest ${dest} is also a source" >&2; exit 1; }
done

perl -I"${utils}/lib" -MDataDir -e '
    $SIG{__DIE__} = sub { print STDERR "combine_data.sh: $_[0]"; exit 1 };
    my ($dest, $extra, $overwrite, @srcs) = @ARGV;
    my @loaded = map { DataDir::load_dir($_) } @srcs;
    my %count;
    for my $t (@loaded) { $count{$_}++ for keys %$t; }
    my %must = map { $_ => 1 } split(" ", $extra);
    my (%merged, %origin);    # name -> {key -> [rest, src]}
    for my $name (sort keys %count) {
        if ($count{$name} < @srcs) {
            die "$name is missing from " . join(", ", map { $srcs[$_] } grep { !exists $loaded[$_]{$name} } 0 .. $#srcs) . "\n"
                if $must{$name} || $name eq "utt2spk";
            print STDERR "combine_data.sh: warning: skipping $name (not in every source)\n";
            next;
        }
    }
    for my $m (keys %must) { die "--extra-files: $m is in no source\n" unless $count{$m}; }
    my %t;
    for my $name (sort grep { $count{$_} == @srcs } keys %count) {
        next if $name eq "spk2utt";
        my (%rows, @rows);
        for my $i (0 .. $#srcs) {
            my $tab = $loaded[$i]{$name};
            die join("\n", @{ $tab->{problems} }) . "\n(fix it first: utils/fix_data_dir.sh $srcs[$i])\n"
                if @{ $tab->{problems} } && $name ne "text";
            for my $r (@{ $tab->{rows} }) {
                my ($k, $rest) = @$r;
                if (exists $rows{$k}) {
                    my ($prest, $pi) = @{ $rows{$k} };
                    if ($tab->{kind} eq "utt") {
                        die "utterance $k of $srcs[$i]/$name is also in $srcs[$pi]/$name\n";
                    }
                    die "$name: key $k differs between $srcs[$pi] and $srcs[$i]\n" if $prest ne $rest;
                    next;
                }
                $rows{$k} = [$rest, $i];
                push @rows, [$k, $rest, scalar(@rows) + 1];
            }
        }
        $t{$name} = { kind => $loaded[0]{$name}{kind}, path => "$dest/$name", rows => \@rows, problems => [] };
    }
    my %keep = map { $_->[0] => 1 } @{ $t{utt2spk}{rows} };
    my $lines = DataDir::select_tables(\%t, \%keep, {});
    my @old = DataDir::table_names($dest);
    if (@old) {
        die "$dest already holds tables (" . join(" ", @old) . "); pass --overwrite true to replace them\n"
            unless $overwrite eq "true";
        my $b = DataDir::backup($dest, \@old);
        unlink("$dest/$_") for @old;
        print STDERR "combine_data.sh: replaced the tables of $dest (old ones in $b)\n";
    }
    DataDir::write_dir($dest, $lines);
    printf STDERR "combine_data.sh: combined %d utterances from %d dirs into %s\n",
        scalar(keys %keep), scalar(@srcs), $dest;
' "${dest}" "${extra_files}" "${overwrite}" "$@"

if [ "${skip_fix}" = false ]; then
    opts=()
    [ -f "${dest}/feats.scp" ] || opts+=(--no-feats)
    [ -f "${dest}/text" ] || opts+=(--no-text)
    [ -f "${dest}/wav.scp" ] || opts+=(--no-wav)
    "${utils}/validate_data_dir.sh" "${opts[@]}" "${dest}"
fi
