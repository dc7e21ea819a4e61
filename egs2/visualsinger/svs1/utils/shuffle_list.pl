#!/usr/bin/env perl
# Shuffles lines reproducibly (Fisher-Yates with a seeded generator).
#
#   lines (files or stdin) --> the same lines in a random order (stdout)
#
# Usage: shuffle_list.pl [--srand N] [file ...] > shuffled   (default seed 0)
use strict;
use warnings;
my $seed = 0;
while (@ARGV && $ARGV[0] =~ /^-/) {
    my $o = shift @ARGV;
    if ($o =~ /^--srand=(-?\d+)$/) { $seed = $1; }
    elsif ($o eq '--srand') { $seed = shift @ARGV; }
    elsif ($o eq '--help' || $o eq '-h') { print STDERR "Usage: shuffle_list.pl [--srand N] [file ...] > shuffled\n"; exit 0; }
    else { print STDERR "shuffle_list.pl: unknown option '$o'\n"; exit 1; }
    if (!defined $seed || $seed !~ /^-?\d+$/) { print STDERR "shuffle_list.pl: --srand needs an integer\n"; exit 1; }
}
# A small linear congruential generator, so the order does not depend on perl's build.
my $state = ($seed * 2654435761 + 12345) % 4294967296;
sub next_rand {    # uniform integer in [0, $_[0])
    $state = (1103515245 * $state + 12345) % 2147483648;
    return int(($state / 2147483648) * $_[0]);
}
my @lines = <>;
for (my $i = $#lines; $i > 0; $i--) {
    my $j = next_rand($i + 1);
    @lines[$i, $j] = @lines[$j, $i];
}
print @lines;
