# Kaldi-style data directory: reading, checking and rewriting its keyed tables.
#
#   data/<set>/ --load_dir--> { file -> {kind, rows=[[key, rest, lineno]]} }
#        |                           |
#        |              validate(): sorted (LC_ALL=C byte order), unique keys, no empty lines,
#        |                          same utterance set everywhere, spk2utt == utt2spk, ...
#        |              select()/write_dir(): keep an utterance subset, rename keys,
#        |                          rebuild spk2utt, write each file atomically (tmp + rename)
#        v
#   used by validate_data_dir.sh, fix_data_dir.sh, combine_data.sh, copy_data_dir.sh,
#   subset_data_dir.sh
#
# Table kinds, by file name:
#   spk:  spk2utt, spk2gender, cmvn.scp, other spk2* (keyed by speaker)
#   reco: reco2file_and_channel, reco2dur, and wav.scp when `segments` exists (keyed by recording)
#   utt:  every other regular file (wav.scp, text, utt2spk, label, score.scp, video.scp,
#         pitch.scp, spembs.scp, lip.scp, segments, utt2*, feats.scp, ...)
#   not tables (ignored): hidden files, directories, names with extensions
#         .json .yaml .yml .log .txt .md .npy .sh .py .conf .tmp .bak .done, feats_type,
#         audio_format, frame_shift.
package DataDir;
use strict;
use warnings;
use File::Basename qw(basename dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);

my %NOT_TABLE = map { $_ => 1 } qw(feats_type audio_format frame_shift);
my $SKIP_EXT = qr/\.(json|ya?ml|log|txt|md|npy|sh|py|conf|tmp|bak|done)$/;

# kind(NAME, HAS_SEGMENTS) -> 'utt' | 'spk' | 'reco' | undef
sub kind {
    my ($name, $has_segments) = @_;
    return undef if $name =~ /^\./ || $NOT_TABLE{$name} || $name =~ $SKIP_EXT;
    return 'spk' if $name =~ /^spk2/ || $name eq 'cmvn.scp';
    return 'reco' if $name =~ /^reco2/;
    return 'reco' if $name eq 'wav.scp' && $has_segments;
    return 'utt';
}

# table_names(DIR) -> sorted list of table file names in DIR
sub table_names {
    my ($dir) = @_;
    opendir(my $dh, $dir) or die "cannot open data directory '$dir': $!\n";
    my @names = sort grep { -f "$dir/$_" && defined kind($_, 0) } readdir($dh);
    closedir($dh);
    return @names;
}

# read_table(PATH) -> (rows, problems); rows = [[key, rest, lineno]], problems = ["path:line: msg"]
sub read_table {
    my ($path) = @_;
    my (@rows, @problems);
    open(my $fh, '<', $path) or die "cannot read '$path': $!\n";
    my $name = basename($path);
    while (my $line = <$fh>) {
        my $n = $.;
        chomp $line;
        if ($line =~ /\r$/) { push @problems, "$path:$n: carriage return (DOS line ending)"; $line =~ s/\r$//; }
        if ($line =~ /^\s*$/) { push @problems, "$path:$n: empty line"; next; }
        if ($line =~ /^\s/) { push @problems, "$path:$n: line starts with whitespace"; }
        $line =~ s/^\s+//;
        my ($key, $rest) = split(/\s+/, $line, 2);
        $rest = '' unless defined $rest;
        $rest =~ s/\s+$//;
        if ($rest eq '' && $name ne 'text') {
            push @problems, "$path:$n: only a key ('$key'), no value";
            next;
        }
        push @rows, [$key, $rest, $n];
    }
    close($fh);
    return (\@rows, \@problems);
}

# load_dir(DIR) -> {name -> {kind, path, rows, problems}}
sub load_dir {
    my ($dir) = @_;
    die "data directory '$dir' does not exist\n" unless -d $dir;
    my $has_segments = -f "$dir/segments";
    my %t;
    for my $name (table_names($dir)) {
        my ($rows, $problems) = read_table("$dir/$name");
        $t{$name} = { kind => kind($name, $has_segments), path => "$dir/$name",
                      rows => $rows, problems => $problems };
    }
    return \%t;
}

# spk2utt rows built from utt2spk rows (speakers sorted, utterances in utt2spk order)
sub spk2utt_from_utt2spk {
    my ($utt2spk) = @_;
    my (%u, @order);
    for my $r (@$utt2spk) {
        my $s = $r->[1];
        push @order, $s unless exists $u{$s};
        push @{ $u{$s} }, $r->[0];
    }
    return [map { [$_, join(' ', @{ $u{$_} })] } sort @order];
}

# ------------------------------------------------------------------ validation
# validate(DIR, OPTS) -> list of error messages (empty = valid). OPTS: no_feats, no_text, no_wav,
# no_spk_sort (bools).
sub validate {
    my ($dir, $o) = @_;
    my @err;
    my $t = load_dir($dir);
    my @required = ('utt2spk', 'spk2utt');
    push @required, 'wav.scp' unless $o->{no_wav};
    push @required, 'text' unless $o->{no_text};
    push @required, 'feats.scp' unless $o->{no_feats};
    for my $f (@required) {
        push @err, "$dir/$f: required file is missing" unless exists $t->{$f};
    }

    # Per-file: line problems, field counts, sorted, unique.
    for my $name (sort keys %$t) {
        my $tab = $t->{$name};
        push @err, @{ $tab->{problems} };
        my $prev;
        my %seen;
        for my $r (@{ $tab->{rows} }) {
            my ($k, $rest, $n) = @$r;
            if (exists $seen{$k}) {
                push @err, "$tab->{path}:$n: duplicate key '$k' (first at line $seen{$k})";
            } elsif (defined $prev && ($prev cmp $k) > 0) {
                push @err, "$tab->{path}:$n: not sorted (LC_ALL=C): '$k' comes after '$prev'";
            }
            $seen{$k} //= $n;
            $prev = $k;
            my @f = split /\s+/, $rest;
            if (($name eq 'utt2spk' || $name =~ /^utt2(dur|num_frames|num_samples)$/) && @f != 1) {
                push @err, "$tab->{path}:$n: expected 2 fields, got " . (@f + 1);
            }
            if ($name =~ /^utt2(dur|num_frames|num_samples)$/ && $f[0] !~ /^\d+(\.\d*)?([eE][-+]?\d+)?$/) {
                push @err, "$tab->{path}:$n: value '$f[0]' is not a non-negative number";
            }
            if ($name eq 'segments') {
                if (@f != 3 || $f[1] !~ /^[\d.]+$/ || $f[2] !~ /^-?[\d.]+$/) {
                    push @err, "$tab->{path}:$n: expected '<utt> <recording> <start> <end>'";
                } elsif ($f[2] != -1 && $f[2] <= $f[1]) {
                    push @err, "$tab->{path}:$n: end $f[2] <= start $f[1]";
                }
            }
        }
    }
    return @err unless exists $t->{utt2spk};

    # Utterance sets.
    my @uttlist = map { $_->[0] } @{ $t->{utt2spk}{rows} };
    my %utts = map { $_ => 1 } @uttlist;
    for my $name (sort keys %$t) {
        next unless $t->{$name}{kind} eq 'utt' && $name ne 'utt2spk';
        push @err, set_diff($t->{$name}, \%utts, "utt2spk", "utterance");
    }

    # Speakers.
    my @spk_rows = @{ $t->{utt2spk}{rows} };
    my %spks = map { $_->[1] => 1 } @spk_rows;
    if (exists $t->{spk2utt}) {
        my %want = map { $_->[0] => $_->[1] } @{ spk2utt_from_utt2spk(\@spk_rows) };
        my %have;
        for my $r (@{ $t->{spk2utt}{rows} }) {
            my ($s, $list, $n) = @$r;
            $have{$s} = 1;
            if (!exists $want{$s}) {
                push @err, "$t->{spk2utt}{path}:$n: speaker '$s' has no utterance in utt2spk";
            } elsif (join(' ', sort split(/\s+/, $list)) ne join(' ', sort split(/\s+/, $want{$s}))) {
                push @err, "$t->{spk2utt}{path}:$n: utterances of speaker '$s' differ from utt2spk "
                    . "(spk2utt: $list; utt2spk: $want{$s}); rebuild it with utils/utt2spk_to_spk2utt.pl";
            }
        }
        for my $s (sort keys %want) {
            push @err, "$t->{spk2utt}{path}: speaker '$s' of utt2spk is missing" unless $have{$s};
        }
    }
    if (!$o->{no_spk_sort}) {
        my $prev;
        for my $r (@spk_rows) {
            if (defined $prev && ($prev cmp $r->[1]) > 0) {
                push @err, "$t->{utt2spk}{path}:$r->[2]: not sorted by speaker too ('$r->[1]' after "
                    . "'$prev'): utterance ids should start with the speaker id (or use --no-spk-sort)";
                last;
            }
            $prev = $r->[1];
        }
    }
    for my $name (sort keys %$t) {
        next unless $t->{$name}{kind} eq 'spk' && $name ne 'spk2utt';
        for my $r (@{ $t->{$name}{rows} }) {
            push @err, "$t->{$name}{path}:$r->[2]: speaker '$r->[0]' is not in utt2spk"
                unless $spks{$r->[0]};
        }
    }

    # Recordings (with segments).
    if (exists $t->{segments} && exists $t->{'wav.scp'}) {
        my %recos = map { $_->[0] => 1 } @{ $t->{'wav.scp'}{rows} };
        my %used;
        for my $r (@{ $t->{segments}{rows} }) {
            my ($reco) = split /\s+/, $r->[1];
            $used{$reco} = 1;
            push @err, "$t->{segments}{path}:$r->[2]: recording '$reco' is not in wav.scp"
                unless $recos{$reco};
        }
        for my $name (sort keys %$t) {
            next unless $t->{$name}{kind} eq 'reco' && $name ne 'wav.scp';
            push @err, set_diff($t->{$name}, \%recos, "wav.scp", "recording");
        }
    }
    return @err;
}

# set_diff(TABLE, REF_SET, REF_NAME, WHAT) -> messages about keys missing from / extra in TABLE
sub set_diff {
    my ($tab, $ref, $ref_name, $what) = @_;
    my %have = map { $_->[0] => $_->[2] } @{ $tab->{rows} };
    my @missing = grep { !exists $have{$_} } sort keys %$ref;
    my @extra = grep { !$ref->{$_} } sort keys %have;
    my @m;
    if (@missing) {
        push @m, sprintf("%s: %d %s(s) of %s missing (first: %s)", $tab->{path}, scalar(@missing),
            $what, $ref_name, join(', ', @missing[0 .. ($#missing < 2 ? $#missing : 2)]));
    }
    if (@extra) {
        push @m, sprintf("%s:%d: %d %s(s) not in %s (first: %s)", $tab->{path}, $have{ $extra[0] },
            scalar(@extra), $what, $ref_name, join(', ', @extra[0 .. ($#extra < 2 ? $#extra : 2)]));
    }
    return @m;
}

# ------------------------------------------------------------------ writing
# write_atomic(PATH, LINES): write to PATH.tmp.PID then rename.
sub write_atomic {
    my ($path, $lines) = @_;
    my $tmp = "$path.tmp.$$";
    open(my $fh, '>', $tmp) or die "cannot write '$tmp': $!\n";
    print $fh "$_\n" for @$lines;
    close($fh) or die "cannot write '$tmp': $!\n";
    rename($tmp, $path) or die "cannot rename '$tmp' to '$path': $!\n";
}

# unique_rows(ROWS) -> rows with duplicate keys dropped (first kept), plus the number dropped
sub unique_rows {
    my ($rows) = @_;
    my (%seen, @out);
    for my $r (@$rows) { push @out, $r unless $seen{ $r->[0] }++; }
    return (\@out, scalar(@$rows) - scalar(@out));
}

# select_tables(TABLES, KEEP, MAP) -> {name -> [lines]} for the utterances in KEEP (hash),
# renaming utterances with MAP->{utt} and speakers with MAP->{spk} (code refs, optional).
# spk2utt is rebuilt; speaker and recording tables keep only the rows still referenced.
sub select_tables {
    my ($t, $keep, $map) = @_;
    my $mu = $map->{utt} // sub { $_[0] };
    my $ms = $map->{spk} // sub { $_[0] };
    die "utt2spk is missing\n" unless exists $t->{utt2spk};
    my %out;
    my (%spks, %recos);
    for my $name (keys %$t) {
        my $tab = $t->{$name};
        next unless $tab->{kind} eq 'utt';
        my ($rows) = unique_rows($tab->{rows});
        my @sel;
        for my $r (grep { $keep->{ $_->[0] } } @$rows) {
            my ($k, $rest) = ($mu->($r->[0]), $r->[1]);
            if ($name eq 'utt2spk') { $rest = $ms->($rest); $spks{$r->[1]} = 1; }
            if ($name eq 'segments') { my ($reco) = split /\s+/, $rest; $recos{$reco} = 1; }
            push @sel, [$k, $rest];
        }
        $out{$name} = [sort { $a->[0] cmp $b->[0] } @sel];
    }
    $out{spk2utt} = spk2utt_from_utt2spk($out{utt2spk});
    for my $name (keys %$t) {
        my $tab = $t->{$name};
        next if $tab->{kind} eq 'utt' || $name eq 'spk2utt';
        my ($rows) = unique_rows($tab->{rows});
        my @sel;
        if ($tab->{kind} eq 'spk') {
            @sel = map { [$ms->($_->[0]), $_->[1]] } grep { $spks{ $_->[0] } } @$rows;
        } else {
            @sel = map { [$_->[0], $_->[1]] } grep { $recos{ $_->[0] } } @$rows;
        }
        $out{$name} = [sort { $a->[0] cmp $b->[0] } @sel];
    }
    my %lines;
    for my $name (keys %out) {
        $lines{$name} = [map { $_->[1] eq '' ? $_->[0] : "$_->[0] $_->[1]" } @{ $out{$name} }];
    }
    return \%lines;
}

# common_utts(TABLES) -> (hash of utterances present in every utterance table, total in utt2spk)
sub common_utts {
    my ($t) = @_;
    die "utt2spk is missing\n" unless exists $t->{utt2spk};
    my %keep = map { $_->[0] => 1 } @{ $t->{utt2spk}{rows} };
    my $total = scalar(keys %keep);
    for my $name (keys %$t) {
        next unless $t->{$name}{kind} eq 'utt';
        my %have = map { $_->[0] => 1 } @{ $t->{$name}{rows} };
        delete $keep{$_} for grep { !$have{$_} } keys %keep;
    }
    if (exists $t->{segments} && exists $t->{'wav.scp'}) {
        my %recos = map { $_->[0] => 1 } @{ $t->{'wav.scp'}{rows} };
        for my $r (@{ $t->{segments}{rows} }) {
            my ($reco) = split /\s+/, $r->[1];
            delete $keep{ $r->[0] } unless $recos{$reco};
        }
    }
    return (\%keep, $total);
}

# rotate(PATH): if PATH exists, rename it to PATH.<n> (first free n), so nothing is overwritten.
sub rotate {
    my ($path) = @_;
    return unless -e $path;
    my $i = 1;
    $i++ while -e "$path.$i";
    rename($path, "$path.$i") or die "cannot rename '$path': $!\n";
}

# backup(DIR, NAMES) -> backup dir: copy DIR/NAME to DIR/.backup/NAME; an older backup of that
# name is kept as DIR/.backup/NAME.<n>.
sub backup {
    my ($dir, $names) = @_;
    my $b = "$dir/.backup";
    make_path($b) unless -d $b;
    for my $name (@$names) {
        my $dst = "$b/$name";
        rotate($dst);
        copy("$dir/$name", "$dst.tmp.$$") or die "cannot back up '$dir/$name': $!\n";
        rename("$dst.tmp.$$", $dst) or die "cannot rename '$dst.tmp.$$': $!\n";
    }
    return $b;
}

# changed(DIR, LINES) -> names in LINES whose file content in DIR differs (or is missing)
sub changed {
    my ($dir, $lines) = @_;
    my @out;
    for my $name (sort keys %$lines) {
        my $want = join('', map { "$_\n" } @{ $lines->{$name} });
        my $have;
        if (open(my $fh, '<', "$dir/$name")) { local $/; $have = <$fh>; close($fh); }
        push @out, $name unless defined $have && $have eq $want;
    }
    return @out;
}

# write_dir(DIR, LINES): write every table of LINES ({name -> [lines]}) atomically.
sub write_dir {
    my ($dir, $lines) = @_;
    make_path($dir) unless -d $dir;
    write_atomic("$dir/$_", $lines->{$_}) for sort keys %$lines;
}

1;
