// UTF-8 checks for text that enters the store or a proto3 string (which must be valid
// UTF-8: gRPC refuses the whole message otherwise).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sweep::core {

// The offset of the first byte that does not start or continue a valid UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF are invalid), or nullopt when
// `text` is valid UTF-8.
std::optional<size_t> FirstInvalidUtf8(std::string_view text);
inline bool IsValidUtf8(std::string_view text) { return !FirstInvalidUtf8(text).has_value(); }

// `text` with every invalid byte replaced by U+FFFD; valid text comes back unchanged.
std::string SanitizeUtf8(std::string_view text);

// The longest prefix of `text` of at most `max_bytes` bytes that does not cut a UTF-8
// sequence in two (for valid input the result is valid).
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);
// The longest suffix of at most `max_bytes` bytes that starts on a character boundary.
std::string_view Utf8Suffix(std::string_view text, size_t max_bytes);

// "not valid UTF-8 (byte 0xE9 at offset 3)": for error messages about `text`, which must
// be invalid.
std::string DescribeInvalidUtf8(std::string_view text);

}  // namespace sweep::core
