#!/usr/bin/env perl
# Local parallel job runner with the Kaldi `run.pl` interface.
#
#   run.pl [options] [JOB=1:N] LOG CMD [ARGS...]
#
#   JOB=a:b ----> for each j in a..b (at most --max-jobs-run at once):
#                   LOG and CMD with JOB -> j --> bash -c "set -o pipefail; CMD" >> LOG 2>&1
#   all done ---> exit 0, or exit 1 naming every failed job and its log
#
# Each log holds: the command line, the start time, the job's stdout+stderr, the end time, the
# elapsed seconds and the exit status. The job variable may have any name (e.g. SPLIT=1:4); the
# single-job form `run.pl LOG CMD` runs one job.
# Arguments without whitespace reach the shell unquoted (so `\|` or '>' act as pipes/redirects,
# Kaldi convention); arguments containing whitespace are single-quoted.
#
# Options:
#   --max-jobs-run N      parallel jobs (default: number of CPUs)
#   --gpu N, --mem X, --num-threads N, --num_threads N, --time T, --partition P, --config F
#                         accepted for compatibility with slurm.pl and ignored
#   --num-nodes N         must be 1 (run.pl is local)
#   --tee true|false      also copy each job's output to stdout (used by stdout.pl)
#   --help
use strict;
use warnings;
use POSIX qw(strftime :sys_wait_h);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use Time::HiRes qw(time);

my $me = "run.pl";
$SIG{__DIE__} = sub { print STDERR $_[0]; exit(1) };

sub usage {
    open(my $fh, '<', $0) or die;
    while (<$fh>) {
        next if $. == 1;
        last unless /^#/;
        s/^# ?//;
        print STDERR $_;
    }
    exit($_[0]);
}

sub ncpu {
    # nproc honours OMP_NUM_THREADS, which path.sh sets to 1 for the jobs' own threads: the
    # number of parallel jobs is the machine's.
    if (open(my $fh, '-|', 'env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null')) {
        my $n = <$fh>;
        close($fh);
        return $1 if defined $n && $n =~ /^(\d+)/;
    }
    return 1;
}

my $max_jobs = ncpu();
my $tee = 0;
my %ignored = map { $_ => 1 } qw(gpu mem num_threads time partition config);

while (@ARGV && $ARGV[0] =~ /^--?/) {
    my $opt = shift @ARGV;
    usage(0) if $opt eq '--help' || $opt eq '-h';
    my ($name, $val);
    if ($opt =~ /^--([\w-]+)=(.*)$/s) { ($name, $val) = ($1, $2); }
    elsif ($opt =~ /^--([\w-]+)$/) {
        $name = $1;
        die "$me: option $opt needs a value\n" unless @ARGV;
        $val = shift @ARGV;
    } else { die "$me: unknown option '$opt' (see $me --help)\n"; }
    $name =~ s/-/_/g;
    if ($name eq 'max_jobs_run') {
        die "$me: --max-jobs-run needs a positive integer, got '$val'\n" unless $val =~ /^[1-9]\d*$/;
        $max_jobs = $val;
    } elsif ($name eq 'tee') {
        die "$me: --tee needs true or false, got '$val'\n" unless $val =~ /^(true|false)$/;
        $tee = $val eq 'true';
    } elsif ($name eq 'num_nodes') {
        die "$me: --num-nodes $val: run.pl runs jobs on this machine only (use slurm.pl)\n"
            unless $val eq '1';
    } elsif ($ignored{$name}) {
        # accepted and ignored: these only matter to cluster back-ends
    } else {
        die "$me: unknown option '--$name' (see $me --help)\n";
    }
}

my ($jobvar, $first, $last) = (undef, 1, 1);
if (@ARGV && $ARGV[0] =~ /^([A-Za-z_]\w*)=(\d+)(?::(\d+))?$/) {
    ($jobvar, $first, $last) = ($1, $2, defined $3 ? $3 : $2);
    shift @ARGV;
    die "$me: empty job range $jobvar=$first:$last\n" if $last < $first;
} elsif (@ARGV && $ARGV[0] =~ /^[A-Za-z_]\w*=/ && $ARGV[0] !~ m{/}) {
    die "$me: bad job range '$ARGV[0]' (expected e.g. JOB=1:4)\n";
}
usage(1) if @ARGV < 2;
my $logtmpl = shift @ARGV;
die "$me: the log file '$logtmpl' does not contain $jobvar\n"
    if defined $jobvar && $last > $first && index($logtmpl, $jobvar) < 0;

# Build the shell command string (Kaldi quoting convention).
my @parts;
for my $a (@ARGV) {
    if ($a =~ /^\S+$/) { push @parts, $a; }
    else { (my $q = $a) =~ s/'/'\\''/g; push @parts, "'$q'"; }
}
my $cmdtmpl = join(' ', @parts);

sub subst {
    my ($s, $j) = @_;
    $s =~ s/\Q$jobvar\E/$j/g if defined $jobvar;
    return $s;
}

sub now { strftime("%a %b %e %H:%M:%S %Z %Y", localtime) }

# Runs one job in a child process; returns its pid.
sub launch {
    my ($j) = @_;
    my $log = subst($logtmpl, $j);
    my $cmd = subst($cmdtmpl, $j);
    my $dir = dirname($log);
    make_path($dir) unless -d $dir;
    my $pid = fork();
    die "$me: fork failed: $!\n" unless defined $pid;
    return ($pid, $log) if $pid;
    setpgrp(0, 0);
    open(my $fh, '>', $log) or do { print STDERR "$me: cannot write log $log: $!\n"; POSIX::_exit(1); };
    $fh->autoflush(1);
    my $t0 = time();
    print $fh "# $cmd\n# Started at " . now() . "\n#\n";
    close($fh);
    my $status;
    if ($tee) {
        $status = system('bash', '-c', "set -o pipefail; ( $cmd ) < /dev/null 2>&1 | tee -a \"\$0\"", $log);
    } else {
        $status = system('bash', '-c', "set -o pipefail; ( $cmd ) < /dev/null >> \"\$0\" 2>&1", $log);
    }
    my $code = $status == -1 ? 127 : ($status & 127) ? 128 + ($status & 127) : $status >> 8;
    open($fh, '>>', $log) or POSIX::_exit(1);
    printf $fh "# Accounting: time=%d threads=1\n", int(time() - $t0 + 0.5);
    printf $fh "# Ended (code %d) at %s, elapsed time %.1f seconds\n", $code, now(), time() - $t0;
    close($fh);
    POSIX::_exit($code > 255 ? 255 : $code);
}

my %running;    # pid -> [job, log]
my @failed;     # [job, log, code]

# Kill running jobs' process groups when interrupted.
for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub {
        kill('TERM', -$_) for keys %running;
        print STDERR "$me: caught SIG$sig, stopped " . scalar(keys %running) . " running job(s)\n";
        exit(1);
    };
}

sub reap_one {
    my $pid = waitpid(-1, 0);
    return if $pid <= 0 || !exists $running{$pid};
    my ($j, $log) = @{ delete $running{$pid} };
    my $code = $? >> 8;
    push @failed, [$j, $log, $code] if $? != 0;
}

for my $j ($first .. $last) {
    reap_one() while keys(%running) >= $max_jobs;
    my ($pid, $log) = launch($j);
    $running{$pid} = [$j, $log];
}
reap_one() while keys %running;

if (@failed) {
    @failed = sort { $a->[0] <=> $b->[0] } @failed;
    my $n = $last - $first + 1;
    if (defined $jobvar) {
        printf STDERR "$me: %d / %d failed job(s) (%s=%s):\n", scalar(@failed), $n, $jobvar,
            join(',', map { $_->[0] } @failed);
    } else {
        print STDERR "$me: job failed:\n";
    }
    printf STDERR "  exit code %d, log is in %s\n", $_->[2], $_->[1] for @failed;
    exit(1);
}
exit(0);
