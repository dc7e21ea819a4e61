#!/usr/bin/env perl
# Slurm job runner with the run.pl interface.
#
#   slurm.pl [options] [JOB=1:N] LOG CMD [ARGS...]
#
#   options --(conf/slurm.conf rules)--> sbatch flags
#   LOG, CMD --> job script LOGDIR/q/<name>.sh (substitutes JOB=$SLURM_ARRAY_TASK_ID at run time)
#   sbatch --parsable <flags> --job-name --array=1-N[%M] --output=LOG(JOB->%a) script
#   poll status files (+ squeue / sacct) until every task ended --> exit 0, or exit 1 naming
#   the failed tasks, their logs and (when Slurm knows it) their Slurm state.
#
# Each LOG holds the command line, start time, the task's stdout+stderr, end time, elapsed
# seconds and exit status (same layout as run.pl).
#
# Options (each must have a rule in the config, see conf/slurm.conf):
#   --gpu N  --mem X  --num-threads N (or --num_threads)  --num-nodes N  --time T  --partition P
#   --max-jobs-run N     at most N array tasks at once (--array=1-N%M)
#   --config FILE        rules file (default: conf/slurm.conf; built-in rules if it is missing)
#   --print-only         print the sbatch command(s) (stdout) and job script (stderr), submit
#                        nothing, write nothing; also enabled by SLURM_PL_PRINT_ONLY=true|1
#   --poll-interval S    seconds between status checks (default 10, or $SLURM_PL_POLL_INTERVAL)
#   --help
#
# Config file lines:
#   command sbatch --export=ALL        the submit command and flags always given
#   option NAME=VALUE FLAGS...         flags for that exact value (may be empty)
#   option NAME=* FLAGS...             flags for any other value; $0 is replaced by the value
#   default NAME=VALUE                 value used when the option is not given
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Basename qw(dirname basename);
use File::Path qw(make_path);
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);

my $me = "slurm.pl";
$SIG{__DIE__} = sub { print STDERR $_[0]; exit(1) };

my $builtin_conf = <<'CONF';
command sbatch --export=ALL
option gpu=0
option gpu=* --gres=gpu:$0
option mem=0
option mem=* --mem=$0
option num_threads=* --cpus-per-task=$0
option num_nodes=1
option num_nodes=* --nodes=$0 --ntasks-per-node=1
option time=* --time=$0
option partition=* --partition=$0
default gpu=0
default num_threads=1
CONF

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

sub shell_quote {
    my ($s) = @_;
    return $s if $s =~ m{^[\w@%+=:,./-]+$};
    (my $q = $s) =~ s/'/'\\''/g;
    return "'$q'";
}

# ---------------------------------------------------------------- options
my %opts;    # name -> value, as given on the command line
my ($config, $max_jobs) = (undef, undef);
my $print_only = ($ENV{SLURM_PL_PRINT_ONLY} // '') =~ /^(1|true|yes)$/i;
my $poll = $ENV{SLURM_PL_POLL_INTERVAL} // 10;

while (@ARGV && $ARGV[0] =~ /^-/) {
    my $opt = shift @ARGV;
    usage(0) if $opt eq '--help' || $opt eq '-h';
    if ($opt eq '--print-only' || $opt eq '--print_only') { $print_only = 1; next; }
    my ($name, $val);
    if ($opt =~ /^--([\w-]+)=(.*)$/s) { ($name, $val) = ($1, $2); }
    elsif ($opt =~ /^--([\w-]+)$/) {
        $name = $1;
        die "$me: option $opt needs a value\n" unless @ARGV;
        $val = shift @ARGV;
    } else { die "$me: unknown option '$opt' (see $me --help)\n"; }
    $name =~ s/-/_/g;
    if ($name eq 'config') { $config = $val; }
    elsif ($name eq 'max_jobs_run') {
        die "$me: --max-jobs-run needs a positive integer, got '$val'\n" unless $val =~ /^[1-9]\d*$/;
        $max_jobs = $val;
    } elsif ($name eq 'poll_interval') {
        die "$me: --poll-interval needs a number, got '$val'\n" unless $val =~ /^\d+(\.\d+)?$/;
        $poll = $val;
    } elsif ($name eq 'print_only') {
        $print_only = $val =~ /^(1|true|yes)$/i;
    } else { $opts{$name} = $val; }
}
die "$me: poll interval must be a number, got '$poll'\n" unless $poll =~ /^\d+(\.\d+)?$/;

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

my @parts;
for my $a (@ARGV) {
    if ($a =~ /^\S+$/) { push @parts, $a; }
    else { (my $q = $a) =~ s/'/'\\''/g; push @parts, "'$q'"; }
}
my $cmdtmpl = join(' ', @parts);

# ---------------------------------------------------------------- config rules -> sbatch flags
my ($conf_name, $conf_text);
if (defined $config) {
    open(my $fh, '<', $config) or die "$me: cannot read config '$config': $!\n";
    local $/;
    ($conf_name, $conf_text) = ($config, <$fh>);
} elsif (-f 'conf/slurm.conf') {
    open(my $fh, '<', 'conf/slurm.conf') or die "$me: cannot read conf/slurm.conf: $!\n";
    local $/;
    ($conf_name, $conf_text) = ('conf/slurm.conf', <$fh>);
} else {
    ($conf_name, $conf_text) = ('(built-in rules)', $builtin_conf);
}

my @command;
my (%exact, %wild, %default);    # name -> {value -> [flags]}, name -> [flags], name -> value
my $ln = 0;
for my $line (split /\n/, $conf_text) {
    $ln++;
    $line =~ s/#.*$//;
    $line =~ s/^\s+|\s+$//g;
    next if $line eq '';
    my ($kw, @rest) = split /\s+/, $line;
    if ($kw eq 'command') {
        die "$me: $conf_name:$ln: 'command' needs the submit program\n" unless @rest;
        @command = @rest;
    } elsif ($kw eq 'option' || $kw eq 'default') {
        my $spec = shift @rest;
        die "$me: $conf_name:$ln: expected '$kw NAME=VALUE ...'\n"
            unless defined $spec && $spec =~ /^([\w-]+)=(\S+)$/;
        (my $name = $1) =~ s/-/_/g;
        my $value = $2;
        if ($kw eq 'default') {
            die "$me: $conf_name:$ln: 'default' takes no flags\n" if @rest;
            $default{$name} = $value;
        } elsif ($value eq '*') { $wild{$name} = [@rest]; }
        else { $exact{$name}{$value} = [@rest]; }
    } else {
        die "$me: $conf_name:$ln: unknown keyword '$kw' (expected command, option or default)\n";
    }
}
die "$me: $conf_name has no 'command' line\n" unless @command;

my %value = (%default, %opts);
my @flags;
for my $name (sort keys %value) {
    my $v = $value{$name};
    my $rule;
    if (exists $exact{$name} && exists $exact{$name}{$v}) { $rule = $exact{$name}{$v}; }
    elsif (exists $wild{$name}) { $rule = $wild{$name}; }
    else {
        (my $o = $name) =~ s/_/-/g;
        die "$me: option --$o $v: no rule 'option $name=$v' or 'option $name=*' in $conf_name\n";
    }
    for my $f (@$rule) { (my $g = $f) =~ s/\$0/$v/g; push @flags, $g; }
}

# ---------------------------------------------------------------- job script
my $cwd = getcwd();
my $logdir = dirname($logtmpl);
my $qdir = "$logdir/q";
(my $name = basename($logtmpl)) =~ s/\.log$//;
if (defined $jobvar) { $name =~ s/\.?\Q$jobvar\E//g; }
$name =~ s/[^\w.-]/_/g;
$name = 'job' if $name eq '';
my $token = sprintf("%d.%d", time(), $$);
my $script = "$qdir/$name.sh";
my $status_prefix = "$qdir/$name.$token";
my $array = defined $jobvar;

(my $out = $logtmpl) =~ s/%/%%/g;
$out =~ s/\Q$jobvar\E/%a/g if $array;

my @sbatch = (@command, '--parsable', @flags, "--job-name=$name");
push @sbatch, "--array=$first-$last" . (defined $max_jobs ? "%$max_jobs" : '') if $array;
push @sbatch, "--output=$out", $script;

my $jv = $array ? $jobvar : '__NO_JOB_VAR__';
my $script_text = <<"SCRIPT";
#!/usr/bin/env bash
# Written by slurm.pl; runs one task of: $logtmpl
cd ${\ shell_quote($cwd)} || exit 1
task=\${SLURM_ARRAY_TASK_ID:-$first}
read -r -d '' cmd_template <<'__SLURM_PL_CMD__'
$cmdtmpl
__SLURM_PL_CMD__
cmd_template=\${cmd_template%\$'\\n'}
cmd=\${cmd_template//$jv/\$task}
t0=\$(date +%s)
echo "# \$cmd"
echo "# Started at \$(date)"
echo "#"
bash -c "set -o pipefail; ( \$cmd )" 2>&1
ret=\$?
t1=\$(date +%s)
echo "# Accounting: time=\$((t1 - t0)) threads=\${SLURM_CPUS_PER_TASK:-1}"
echo "# Ended (code \$ret) at \$(date), elapsed time \$((t1 - t0)) seconds"
echo "\$ret" > ${\ shell_quote($status_prefix)}.\$task.status.tmp &&
    mv ${\ shell_quote($status_prefix)}.\$task.status.tmp ${\ shell_quote($status_prefix)}.\$task.status
exit \$ret
SCRIPT

if ($print_only) {
    print join(' ', map { shell_quote($_) } @sbatch), "\n";
    print STDERR "# job script $script:\n$script_text";
    exit(0);
}

# ---------------------------------------------------------------- submit
make_path($qdir) unless -d $qdir;
for my $t ($first .. $last) {
    (my $l = $logtmpl) =~ s/\Q$jobvar\E/$t/g if $array;
    $l = $logtmpl unless $array;
    my $d = dirname($l);
    make_path($d) unless -d $d;
}
{
    open(my $fh, '>', "$script.tmp") or die "$me: cannot write $script.tmp: $!\n";
    print $fh $script_text;
    close($fh) or die "$me: cannot write $script.tmp: $!\n";
    chmod(0755, "$script.tmp");
    rename("$script.tmp", $script) or die "$me: cannot rename $script.tmp: $!\n";
}
my $submit = join(' ', map { shell_quote($_) } @sbatch);
my $answer = `$submit 2>&1`;
if ($? != 0 || $answer !~ /^(\d+)/m) {
    die "$me: submission failed (exit " . ($? >> 8) . "):\n  $submit\n  $answer";
}
my $jobid = $1;

for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub {
        system('scancel', $jobid);
        print STDERR "$me: caught SIG$sig, cancelled Slurm job $jobid\n";
        exit(1);
    };
}

# ---------------------------------------------------------------- wait
sub log_of { my ($t) = @_; my $l = $logtmpl; $l =~ s/\Q$jobvar\E/$t/g if $array; return $l; }
sub task_id { my ($t) = @_; return $array ? "${jobid}_$t" : $jobid; }

my %code;          # task -> exit code (from the status file)
my %lost;          # task -> slurm state (ended without a status file)
my $gone_polls = 0;
my $warned = 0;
while (1) {
    for my $t ($first .. $last) {
        next if exists $code{$t};
        my $f = "$status_prefix.$t.status";
        next unless -f $f;
        open(my $fh, '<', $f) or next;
        my $c = <$fh>;
        close($fh);
        next unless defined $c && $c =~ /^(\d+)/;
        $code{$t} = $1;
        unlink $f;
    }
    last if keys(%code) == $last - $first + 1;
    my $q = `squeue -h -j $jobid -o %i 2>&1`;
    my $in_queue = $? == 0 && $q =~ /\S/;
    if ($? != 0 && $q !~ /Invalid job id/i) {
        print STDERR "$me: squeue failed ($q); still waiting for job $jobid\n" unless $warned++;
        $in_queue = 1;
    }
    if ($in_queue) { $gone_polls = 0; }
    elsif (++$gone_polls >= 3) {
        # The job left the queue but some tasks never wrote a status file: ask sacct why.
        my $acct = `sacct -n -P -j $jobid -o JobID,State,ExitCode 2>/dev/null`;
        my %state;
        for (split /\n/, $acct) {
            my ($id, $st) = split /\|/;
            $state{$id} = $st if defined $st;
        }
        for my $t ($first .. $last) {
            next if exists $code{$t};
            $lost{$t} = $state{task_id($t)} // 'unknown (no status file, not in squeue)';
        }
        last;
    }
    sleep($poll);
}

my @failed = grep { (exists $code{$_} && $code{$_} != 0) || exists $lost{$_} } ($first .. $last);
if (@failed) {
    my $n = $last - $first + 1;
    if ($array) {
        printf STDERR "$me: %d / %d failed task(s) of Slurm job %s (%s=%s):\n", scalar(@failed), $n,
            $jobid, $jobvar, join(',', @failed);
    } else {
        print STDERR "$me: Slurm job $jobid failed:\n";
    }
    for my $t (@failed) {
        my $why = exists $lost{$t} ? "Slurm state $lost{$t}" : "exit code $code{$t}";
        printf STDERR "  %s, log is in %s\n", $why, log_of($t);
    }
    exit(1);
}
exit(0);
