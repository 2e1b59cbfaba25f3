#include "core/utf8.h"

#include <cstdint>
#include <cstdio>

namespace sweep::core {
namespace {

// The length of the valid sequence starting at text[i], or 0 when it is not one.
size_t SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len = 0;
  uint32_t min = 0;
  uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

std::optional<size_t> FirstInvalidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t len = SequenceLength(text, i);
    if (len == 0) return i;
    i += len;
  }
  return std::nullopt;
}

std::string SanitizeUtf8(std::string_view text) {
  if (IsValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    size_t len = SequenceLength(text, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  // Step back over continuation bytes to the start of the character that was cut.
  while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80 && max_bytes - cut < 3) --cut;
  return text.substr(0, cut);
}

std::string_view Utf8Suffix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t start = text.size() - max_bytes;
  size_t limit = start + 3;
  while (start < text.size() && start < limit &&
         (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) {
    ++start;
  }
  return text.substr(start);
}

std::string DescribeInvalidUtf8(std::string_view text) {
  std::optional<size_t> at = FirstInvalidUtf8(text);
  if (!at) return "valid UTF-8";
  char buf[96];
  std::snprintf(buf, sizeof(buf), "not valid UTF-8 (byte 0x%02X at offset %zu)",
                static_cast<unsigned>(static_cast<uint8_t>(text[*at])), *at);
  return buf;
}

}  // namespace sweep::core
