#!/usr/bin/env bash
# Starts the OpenSSH server the remotevm tests use: 127.0.0.1:2222 only, its own config
# and host key under /etc/sweep-ci/ssh, and two test users:
#   sweepkey   public-key login; keys sweepkey_ed25519 (no passphrase) and
#              sweepkey_pass_ed25519 (passphrase in sweepkey_pass.passphrase)
#   sweeppass  password login; password in sweeppass.password
# unauthorized_ed25519 is a key no user accepts. Idempotent; run as root.
set -euo pipefail
DIR=/etc/sweep-ci/ssh
PORT=2222
if [ "$(id -u)" -ne 0 ]; then echo "start-sshd.sh: run as root" >&2; exit 1; fi
if ! [ -x /usr/sbin/sshd ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server
fi
install -d -m 0755 "$DIR" "$DIR/authorized_keys"
install -d -m 0755 /run/sshd

[ -f "$DIR/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/ssh_host_ed25519_key"
# Test keys are world-readable on purpose: tests running as any user copy them.
[ -f "$DIR/sweepkey_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C sweepkey -f "$DIR/sweepkey_ed25519"
[ -f "$DIR/sweepkey_pass.passphrase" ] || head -c 18 /dev/urandom | base64 >"$DIR/sweepkey_pass.passphrase"
[ -f "$DIR/sweepkey_pass_ed25519" ] ||
  ssh-keygen -q -t ed25519 -N "$(cat "$DIR/sweepkey_pass.passphrase")" -C sweepkey-pass \
    -f "$DIR/sweepkey_pass_ed25519"
[ -f "$DIR/unauthorized_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C nobody -f "$DIR/unauthorized_ed25519"
[ -f "$DIR/sweeppass.password" ] || head -c 18 /dev/urandom | base64 >"$DIR/sweeppass.password"
chmod 0644 "$DIR"/sweepkey_ed25519 "$DIR"/sweepkey_pass_ed25519 "$DIR"/unauthorized_ed25519 \
  "$DIR"/sweepkey_pass.passphrase "$DIR"/sweeppass.password

for user in sweepkey sweeppass; do
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
done
usermod -p '*' sweepkey  # no password, but not locked: sshd refuses keys of locked accounts
echo "sweeppass:$(cat "$DIR/sweeppass.password")" | chpasswd
cat "$DIR/sweepkey_ed25519.pub" "$DIR/sweepkey_pass_ed25519.pub" >"$DIR/authorized_keys/sweepkey"
chmod 0644 "$DIR/authorized_keys/sweepkey"

cat >"$DIR/sshd_config" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $DIR/ssh_host_ed25519_key
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys/%u
AllowUsers sweepkey sweeppass
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
MaxStartups 100
MaxSessions 100
ClientAliveInterval 10
ClientAliveCountMax 3
Subsystem sftp internal-sftp
CONF
/usr/sbin/sshd -t -f "$DIR/sshd_config"

if [ -f "$DIR/sshd.pid" ] && kill -0 "$(cat "$DIR/sshd.pid")" 2>/dev/null; then
  kill -HUP "$(cat "$DIR/sshd.pid")"  # running: reload the config
else
  /usr/sbin/sshd -f "$DIR/sshd_config"
fi
for _ in $(seq 50); do
  if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then
    echo "sshd listening on 127.0.0.1:$PORT (users sweepkey, sweeppass; files in $DIR)"
    exit 0
  fi
  sleep 0.1
done
echo "start-sshd.sh: sshd did not start listening on 127.0.0.1:$PORT" >&2
exit 1
