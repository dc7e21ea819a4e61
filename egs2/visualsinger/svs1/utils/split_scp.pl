#!/usr/bin/env perl
# Splits an scp (or any keyed list) into N contiguous pieces of near-equal size.
#
#   in.scp --(by line, or by speaker blocks with --utt2spk)--> out.1.scp ... out.N.scp
#
# Usage:
#   split_scp.pl [--utt2spk FILE] in.scp out.1.scp ... out.N.scp
#   split_scp.pl [--utt2spk FILE] -j N k in.scp out.scp     write only piece k (1-based) of N
# By line: piece sizes differ by at most one, order kept. With --utt2spk, all lines of a speaker
# go to the same piece (a speaker's lines must be contiguous in in.scp, as in a sorted data
# dir), and piece boundaries are put as close to the even split as speakers allow.
# Errors: more pieces than lines (or than speakers), a key missing from utt2spk.
# Each output is written to a temp file and renamed.
use strict;
use warnings;
$SIG{__DIE__} = sub { print STDERR "split_scp.pl: $_[0]"; exit(1) };

sub usage {
    open(my $fh, '<', $0) or die;
    while (<$fh>) { next if $. == 1; last unless /^#/; s/^# ?//; print STDERR $_; }
    exit($_[0]);
}

my ($utt2spk, $nj, $job);
while (@ARGV && $ARGV[0] =~ /^-/) {
    my $o = shift @ARGV;
    if ($o eq '--help' || $o eq '-h') { usage(0); }
    elsif ($o =~ /^--utt2spk=(.+)$/) { $utt2spk = $1; }
    elsif ($o eq '--utt2spk') { $utt2spk = shift @ARGV // usage(1); }
    elsif ($o eq '-j') {
        ($nj, $job) = splice(@ARGV, 0, 2);
        die "-j needs 'N k' with 1 <= k <= N\n"
            unless defined $job && $nj =~ /^\d+$/ && $job =~ /^\d+$/ && $job >= 1 && $job <= $nj;
    } else { die "unknown option '$o' (see --help)\n"; }
}
usage(1) if @ARGV < 2;
my $in = shift @ARGV;
my @outs = @ARGV;
if (defined $nj) { die "with -j give exactly one output file\n" unless @outs == 1; }
my $n = defined $nj ? $nj : scalar(@outs);

open(my $fh, '<', $in) or die "cannot read '$in': $!\n";
my @lines = <$fh>;
close($fh);
die "$in is empty\n" unless @lines;

# Blocks of consecutive lines that must stay together (one line each, or one speaker each).
my @blocks;
if (defined $utt2spk) {
    my %spk;
    open(my $u, '<', $utt2spk) or die "cannot read '$utt2spk': $!\n";
    while (<$u>) {
        my ($k, $s) = split;
        die "$utt2spk:$.: expected '<utt> <speaker>'\n" unless defined $s;
        $spk{$k} = $s;
    }
    close($u);
    my %done;
    my $cur;
    for my $i (0 .. $#lines) {
        my ($k) = split(' ', $lines[$i]);
        die "$in:" . ($i + 1) . ": empty line\n" unless defined $k;
        my $s = $spk{$k};
        die "$in:" . ($i + 1) . ": key '$k' is not in $utt2spk\n" unless defined $s;
        if (!defined $cur || $s ne $cur) {
            die "$in:" . ($i + 1) . ": lines of speaker '$s' are not contiguous (sort the file)\n"
                if $done{$s}++;
            push @blocks, [];
            $cur = $s;
        }
        push @{ $blocks[-1] }, $lines[$i];
    }
    die "cannot split $in into $n pieces: it has only " . scalar(@blocks) . " speaker(s)\n"
        if $n > @blocks;
} else {
    die "cannot split $in into $n pieces: it has only " . scalar(@lines) . " line(s)\n"
        if $n > @lines;
    @blocks = map { [$_] } @lines;
}

# Assign blocks to pieces: cut when the running total is closest to the even share.
my $total = scalar(@lines);
my @pieces = map { [] } 1 .. $n;
my ($p, $count) = (0, 0);
for my $b (0 .. $#blocks) {
    my $size = scalar(@{ $blocks[$b] });
    my $left_blocks = scalar(@blocks) - $b;
    my $left_pieces = $n - $p;
    if ($p < $n - 1 && @{ $pieces[$p] }) {
        my $target = $total * ($p + 1) / $n;
        my $must_cut = $left_blocks <= $left_pieces - 1;
        my $better = abs($count - $target) <= abs($count + $size - $target);
        $p++ if $must_cut || $better;
    }
    push @{ $pieces[$p] }, @{ $blocks[$b] };
    $count += $size;
}

my @targets = defined $nj ? ([$job - 1, $outs[0]]) : map { [$_, $outs[$_]] } 0 .. $#outs;
for my $t (@targets) {
    my ($i, $path) = @$t;
    open(my $o, '>', "$path.tmp.$$") or die "cannot write '$path.tmp.$$': $!\n";
    print $o @{ $pieces[$i] };
    close($o) or die "cannot write '$path.tmp.$$': $!\n";
    rename("$path.tmp.$$", $path) or die "cannot rename to '$path': $!\n";
}
