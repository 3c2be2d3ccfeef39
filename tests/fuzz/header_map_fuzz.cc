// libFuzzer target: HeaderMap driven by an op-code interpreter and checked after every op
// against a plain vector-of-pairs model; ConnectionTokens and listContainsToken checked against
// a reference split of the Connection value.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "h1_fuzz_common.h"
#include "http/header_map.h"

namespace {

using portico::fuzz::escaped;
using Model = std::vector<std::pair<std::string, std::string>>;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string lowered(std::string s) {
  for (char& c : s) c = lower(c);
  return s;
}
bool sameNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

// Names that collide often: the fuzzer's own strings rarely repeat.
const char* const kNames[] = {"host",       "Host",    "content-length", "x-a",  "X-A",
                              "connection", "te",      "upgrade",        "keep-alive",
                              "close",      "x-b",     "transfer-encoding", "",  "a"};

std::string pickName(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return kNames[in.ConsumeIntegralInRange<size_t>(0, std::size(kNames) - 1)];
  return in.ConsumeRandomLengthString(24);
}

/// The trimmed items of a comma-separated list (RFC 9110 §5.6.1, OWS = SP / HTAB).
std::vector<std::string> items(std::string_view list) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    size_t comma = list.find(',', pos);
    std::string_view item = list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

bool refContains(std::string_view list, std::string_view token) {
  for (const std::string& it : items(list))
    if (sameNoCase(it, token)) return true;
  return false;
}

bool hopOption(std::string_view lowerName) {
  return lowerName == "close" || lowerName == "keep-alive" || lowerName == "upgrade";
}

void checkSame(const portico::http::HeaderMap& map, const Model& model, const char* op) {
  std::string detail = std::string("after ") + op + ": map has " + std::to_string(map.size()) +
                       ", model " + std::to_string(model.size());
  FUZZ_CHECK(map.size() == model.size(), detail);
  size_t bytes = 0;
  size_t i = 0;
  for (const portico::http::HeaderEntry& e : map) {
    FUZZ_CHECK(e.name == model[i].first && e.value == model[i].second,
               detail + " entry " + std::to_string(i) + ": " + escaped(e.name) + "=" +
                   escaped(e.value) + " vs " + escaped(model[i].first) + "=" +
                   escaped(model[i].second));
    FUZZ_CHECK(&map[i] == &e, detail);
    bytes += e.name.size() + e.value.size();
    ++i;
  }
  FUZZ_CHECK(map.byteSize() == bytes, detail);
}

/// A Connection value: the fuzzer's bytes, or tokens from the pool with assorted separators
/// (so that lists longer than ConnectionTokens' inline capacity are common).
std::string connectionValue(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return in.ConsumeRandomLengthString(200);
  static const char* const kSeps[] = {",", ", ", " , ", ",\t", ",,", " ,"};
  std::string v;
  size_t n = in.ConsumeIntegralInRange<size_t>(0, 14);
  for (size_t i = 0; i < n; ++i) {
    if (i) v += kSeps[in.ConsumeIntegralInRange<size_t>(0, std::size(kSeps) - 1)];
    v += pickName(in);
  }
  return v;
}

void checkConnectionTokens(FuzzedDataProvider& in) {
  std::string value = connectionValue(in);
  portico::http::ConnectionTokens tokens(&value);
  std::vector<std::string> listed = items(value);

  bool anyName = false;
  for (const std::string& it : listed)
    if (!it.empty() && !hopOption(lowered(it))) anyName = true;
  FUZZ_CHECK(tokens.empty() == !anyName, "empty() for Connection: " + escaped(value));

  std::vector<std::string> candidates;
  for (const std::string& it : listed) candidates.push_back(lowered(it));
  for (const char* n : kNames) candidates.push_back(lowered(n));
  candidates.push_back(lowered(in.ConsumeRandomLengthString(16)));
  for (const std::string& name : candidates) {
    if (name.empty()) continue;  // header names are never empty
    bool listedHere = refContains(value, name);
    FUZZ_CHECK(portico::http::listContainsToken(value, name) == listedHere,
               "listContainsToken(" + escaped(value) + ", " + escaped(name) + ")");
    // Upper-case tokens too: the list is compared without case.
    FUZZ_CHECK(portico::http::listContainsToken(value, name) ==
                   portico::http::listContainsToken(value, lowered(name)),
               "listContainsToken case");
    bool expected = listedHere && !hopOption(name);
    FUZZ_CHECK(tokens.contains(name) == expected,
               "ConnectionTokens(" + escaped(value) + ").contains(" + escaped(name) + ") = " +
                   std::to_string(tokens.contains(name)) + ", expected " +
                   std::to_string(expected));
  }
  portico::http::ConnectionTokens none(nullptr);
  FUZZ_CHECK(none.empty() && !none.contains("x-a"), "ConnectionTokens(nullptr)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  portico::http::HeaderMap map;
  Model model;
  while (in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange<int>(0, 8)) {
    case 0: {  // add: any case, stored lowercase
      std::string name = pickName(in);
      std::string value = in.ConsumeRandomLengthString(32);
      map.add(name, value);
      model.emplace_back(lowered(name), value);
      checkSame(map, model, "add");
      break;
    }
    case 1: {  // remove
      std::string name = lowered(pickName(in));
      size_t expected = static_cast<size_t>(
          std::count_if(model.begin(), model.end(), [&](const auto& e) { return e.first == name; }));
      std::erase_if(model, [&](const auto& e) { return e.first == name; });
      size_t removed = map.remove(name);
      FUZZ_CHECK(removed == expected, "remove(" + escaped(name) + ") count");
      checkSame(map, model, "remove");
      break;
    }
    case 2: {  // set: every value replaced by one, at the end
      std::string name = lowered(pickName(in));
      std::string value = in.ConsumeRandomLengthString(32);
      std::erase_if(model, [&](const auto& e) { return e.first == name; });
      model.emplace_back(name, value);
      map.set(name, value);
      checkSame(map, model, "set");
      break;
    }
    case 3: {  // get / has: the first value
      std::string name = lowered(pickName(in));
      auto it = std::find_if(model.begin(), model.end(), [&](const auto& e) { return e.first == name; });
      const std::string* got = map.get(name);
      FUZZ_CHECK((got == nullptr) == (it == model.end()), "get(" + escaped(name) + ") presence");
      if (got) FUZZ_CHECK(*got == it->second, "get(" + escaped(name) + ") value");
      FUZZ_CHECK(map.has(name) == (got != nullptr), "has");
      break;
    }
    case 4:  // clear: entries are kept for reuse, the map is empty
      map.clear();
      model.clear();
      checkSame(map, model, "clear");
      break;
    case 5: {  // addEmpty + filled in pieces, as the parser does
      std::string name = lowered(pickName(in));
      std::string value = in.ConsumeRandomLengthString(32);
      portico::http::HeaderEntry& e = map.addEmpty();
      FUZZ_CHECK(e.name.empty() && e.value.empty(), "addEmpty() reused entry not cleared");
      FUZZ_CHECK(&map.back() == &e, "back() after addEmpty()");
      size_t cut = name.size() / 2;
      e.name.append(name, 0, cut);
      map.back().name.append(name, cut);
      e.value = value;
      model.emplace_back(name, value);
      checkSame(map, model, "addEmpty");
      break;
    }
    case 6:
      checkConnectionTokens(in);
      break;
    case 7: {  // equalsIgnoreCase / toLowerInPlace
      std::string a = in.ConsumeRandomLengthString(16);
      std::string b = in.ConsumeBool() ? a : in.ConsumeRandomLengthString(16);
      if (in.ConsumeBool())
        for (char& c : b)
          if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      FUZZ_CHECK(portico::http::equalsIgnoreCase(a, b) == sameNoCase(a, b), "equalsIgnoreCase");
      std::string l = a;
      portico::http::toLowerInPlace(l);
      FUZZ_CHECK(l == lowered(a), "toLowerInPlace");
      break;
    }
    case 8: {  // the same map reused after clear keeps working (capacity reuse)
      map.clear();
      model.clear();
      size_t n = in.ConsumeIntegralInRange<size_t>(0, 6);
      for (size_t i = 0; i < n; ++i) {
        std::string name = pickName(in);
        map.add(name, name);
        model.emplace_back(lowered(name), name);
      }
      checkSame(map, model, "refill");
      break;
    }
    }
  }
  return 0;
}
