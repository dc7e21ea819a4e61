#!/usr/bin/env perl
# spk2utt --> utt2spk
#
#   <spk> <utt1> <utt2> ... lines (file or stdin) --> <utt> <spk> on stdout, in input order
# Usage: spk2utt_to_utt2spk.pl [spk2utt] > utt2spk
use strict;
use warnings;
if (@ARGV && $ARGV[0] =~ /^--?h/) { print STDERR "Usage: spk2utt_to_utt2spk.pl [spk2utt] > utt2spk\n"; exit 0; }
while (my $line = <>) {
    my ($s, @utts) = split(' ', $line);
    if (!@utts) {
        print STDERR "spk2utt_to_utt2spk.pl: $ARGV:$.: expected '<speaker> <utt> ...', got: $line";
        exit 1;
    }
    print "$_ $s\n" for @utts;
} continue { close ARGV if eof; }
