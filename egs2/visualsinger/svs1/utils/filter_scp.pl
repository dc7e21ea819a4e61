#!/usr/bin/env perl
# Keeps (or with --exclude drops) the lines whose key is listed.
#
#   id_list (first column) + in.scp (file or stdin) --> matching lines of in.scp on stdout
#
# Usage: filter_scp.pl [--exclude] [-f N] id_list [in.scp] > out.scp
#   -f N       compare field N of in.scp (1-based, default 1) with the ids
#   --exclude  keep the lines whose key is NOT in id_list
use strict;
use warnings;
sub usage {
    open(my $fh, '<', $0) or die;
    while (<$fh>) { next if $. == 1; last unless /^#/; s/^# ?//; print STDERR $_; }
    exit($_[0]);
}
my ($exclude, $field) = (0, 1);
while (@ARGV && $ARGV[0] =~ /^-/) {
    my $o = shift @ARGV;
    if ($o eq '--exclude') { $exclude = 1; }
    elsif ($o eq '-f') {
        $field = shift @ARGV // usage(1);
        if ($field !~ /^[1-9]\d*$/) { print STDERR "filter_scp.pl: -f needs a positive integer\n"; exit 1; }
    } elsif ($o eq '--help' || $o eq '-h') { usage(0); }
    else { print STDERR "filter_scp.pl: unknown option '$o'\n"; exit 1; }
}
usage(1) if @ARGV < 1 || @ARGV > 2;
my $list = shift @ARGV;
open(my $fh, '<', $list) or do { print STDERR "filter_scp.pl: cannot read '$list': $!\n"; exit 1; };
my %ids;
while (<$fh>) { my ($k) = split; $ids{$k} = 1 if defined $k; }
close($fh);
while (my $line = <>) {
    my @f = split(' ', $line);
    next unless @f;
    my $k = $f[$field - 1];
    my $in = defined $k && $ids{$k};
    print $line if ($in xor $exclude);
}
