// SHA-256 digests for content addressing (snapshots, artifacts, environments, models).
// Digests are lowercase hex, 64 characters. OpenSSL's EVP interface does the hashing:
// it is already on every machine that has gRPC, and a hand-written SHA-256 buys nothing.
//
// Thread safety: Sha256 objects are not shared; the free functions are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/env.h"

namespace sweep::core {

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  // The digest of everything passed to Update. The object must not be used afterwards.
  std::string HexDigest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string Sha256Hex(std::string_view data);

// Digest of a file's bytes, read in chunks through `env`. NotFound / PermissionDenied /
// Internal naming the path when it cannot be read.
absl::StatusOr<std::string> Sha256File(const std::string& path, Env* env = Env::Default());

// True for 64 lowercase hex characters.
bool IsSha256Hex(std::string_view digest);

// HMAC-SHA256 of `data` under `key`, as 64 lowercase hex digits.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace sweep::core
