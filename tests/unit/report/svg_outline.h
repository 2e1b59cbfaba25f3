// Reads back the SVG the plots write: checks it is well-formed (every tag closed in
// order) and outlines its structure for golden files.
#pragma once

#include <map>
#include <regex>
#include <string>
#include <vector>

namespace sweep::report::testing {

struct Element {
  std::string tag;
  std::map<std::string, std::string> attrs;
  int depth = 0;
};

// The elements in document order; `error` says what is malformed ("" when well-formed).
inline std::vector<Element> ParseElements(const std::string& xml, std::string* error) {
  std::vector<Element> out;
  std::vector<std::string> stack;
  static const std::regex kTag(
      R"re(<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^\s=/>]+="[^"]*")*)\s*(/?)>)re");
  static const std::regex kAttr(R"re(([^\s=]+)="([^"]*)")re");
  size_t pos = xml.find("<svg");
  if (pos == std::string::npos) {
    *error = "no <svg>";
    return out;
  }
  auto begin = std::sregex_iterator(xml.begin() + static_cast<long>(pos), xml.end(), kTag);
  size_t expected = pos;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    size_t at = static_cast<size_t>(m.position()) + pos;
    if (xml.substr(expected, at - expected).find('<') != std::string::npos) {
      *error = "stray '<' before offset " + std::to_string(at);
      return out;
    }
    expected = at + static_cast<size_t>(m.length());
    std::string tag = m[2];
    if (m[1] == "/") {
      if (stack.empty() || stack.back() != tag) {
        *error = "</" + tag + "> closes " + (stack.empty() ? "nothing" : "<" + stack.back() + ">");
        return out;
      }
      stack.pop_back();
      continue;
    }
    Element e;
    e.tag = tag;
    e.depth = static_cast<int>(stack.size());
    std::string attrs = m[3];
    for (auto a = std::sregex_iterator(attrs.begin(), attrs.end(), kAttr);
         a != std::sregex_iterator(); ++a) {
      e.attrs[(*a)[1]] = (*a)[2];
    }
    out.push_back(e);
    if (m[4] != "/") stack.push_back(tag);
  }
  if (!stack.empty()) *error = "<" + stack.back() + "> is never closed";
  return out;
}

// The structure as indented lines of "tag.class", coordinates and text left out, so it
// changes only when the structure does. Consecutive siblings with the same subtree are
// folded into one line ending in "xN".
inline std::string Outline(const std::vector<Element>& elements, size_t* index = nullptr,
                           int depth = 0) {
  size_t start = 0;
  if (index == nullptr) index = &start;
  std::vector<std::string> subtrees;
  while (*index < elements.size() && elements[*index].depth == depth) {
    const Element& e = elements[*index];
    std::string line(static_cast<size_t>(depth) * 2, ' ');
    line += e.tag;
    if (auto c = e.attrs.find("class"); c != e.attrs.end()) line += "." + c->second;
    ++*index;
    subtrees.push_back(line + "\n" + Outline(elements, index, depth + 1));
  }
  std::string out;
  for (size_t i = 0; i < subtrees.size();) {
    size_t j = i;
    while (j < subtrees.size() && subtrees[j] == subtrees[i]) ++j;
    if (j - i == 1) {
      out += subtrees[i];
    } else {
      size_t eol = subtrees[i].find('\n');
      out += subtrees[i].substr(0, eol) + " x" + std::to_string(j - i) + subtrees[i].substr(eol);
    }
    i = j;
  }
  return out;
}

}  // namespace sweep::report::testing
