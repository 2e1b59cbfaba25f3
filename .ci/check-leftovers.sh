#!/usr/bin/env bash
# Runs COMMAND (the test suite) and fails, listing them, if it left files or processes
# behind. Usage: .ci/check-leftovers.sh COMMAND [ARG...]
#
# COMMAND runs with:
# - TMPDIR and TEST_TMPDIR (gtest's TempDir) set to a fresh directory of this run;
# - SWEEP_LEFTOVER_TAG=<unique>, inherited by every process the tests start (Slurm node
#   jobs too: sbatch exports the environment);
# - where the mount namespace allows it (root), a private /tmp: a directory of this run
#   mounted on /tmp, so what the tests write to /tmp is told apart from what other users
#   of the host write there (SWEEP_LEFTOVER_PRIVATE_TMP=0, or a checkout under /tmp: not).
#   Elsewhere /tmp itself is compared before and after.
#
# After COMMAND ends (and up to SWEEP_LEFTOVER_GRACE_S seconds, default 15, for
# processes that are still exiting), these are leftovers:
# - a process carrying this run's tag, or naming this run's directory in its command line
#   (workers started over SSH do not inherit the environment);
# - a new process of the SSH test users (sweepkey, sweeppass, .ci/start-sshd.sh);
# - a Slurm job submitted from this checkout that is still queued;
# - anything in the run's TMPDIR or private /tmp; a new entry in the host's /tmp owned by
#   the SSH test users (or any new entry at all without a private /tmp); a new entry in
#   the SSH test users' home directories.
# Leftovers are listed, the run's processes killed (by pid) and its directories removed,
# and the script exits 1; else it exits with COMMAND's status.
#
# On a host shared with other users of the SSH test accounts (SWEEP_LEFTOVER_SHARED_HOST=1),
# what cannot be told apart from their doing (new processes, /tmp entries and home files of
# the SSH test users) is shown as a warning instead; CI runs alone and counts it all.
set -uo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

readonly GRACE_S="${SWEEP_LEFTOVER_GRACE_S:-15}"
readonly SHARED_HOST="${SWEEP_LEFTOVER_SHARED_HOST:-0}"
readonly TEST_USERS="sweepkey sweeppass"
readonly CHECKOUT="$(cd "$(dirname "$0")/.." && pwd)"
readonly TAG="sweep-leftover-$$-$(date +%s%N)"
# Not under /tmp: the private /tmp is mounted over it, and Slurm jobs and SSH sessions
# (outside the mount namespace) must reach the run's TMPDIR by the same path.
RUN_DIR="$(mktemp -d "${SWEEP_LEFTOVER_BASE:-/var/tmp}/sweep-tests.XXXXXX")" || exit 2
readonly RUN_DIR
readonly RUN_TMPDIR="$RUN_DIR/tmpdir"
readonly PRIVATE_TMP="$RUN_DIR/tmp"
readonly STATE="$RUN_DIR.state"
mkdir -p "$RUN_TMPDIR" "$PRIVATE_TMP" "$STATE"
# Like /tmp: the SSH test users create their work directories under TMPDIR.
chmod 0755 "$RUN_DIR"
chmod 1777 "$RUN_TMPDIR" "$PRIVATE_TMP"

test_user_pids() {
  local user
  for user in $TEST_USERS; do
    id "$user" >/dev/null 2>&1 && pgrep -u "$user" 2>/dev/null
  done | sort
}

test_user_homes() {
  local user home
  for user in $TEST_USERS; do
    home="$(getent passwd "$user" | cut -d: -f6)"
    [ -n "$home" ] && [ -d "$home" ] && find "$home" -mindepth 1 -maxdepth 2 2>/dev/null
  done | sort
}

# Entries of the host's /tmp, with their owner.
host_tmp_entries() {
  find /tmp -mindepth 1 -maxdepth 1 -printf '%u %p\n' 2>/dev/null | sort
}

# Queued Slurm jobs submitted from this checkout (their working directory is in it).
slurm_jobs() {
  command -v squeue >/dev/null 2>&1 || return 0
  squeue --noheader --format='%i %j %T %Z' 2>/dev/null | awk -v dir="$CHECKOUT" \
    'index($4, dir) == 1 || index($4, ENVIRON["RUN_DIR_FOR_AWK"]) == 1' | sort
}
export RUN_DIR_FOR_AWK="$RUN_DIR"

# Pids of processes that belong to this run: the tag in the environment, or the run's
# directory on the command line (the pattern's [.] keeps grep from matching itself).
readonly RUN_DIR_PATTERN="$(sed 's/[.]/[.]/g' <<<"$RUN_DIR")/"
run_pids() {
  {
    grep -lzx "SWEEP_LEFTOVER_TAG=$TAG" /proc/[0-9]*/environ
    grep -lzE "$RUN_DIR_PATTERN" /proc/[0-9]*/cmdline
  } 2>/dev/null | cut -d/ -f3 | sort -u
}

describe_pids() {
  local pid
  for pid in "$@"; do
    ps -o pid=,user=,etime=,args= -p "$pid" 2>/dev/null
  done
}

test_user_pids >"$STATE/users.before"
test_user_homes >"$STATE/homes.before"
host_tmp_entries >"$STATE/tmp.before"
slurm_jobs >"$STATE/jobs.before"

PRIVATE=0
# A checkout under /tmp (a clone in /tmp/ci-try) would vanish under the private /tmp, with
# its build; then /tmp itself is compared before and after.
case "$CHECKOUT/ $(pwd -P)/" in /tmp/* | *" /tmp/"*) UNDER_TMP=1 ;; *) UNDER_TMP=0 ;; esac
if [ "${SWEEP_LEFTOVER_PRIVATE_TMP:-1}" = 1 ] && [ "$UNDER_TMP" = 0 ] && [ "$(id -u)" -eq 0 ] &&
  command -v unshare >/dev/null 2>&1 && unshare --mount --propagation private true 2>/dev/null; then
  PRIVATE=1
fi
echo "check-leftovers: running the command (TMPDIR=$RUN_TMPDIR, private /tmp: $([ $PRIVATE = 1 ] && echo yes || echo no))"

run_env=(env "SWEEP_LEFTOVER_TAG=$TAG" "TMPDIR=$RUN_TMPDIR" "TEST_TMPDIR=$RUN_TMPDIR")
if [ "$PRIVATE" = 1 ]; then
  "${run_env[@]}" unshare --mount --propagation private -- \
    sh -c 'mount --bind "$1" /tmp && shift && exec "$@"' sh "$PRIVATE_TMP" "$@"
else
  "${run_env[@]}" "$@"
fi
status=$?

# Processes may still be on their way out (a worker's grace period, Slurm's KillWait).
for _ in $(seq "$GRACE_S"); do
  [ -z "$(run_pids)" ] && [ "$(slurm_jobs)" = "$(cat "$STATE/jobs.before")" ] && break
  sleep 1
done

leftovers=0
report() {
  local title="$1" body="$2"
  [ -z "$body" ] && return
  leftovers=1
  echo "check-leftovers: $title:" >&2
  sed 's/^/  /' <<<"$body" >&2
}
# Leftovers that, on a shared host, may be another user's.
report_unattributed() {
  if [ "$SHARED_HOST" = 1 ]; then
    [ -z "$2" ] && return
    echo "check-leftovers: warning (shared host, not counted): $1:" >&2
    sed 's/^/  /' <<<"$2" >&2
  else
    report "$1" "$2"
  fi
}

mapfile -t pids < <(run_pids)
report "processes of this run still running" "$( ((${#pids[@]})) && describe_pids "${pids[@]}")"
mapfile -t user_pids < <(test_user_pids | comm -13 "$STATE/users.before" -)
report_unattributed "new processes of the SSH test users" \
  "$( ((${#user_pids[@]})) && describe_pids "${user_pids[@]}")"
report "Slurm jobs still queued" "$(slurm_jobs | comm -13 "$STATE/jobs.before" -)"
report "files left in the tests' TMPDIR ($RUN_TMPDIR)" \
  "$(find "$RUN_TMPDIR" -mindepth 1 -maxdepth 2 | sort | head -50)"
if [ "$PRIVATE" = 1 ]; then
  report "files left in /tmp (private to the run: $PRIVATE_TMP)" \
    "$(find "$PRIVATE_TMP" -mindepth 1 -maxdepth 2 | sort | head -50)"
  # Only the SSH test users write the host's /tmp on the tests' behalf.
  report_unattributed "new entries of the SSH test users in /tmp" \
    "$(host_tmp_entries | comm -13 "$STATE/tmp.before" - | grep -E "^($(tr ' ' '|' <<<"$TEST_USERS")) ")"
else
  report_unattributed "new entries in /tmp" "$(host_tmp_entries | comm -13 "$STATE/tmp.before" -)"
fi
report_unattributed "new files in the SSH test users' home directories" \
  "$(test_user_homes | comm -13 "$STATE/homes.before" -)"

# Clean up after the report: the run's processes (by pid), its directories.
for pid in "${pids[@]}"; do
  kill -KILL "$pid" 2>/dev/null
done
rm -rf "$RUN_DIR" "$STATE"

if [ "$leftovers" = 1 ]; then
  echo "check-leftovers: the command left the above behind" >&2
  exit 1
fi
echo "check-leftovers: nothing left behind"
exit "$status"
