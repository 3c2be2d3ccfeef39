#include "router/regex_set.h"

#include <algorithm>
#include <re2/re2.h>
#include <re2/set.h>

namespace portico::router {

namespace {
/// A set's budget for its program and DFA cache, as a multiple of the largest budget among
/// its regexes (RE2's default, 8 MiB, is for one regex; 64 MiB holds 10,000 regexes of the
/// benchmark's shape). Memory is taken as the DFA meets new states, not up front.
constexpr int64_t kSetBudgetFactor = 8;

/// Whether two regexes parse the same way: every option but the memory budget and logging.
bool sameSyntax(const RE2::Options& a, const RE2::Options& b) {
  return a.encoding() == b.encoding() && a.posix_syntax() == b.posix_syntax() &&
         a.longest_match() == b.longest_match() && a.literal() == b.literal() &&
         a.never_nl() == b.never_nl() && a.dot_nl() == b.dot_nl() &&
         a.never_capture() == b.never_capture() && a.case_sensitive() == b.case_sensitive() &&
         a.perl_classes() == b.perl_classes() && a.word_boundary() == b.word_boundary() &&
         a.one_line() == b.one_line();
}

/// Per-thread scratch: RE2's answer (set positions) and ours (ids). They only grow, so once
/// they reach the largest set this thread has matched against, match() allocates nothing.
thread_local std::vector<int> tHits;
thread_local std::vector<uint32_t> tIds;
}  // namespace

struct RegexSet::Group {
  RE2::Options options;  ///< the members' syntax; max_mem: the largest of theirs
  std::vector<std::string> patterns;  ///< build time only
  std::vector<uint32_t> ids;          ///< set position → id
  std::unique_ptr<RE2::Set> set;      ///< made by compile()
};

RegexSet::RegexSet() = default;
RegexSet::~RegexSet() = default;
RegexSet::RegexSet(RegexSet&&) noexcept = default;
RegexSet& RegexSet::operator=(RegexSet&&) noexcept = default;

void RegexSet::add(const re2::RE2& re, uint32_t id) {
  if (!re.ok()) return;
  Group* group = nullptr;
  for (auto& g : groups_)
    if (sameSyntax(g->options, re.options())) group = g.get();
  if (!group) {
    groups_.push_back(std::make_unique<Group>());
    group = groups_.back().get();
    group->options = re.options();
    group->options.set_log_errors(false);
  }
  group->options.set_max_mem(std::max(group->options.max_mem(), re.options().max_mem()));
  group->patterns.push_back(re.pattern());
  group->ids.push_back(id);
  ++size_;
}

bool RegexSet::compile() {
  usable_ = false;
  for (auto& g : groups_) {
    RE2::Options options = g->options;
    options.set_max_mem(options.max_mem() * kSetBudgetFactor);
    g->set = std::make_unique<RE2::Set>(options, RE2::ANCHOR_BOTH);
    // Add() answers positions 0, 1, 2, ... in call order: ids[position] is the id. A pattern
    // RE2 compiled alone but the set refuses fails the whole set: never claim to cover it.
    for (const std::string& pattern : g->patterns)
      if (g->set->Add(pattern, nullptr) < 0) return false;
    if (!g->set->Compile()) return false;
    g->patterns = {};
  }
  return usable_ = true;
}

bool RegexSet::match(std::string_view path, std::span<const uint32_t>* out) const {
  re2::StringPiece text(path.data(), path.size());
  tIds.clear();
  for (const auto& g : groups_) {
    RE2::Set::ErrorInfo error{};
    // Asked for the positions, RE2 allocates a scratch set (3 allocations) even when nothing
    // matches; asked only whether anything matches, it does not. Misses are the common case
    // (most paths match one regex at most, or none), so a hit pays a second pass instead.
    if (!g->set->Match(text, nullptr, &error)) {
      if (error.kind != RE2::Set::kNoError) return false;  // the DFA gave up: scan instead
      continue;
    }
    if (!g->set->Match(text, &tHits, &error)) {
      if (error.kind != RE2::Set::kNoError) return false;  // the DFA gave up: scan instead
      continue;                                            // nothing in this group matched
    }
    for (int position : tHits) tIds.push_back(g->ids[static_cast<size_t>(position)]);
  }
  // Positions come out in the DFA's order; callers merge by rank.
  std::sort(tIds.begin(), tIds.end());
  *out = std::span<const uint32_t>(tIds.data(), tIds.size());
  return true;
}

}  // namespace portico::router
