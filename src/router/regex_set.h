// RegexSet: a virtual host's path regexes compiled into RE2 sets (anchored at both ends, one
// set per distinct RE2 option set), telling in one pass over a path which of them match it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace portico::router {

class RegexSet {
public:
  RegexSet();
  ~RegexSet();
  RegexSet(RegexSet&&) noexcept;
  RegexSet& operator=(RegexSet&&) noexcept;

  /// Adds `re` (its pattern, parsed again with its own options) under `id`. A regex that does
  /// not compile (!re.ok()) is left out: it never matches, as RE2::FullMatch on it never does.
  /// Build time only, before compile().
  void add(const re2::RE2& re, uint32_t id);
  /// Compiles the sets, each with a budget of 8 times the largest max_mem among its regexes.
  /// False when RE2 refuses one (over that budget): then the set is unusable and callers test
  /// the regexes one by one. Call once, after the last add().
  bool compile();
  /// True once compile() succeeded.
  bool usable() const { return usable_; }

  /// Sets `*out` to the ids, ascending, of the added regexes that fully match `path`. False
  /// when RE2's DFA gave up on this path (out of memory): test the regexes one by one then.
  /// `*out` views a per-thread buffer, valid until this thread's next match(). Usable sets
  /// only. Thread-safe. Allocation: none from this class once the per-thread buffers have
  /// grown; RE2::Set::Match allocates its own scratch set when at least one regex matches.
  bool match(std::string_view path, std::span<const uint32_t>* out) const;

  /// How many regexes the sets hold.
  size_t size() const { return size_; }

private:
  struct Group;  ///< one RE2::Set and the ids of its members
  std::vector<std::unique_ptr<Group>> groups_;
  size_t size_ = 0;
  bool usable_ = false;
};

}  // namespace portico::router
