#!/usr/bin/env bash
# Copies a data directory, optionally renaming utterances and speakers.
#
#   src/ --(utt id -> <utt-prefix>id<utt-suffix>, speaker -> <spk-prefix>spk<spk-suffix>,
#           re-sort, rebuild spk2utt; recording ids unchanged)--> dest/ --> validate_data_dir.sh
# dest must be absent or hold no tables unless --overwrite true (old tables -> dest/.backup/).
set -euo pipefail

utt_prefix=""
utt_suffix=""
spk_prefix=""
spk_suffix=""
overwrite=false
validate_opts=""
help_message="Usage: $0 [options] <src-data-dir> <dest-data-dir>
Options:
  --utt-prefix P --utt-suffix S   rename utterances
  --spk-prefix P --spk-suffix S   rename speakers (use the same prefix as --utt-prefix to keep
                                  utt2spk sorted by speaker)
  --overwrite true|false          replace the tables of a non-empty dest (default false)
  --validate-opts \"...\"           options for validate_data_dir.sh (default: inferred)"
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"
if [ $# -ne 2 ]; then
    echo "${help_message}" >&2
    exit 1
fi
src=${1%/}
dest=${2%/}
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ -d "${src}" ] || { echo "$0: no such directory: ${src}" >&2; exit 1; }
mkdir -p "${dest}"
[ "$(cd "${src}" && pwd)" != "$(cd "${dest}" && pwd)" ] || { echo "$0: src and dest are the same" >&2; exit 1; }

perl -I"${utils}/lib" -MDataDir -e '
    $SIG{__DIE__} = sub { print STDERR "copy_data_dir.sh: $_[0]"; exit 1 };
    my ($src, $dest, $up, $us, $sp, $ss, $overwrite) = @ARGV;
    my $t = DataDir::load_dir($src);
    die "$src/utt2spk is missing\n" unless exists $t->{utt2spk};
    my %keep = map { $_->[0] => 1 } @{ $t->{utt2spk}{rows} };
    my $lines = DataDir::select_tables($t, \%keep,
        { utt => sub { "$up$_[0]$us" }, spk => sub { "$sp$_[0]$ss" } });
    my @old = DataDir::table_names($dest);
    if (@old) {
        die "$dest already holds tables (" . join(" ", @old) . "); pass --overwrite true to replace them\n"
            unless $overwrite eq "true";
        my $b = DataDir::backup($dest, \@old);
        unlink("$dest/$_") for @old;
        print STDERR "copy_data_dir.sh: replaced the tables of $dest (old ones in $b)\n";
    }
    DataDir::write_dir($dest, $lines);
    printf STDERR "copy_data_dir.sh: copied %d utterances from %s to %s\n", scalar(keys %keep), $src, $dest;
' "${src}" "${dest}" "${utt_prefix}" "${utt_suffix}" "${spk_prefix}" "${spk_suffix}" "${overwrite}"

if [ -z "${validate_opts}" ]; then
    [ -f "${dest}/feats.scp" ] || validate_opts+=" --no-feats"
    [ -f "${dest}/text" ] || validate_opts+=" --no-text"
    [ -f "${dest}/wav.scp" ] || validate_opts+=" --no-wav"
fi
# shellcheck disable=SC2086
"${utils}/validate_data_dir.sh" ${validate_opts} "${dest}"
