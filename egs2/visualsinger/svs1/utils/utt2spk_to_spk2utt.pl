#!/usr/bin/env perl
# utt2spk --> spk2utt
#
#   <utt> <spk> lines (file or stdin) --> <spk> <utt1> <utt2> ... on stdout
# Speakers appear in order of first appearance, utterances in input order.
# Usage: utt2spk_to_spk2utt.pl [utt2spk] > spk2utt
use strict;
use warnings;
if (@ARGV && $ARGV[0] =~ /^--?h/) { print STDERR "Usage: utt2spk_to_spk2utt.pl [utt2spk] > spk2utt\n"; exit 0; }
my (%u, @order);
while (my $line = <>) {
    my @f = split(' ', $line);
    if (@f != 2) {
        print STDERR "utt2spk_to_spk2utt.pl: $ARGV:$.: expected '<utt> <speaker>', got: $line";
        exit 1;
    }
    push @order, $f[1] unless exists $u{ $f[1] };
    push @{ $u{ $f[1] } }, $f[0];
} continue { close ARGV if eof; }
print join(' ', $_, @{ $u{$_} }), "\n" for @order;
