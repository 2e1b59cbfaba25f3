#include "compute/ssh_session.h"

#include <libssh/libssh.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace sweep::compute {
namespace {

// libssh needs one global init before sessions are used from several threads.
void InitLibssh() {
  static std::once_flag once;
  std::call_once(once, [] { ssh_init(); });
}

std::string HostPort(const SshEndpoint& e) { return absl::StrCat(e.host, ":", e.port); }

// A credential file as messages name it.
const std::string& Label(const std::string& path, const std::string& label) {
  return label.empty() ? path : label;
}

std::string KnownHostsName(const SshEndpoint& e) {
  return e.port == 22 ? e.host : absl::StrCat("[", e.host, "]:", e.port);
}

}  // namespace

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& what,
                                           core::Env* env) {
  absl::StatusOr<std::string> read = env->ReadFile(path);
  if (!read.ok()) {
    absl::Status s = core::ErrnoStatus(read.status(), absl::StrCat("cannot read ", what), path);
    return core::AttachErrno(absl::InvalidArgumentError(s.message()), core::ErrnoOf(s));
  }
  std::string text = *std::move(read);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

// ---------------------------------------------------------------------------
// SshChannel

SshChannel::~SshChannel() {
  if (!channel_) return;
  if (ssh_channel_is_open(channel_)) ssh_channel_close(channel_);
  ssh_channel_free(channel_);
}

absl::Status SshChannel::Write(const std::string& data, bool close) {
  size_t done = 0;
  while (done < data.size()) {
    int n =
        ssh_channel_write(channel_, data.data() + done, static_cast<uint32_t>(data.size() - done));
    if (n == SSH_ERROR) return absl::UnavailableError("SSH channel closed while writing");
    done += static_cast<size_t>(n);
  }
  if (close && ssh_channel_send_eof(channel_) == SSH_ERROR) {
    return absl::UnavailableError("SSH channel closed while writing");
  }
  return absl::OkStatus();
}

bool SshChannel::Read(std::string& out, int timeout_ms) {
  char buf[4096];
  int n = ssh_channel_read_timeout(channel_, buf, sizeof buf, 0, timeout_ms);
  if (n > 0) out.append(buf, static_cast<size_t>(n));
  while (true) {
    int e = ssh_channel_read_nonblocking(channel_, buf, sizeof buf, 1);
    if (e <= 0) break;
    out.append(buf, static_cast<size_t>(e));
  }
  if (n > 0) return true;
  if (n == SSH_ERROR) return false;
  return !(ssh_channel_is_eof(channel_) || ssh_channel_is_closed(channel_));
}

int SshChannel::ExitStatus() {
  // Only waits when the channel is still open; a lost connection gives -1.
  if (ssh_channel_is_closed(channel_) && !ssh_channel_is_eof(channel_)) return -1;
  int status = ssh_channel_get_exit_status(channel_);
  return status == SSH_ERROR ? -1 : status;
}

// ---------------------------------------------------------------------------
// SshSession

absl::StatusOr<std::unique_ptr<SshSession>> SshSession::Connect(const SshEndpoint& endpoint,
                                                                core::Env* env) {
  InitLibssh();
  ssh_session raw = ssh_new();
  if (!raw) return absl::InternalError("libssh: cannot allocate a session");
  std::unique_ptr<SshSession> session(new SshSession(raw, endpoint, env));
  unsigned int port = static_cast<unsigned int>(endpoint.port);
  long timeout = endpoint.timeout_s;
  int no = 0;
  // Only our own known_hosts and no ~/.ssh/config: what the workspace recorded decides.
  ssh_options_set(raw, SSH_OPTIONS_PROCESS_CONFIG, &no);
  ssh_options_set(raw, SSH_OPTIONS_HOST, endpoint.host.c_str());
  ssh_options_set(raw, SSH_OPTIONS_PORT, &port);
  ssh_options_set(raw, SSH_OPTIONS_USER, endpoint.username.c_str());
  ssh_options_set(raw, SSH_OPTIONS_TIMEOUT, &timeout);
  ssh_options_set(raw, SSH_OPTIONS_KNOWNHOSTS, endpoint.known_hosts_file.c_str());
  ssh_options_set(raw, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, endpoint.known_hosts_file.c_str());
  if (ssh_connect(raw) != SSH_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach ", HostPort(endpoint), " over SSH: ", ssh_get_error(raw),
                     " (check --address and --ssh-port, and that sshd runs on the VM and accepts "
                     "connections from this machine)"));
  }
  if (absl::Status s = session->CheckHostKey(); !s.ok()) return s;
  if (absl::Status s = session->Authenticate(); !s.ok()) return s;
  return session;
}

SshSession::~SshSession() {
  if (ssh_is_connected(session_)) ssh_disconnect(session_);
  ssh_free(session_);
}

std::string SshSession::Describe() const {
  return absl::StrCat(endpoint_.username, "@", HostPort(endpoint_));
}

absl::Status SshSession::CheckHostKey() {
  ssh_key key = nullptr;
  if (ssh_get_server_publickey(session_, &key) != SSH_OK) {
    return absl::UnavailableError(absl::StrCat("SSH server ", HostPort(endpoint_),
                                               " sent no host key: ", ssh_get_error(session_)));
  }
  unsigned char* hash = nullptr;
  size_t hash_len = 0;
  int rc = ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hash_len);
  ssh_key_free(key);
  if (rc != 0) return absl::InternalError("libssh: cannot hash the server's host key");
  char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_len);
  ssh_clean_pubkey_hash(&hash);
  fingerprint_ = fp ? fp : "";
  ssh_string_free_char(fp);

  switch (ssh_session_is_known_server(session_)) {
    case SSH_KNOWN_HOSTS_OK:
      return absl::OkStatus();
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      host_was_unknown_ = true;
      return absl::OkStatus();
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      return absl::FailedPreconditionError(absl::StrCat(
          "the host key of ", HostPort(endpoint_), " has CHANGED (it is now ", fingerprint_,
          "), so the connection was refused: someone may be intercepting it. If the VM was "
          "reinstalled on purpose, remove its old key with `ssh-keygen -R '",
          KnownHostsName(endpoint_), "' -f ", endpoint_.known_hosts_file, "` and attach again"));
    case SSH_KNOWN_HOSTS_ERROR:
    default:
      return absl::InternalError(absl::StrCat("cannot check the host key of ", HostPort(endpoint_),
                                              " against ", endpoint_.known_hosts_file, ": ",
                                              ssh_get_error(session_)));
  }
}

absl::Status SshSession::TrustHost() {
  const std::string dir = std::filesystem::path(endpoint_.known_hosts_file).parent_path().string();
  if (!dir.empty() && !env_->Exists(dir)) {
    // libssh reports the failure to write below, if any.
    env_->CreateDirs(dir).IgnoreError();
    env_->SetPermissions(dir, 0700).IgnoreError();
  }
  if (ssh_session_update_known_hosts(session_) != SSH_OK) {
    return absl::InternalError(absl::StrCat("cannot record the host key of ", HostPort(endpoint_),
                                            " in ", endpoint_.known_hosts_file, ": ",
                                            ssh_get_error(session_)));
  }
  return absl::OkStatus();
}

absl::Status SshSession::Authenticate() {
  const std::string who = absl::StrCat("user ", endpoint_.username, " on ", HostPort(endpoint_));
  if (!endpoint_.password_file.empty()) {
    auto password = ReadSecretFile(endpoint_.password_file, "password file", env_);
    if (!password.ok()) return password.status();
    int rc = ssh_userauth_password(session_, nullptr, password->c_str());
    if (rc == SSH_AUTH_SUCCESS) return absl::OkStatus();
    if (rc == SSH_AUTH_ERROR) {
      return absl::UnavailableError(
          absl::StrCat("SSH login of ", who, " failed: ", ssh_get_error(session_)));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("the SSH server rejected the password of ", who, " (from ",
                     Label(endpoint_.password_file, endpoint_.password_label),
                     "); check the password, and that the server allows password logins"));
  }
  if (endpoint_.private_key_file.empty()) {
    return absl::InvalidArgumentError(
        "no SSH credentials: pass --password-file or --private-key-file");
  }
  // Read the key ourselves first, so an unreadable file gets its own message.
  auto key_text = ReadSecretFile(endpoint_.private_key_file, "private key file", env_);
  if (!key_text.ok()) return key_text.status();
  std::string passphrase;
  if (!endpoint_.passphrase_file.empty()) {
    auto p = ReadSecretFile(endpoint_.passphrase_file, "private key passphrase file", env_);
    if (!p.ok()) return p.status();
    passphrase = *p;
  }
  ssh_key key = nullptr;
  int rc = ssh_pki_import_privkey_base64(
      key_text->c_str(), passphrase.empty() ? nullptr : passphrase.c_str(), nullptr, nullptr, &key);
  std::fill(passphrase.begin(), passphrase.end(), '\0');
  std::fill(key_text->begin(), key_text->end(), '\0');
  if (rc != SSH_OK) {
    if (!endpoint_.passphrase_file.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot decrypt private key ",
          Label(endpoint_.private_key_file, endpoint_.private_key_label),
          " with the passphrase in ", Label(endpoint_.passphrase_file, endpoint_.passphrase_label),
          ": wrong passphrase, or not a private key"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load private key ", Label(endpoint_.private_key_file, endpoint_.private_key_label),
        ": it is not a private key, or it is passphrase-protected (then pass "
        "--private-key-passphrase-file)"));
  }
  rc = ssh_userauth_publickey(session_, nullptr, key);
  ssh_key_free(key);
  if (rc == SSH_AUTH_SUCCESS) return absl::OkStatus();
  if (rc == SSH_AUTH_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("SSH login of ", who, " failed: ", ssh_get_error(session_)));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "the SSH server rejected private key ",
      Label(endpoint_.private_key_file, endpoint_.private_key_label), " for ", who,
      "; add its public key to ~", endpoint_.username, "/.ssh/authorized_keys on the VM"));
}

absl::StatusOr<std::unique_ptr<SshChannel>> SshSession::Start(const std::string& command,
                                                              bool pty) {
  ssh_channel raw = ssh_channel_new(session_);
  if (!raw) {
    return absl::UnavailableError(
        absl::StrCat("SSH connection to ", Describe(), " lost: ", ssh_get_error(session_)));
  }
  std::unique_ptr<SshChannel> channel(new SshChannel(raw));
  if (ssh_channel_open_session(raw) != SSH_OK || (pty && ssh_channel_request_pty(raw) != SSH_OK) ||
      ssh_channel_request_exec(raw, command.c_str()) != SSH_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot run a command on ", Describe(), ": ", ssh_get_error(session_)));
  }
  return channel;
}

absl::StatusOr<ExecResult> SshSession::Exec(const std::string& command, const std::string& input,
                                            int timeout_ms) {
  auto channel = Start(command, /*pty=*/false);
  if (!channel.ok()) return channel.status();
  if (absl::Status s = (*channel)->Write(input, /*close=*/true); !s.ok()) return s;
  ExecResult result;
  const int64_t deadline = env_->MonotonicMillis() + timeout_ms;
  while ((*channel)->Read(result.output, 100)) {
    if (env_->MonotonicMillis() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "`", command, "` on ", Describe(), " did not finish within ", timeout_ms, " ms"));
    }
  }
  result.exit_status = (*channel)->ExitStatus();
  return result;
}

}  // namespace sweep::compute
