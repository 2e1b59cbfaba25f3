// Walking a directory of regular files with their sizes, digests and executable bits,
// and checking the relative paths that name them. Shared by snapshots (controller),
// artifact uploads (worker and controller) and the artifact store.
//
// Thread safety: the functions are thread-safe (distinct directories).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/env.h"

namespace sweep::core {

struct FileEntry {
  std::string path;  // relative to the walked directory, '/'-separated
  int64_t size = 0;
  std::string sha256;
  bool executable = false;  // owner-executable bit
};

// InvalidArgument naming the path when it is empty, absolute, has an empty, "." or ".."
// component, or a NUL byte: such a path could escape the directory it is joined to.
absl::Status ValidateRelativePath(const std::string& path);

// Decides whether a relative path (a directory when is_dir) is left out of a walk;
// a skipped directory is not entered.
using SkipFn = std::function<bool(const std::string& relative, bool is_dir)>;

// The regular files under `dir` (recursively, sorted by path) with digests, read through
// `env`. A missing directory is an empty list. InvalidArgument naming the entry (e.g. "'x'
// is a symbolic link") for a symlink or anything that is neither a regular file nor a
// directory and is not skipped; the Env's error naming the path when the file system
// refuses.
absl::StatusOr<std::vector<FileEntry>> ListFiles(const std::string& dir,
                                                 const SkipFn& skip = nullptr,
                                                 Env* env = Env::Default());

// Like ListFiles without digests (sha256 left empty): cheap enough to size a tree
// before hashing it.
absl::StatusOr<std::vector<FileEntry>> ListFileSizes(const std::string& dir,
                                                     const SkipFn& skip = nullptr,
                                                     Env* env = Env::Default());

// Copies what directory `from` holds into `to` (created if missing), recursively:
// directories and regular files with their permission bits, symbolic links as links (not
// followed). The Env's error naming the path when the file system refuses; InvalidArgument
// naming an entry that is none of these (a fifo, a socket).
absl::Status CopyTree(const std::string& from, const std::string& to, Env* env = Env::Default());

// Makes what `dir` holds durable: fsyncs every directory under it (`dir` included, so the
// names in them are durable) and, with `files`, every regular file (opened for appending:
// the owner must be able to write it). Symbolic links are not followed. Call before
// committing a record that points at the files (an artifact, a model). The Env's error
// naming the path when the file system refuses.
absl::Status SyncTree(const std::string& dir, bool files, Env* env = Env::Default());

// A piece of a stored blob (a snapshot file or manifest) in transit; sha256 is the digest
// of data, so the receiver can check the piece on its own.
struct BlobChunk {
  std::string data;
  std::string sha256;
  int64_t total_size = 0;  // of the whole blob
};

// One chunk of one file of an attempt's outputs/ in transit.
struct ArtifactChunk {
  std::string path;  // relative to outputs/, '/'-separated
  int64_t offset = 0;
  std::string data;
  std::string chunk_sha256;
  int64_t file_size = 0;    // of the whole file
  bool last = false;        // data ends the file
  std::string file_sha256;  // with last: the whole file's digest
};

// The canonical text of a file list: compact JSON {"files":[{"path","size","sha256",
// "executable"}...]} in path order. Equal trees give equal text, so its SHA-256 names the
// tree (a snapshot's digest).
std::string EncodeFileList(const std::vector<FileEntry>& files);

// Parses EncodeFileList text. DataLoss when it cannot be decoded or lists an invalid
// path, size or digest.
absl::StatusOr<std::vector<FileEntry>> DecodeFileList(const std::string& text);

}  // namespace sweep::core
