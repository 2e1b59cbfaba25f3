// An authenticated SSH connection to a remotevm target (libssh), with an OpenSSH-like
// known-hosts policy, and commands run over it.
//
// Host keys: Connect checks the server's key against endpoint.known_hosts_file (the
// workspace's own file, never ~/.ssh). A known key connects; an unknown host connects with
// host_was_unknown() set, and is written to the file only by TrustHost() (accept-new: the
// caller trusts it once the connection proved useful); a CHANGED key is refused.
//
// Secrets are read from the endpoint's files at Connect and never logged or put in a
// status message.
//
// Thread safety: a session and its channels are used by one thread at a time (libssh
// sessions are not thread-safe); different sessions may be used concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/env.h"
#include "core/shell_quote.h"

struct ssh_session_struct;
struct ssh_channel_struct;

namespace sweep::compute {

struct SshEndpoint {
  std::string host;
  int port = 22;
  std::string username;
  std::string password_file;     // password authentication when set
  std::string private_key_file;  // public-key authentication when set
  std::string passphrase_file;   // optional: decrypts private_key_file
  std::string known_hosts_file;  // created (with its directory, 0700) by TrustHost
  // What messages call the credential files when they are copies (e.g. the user's own
  // file, of which the workspace keeps a copy); "" = their path.
  std::string password_label;
  std::string private_key_label;
  std::string passphrase_label;
  int timeout_s = 5;  // TCP connect and each protocol step
};

// Reads a secret file: its content without one trailing newline. InvalidArgument naming
// `what` and the path when it cannot be read.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& what,
                                           core::Env* env = core::Env::Default());

// One command running on the remote host. Must not outlive its SshSession.
class SshChannel {
 public:
  ~SshChannel();
  SshChannel(const SshChannel&) = delete;
  SshChannel& operator=(const SshChannel&) = delete;

  // Sends `data` to the command's stdin; with `close`, then end-of-file.
  absl::Status Write(const std::string& data, bool close);
  // Appends what the command printed (stdout and stderr) to `out`, waiting up to
  // timeout_ms for something. Returns false once the command finished (EOF or the
  // channel or connection closed) and everything was read.
  bool Read(std::string& out, int timeout_ms);
  // The command's exit status once Read returned false; -1 if unknown (killed by a
  // signal, connection lost).
  int ExitStatus();

 private:
  friend class SshSession;
  explicit SshChannel(ssh_channel_struct* channel) : channel_(channel) {}
  ssh_channel_struct* channel_;
};

struct ExecResult {
  int exit_status = -1;
  std::string output;  // stdout and stderr, interleaved
};

class SshSession {
 public:
  // Connects, checks the host key, authenticates. Errors (messages name the host and
  // say how to fix it):
  //  Unavailable: the address cannot be reached (refused, timeout, name not resolved).
  //  FailedPrecondition: the host key changed since it was recorded in known_hosts.
  //  InvalidArgument: a credential file is unreadable, the key cannot be decrypted,
  //    or the server rejected the password or key.
  // Credential files are read, and the known_hosts directory created, through `env` (not
  // owned; it must outlive the session); libssh reads and writes known_hosts itself.
  static absl::StatusOr<std::unique_ptr<SshSession>> Connect(const SshEndpoint& endpoint,
                                                             core::Env* env = core::Env::Default());
  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // The server's host key, "SHA256:...".
  const std::string& fingerprint() const { return fingerprint_; }
  bool host_was_unknown() const { return host_was_unknown_; }
  // Records the server's key in known_hosts_file (accept-new).
  absl::Status TrustHost();

  // Starts `command` (run by the remote user's shell). With `pty`, the command gets a
  // terminal: when the channel or connection closes, the remote kernel sends it SIGHUP.
  // Unavailable if the connection is gone.
  absl::StatusOr<std::unique_ptr<SshChannel>> Start(const std::string& command, bool pty);
  // Runs `command` to completion with `input` on its stdin, up to timeout_ms
  // (DeadlineExceeded after that).
  absl::StatusOr<ExecResult> Exec(const std::string& command, const std::string& input,
                                  int timeout_ms);

  // "user@host:port", for messages.
  std::string Describe() const;

 private:
  SshSession(ssh_session_struct* session, SshEndpoint endpoint, core::Env* env)
      : session_(session), endpoint_(std::move(endpoint)), env_(env) {}
  absl::Status CheckHostKey();
  absl::Status Authenticate();

  ssh_session_struct* session_;
  SshEndpoint endpoint_;
  core::Env* const env_;
  std::string fingerprint_;
  bool host_was_unknown_ = false;
};

// Quotes `word` for a POSIX shell (core/shell_quote.h).
using core::ShellQuote;

}  // namespace sweep::compute
