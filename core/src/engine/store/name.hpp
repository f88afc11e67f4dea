#pragma once
/// Name: an interned string, one pointer wide, for the row members that repeat the same few
/// values across a run's rows (model, suite, judge, category, phase, finish reason, label ...).
/// A million rows held the same "synthetic" a million times in 32-byte std::strings; a Name is
/// 8 bytes pointing at the one copy. It reads like a const std::string (converts to one and to
/// std::string_view, compares with both) and is assigned from either.
///
/// The copies live in one process-wide pool that is never freed (values are few: names of
/// the run's components and the labels they give), so a Name never dangles and two Names are
/// equal exactly when their pointers are. Interning takes a lock: threads may build rows.
#include <compare>
#include <cstddef>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_set>

namespace medsafe {

class Name {
 public:
  Name() noexcept : s_(&empty_string()) {}
  Name(std::string_view s) : s_(intern(s)) {}    // NOLINT(google-explicit-constructor)
  Name(const std::string& s) : s_(intern(s)) {}  // NOLINT(google-explicit-constructor)
  Name(const char* s) : s_(intern(s)) {}         // NOLINT(google-explicit-constructor)

  // NOLINTNEXTLINE(google-explicit-constructor): reads as the string it names
  operator const std::string&() const noexcept { return *s_; }
  // NOLINTNEXTLINE(google-explicit-constructor)
  operator std::string_view() const noexcept { return *s_; }
  [[nodiscard]] const std::string& str() const noexcept { return *s_; }

  [[nodiscard]] bool empty() const noexcept { return s_->empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return s_->size(); }
  [[nodiscard]] std::size_t length() const noexcept { return s_->size(); }
  [[nodiscard]] const char* data() const noexcept { return s_->data(); }
  [[nodiscard]] const char* c_str() const noexcept { return s_->c_str(); }
  [[nodiscard]] std::string::const_iterator begin() const noexcept { return s_->begin(); }
  [[nodiscard]] std::string::const_iterator end() const noexcept { return s_->end(); }
  [[nodiscard]] char operator[](std::size_t i) const noexcept { return (*s_)[i]; }
  [[nodiscard]] char front() const noexcept { return s_->front(); }
  [[nodiscard]] char back() const noexcept { return s_->back(); }
  [[nodiscard]] std::string substr(std::size_t pos, std::size_t n = std::string::npos) const {
    return s_->substr(pos, n);
  }
  [[nodiscard]] std::size_t find(std::string_view what, std::size_t pos = 0) const noexcept {
    return s_->find(what, pos);
  }
  [[nodiscard]] std::size_t find(char what, std::size_t pos = 0) const noexcept {
    return s_->find(what, pos);
  }
  [[nodiscard]] std::size_t rfind(std::string_view what,
                                  std::size_t pos = std::string::npos) const noexcept {
    return s_->rfind(what, pos);
  }
  [[nodiscard]] std::size_t rfind(char what, std::size_t pos = std::string::npos) const noexcept {
    return s_->rfind(what, pos);
  }
  [[nodiscard]] bool starts_with(std::string_view prefix) const noexcept {
    return s_->starts_with(prefix);
  }
  [[nodiscard]] bool ends_with(std::string_view suffix) const noexcept {
    return s_->ends_with(suffix);
  }
  [[nodiscard]] int compare(std::string_view other) const noexcept { return s_->compare(other); }

  friend bool operator==(const Name& a, const Name& b) noexcept { return a.s_ == b.s_; }
  friend bool operator==(const Name& a, std::string_view b) noexcept { return *a.s_ == b; }
  friend bool operator==(const Name& a, const std::string& b) noexcept { return *a.s_ == b; }
  friend bool operator==(const Name& a, const char* b) noexcept {
    return std::string_view(*a.s_) == b;
  }
  friend std::strong_ordering operator<=>(const Name& a, const Name& b) noexcept {
    return a.s_ == b.s_ ? std::strong_ordering::equal : *a.s_ <=> *b.s_;
  }
  friend std::strong_ordering operator<=>(const Name& a, std::string_view b) noexcept {
    return std::string_view(*a.s_) <=> b;
  }
  friend std::strong_ordering operator<=>(const Name& a, const std::string& b) noexcept {
    return *a.s_ <=> b;
  }
  friend std::strong_ordering operator<=>(const Name& a, const char* b) noexcept {
    return std::string_view(*a.s_) <=> std::string_view(b);
  }
  friend std::string operator+(const Name& a, std::string_view b) {
    return std::string(*a.s_).append(b);
  }
  friend std::string operator+(const Name& a, const std::string& b) { return *a.s_ + b; }
  friend std::string operator+(const Name& a, const char* b) { return *a.s_ + b; }
  friend std::string operator+(const Name& a, char b) { return *a.s_ + b; }
  friend std::string operator+(std::string_view a, const Name& b) {
    return std::string(a).append(*b.s_);
  }
  friend std::string operator+(const std::string& a, const Name& b) { return a + *b.s_; }
  friend std::string operator+(std::string&& a, const Name& b) { return std::move(a) + *b.s_; }
  friend std::string operator+(const char* a, const Name& b) { return a + *b.s_; }
  friend std::string operator+(char a, const Name& b) { return a + *b.s_; }
  friend std::string operator+(const Name& a, const Name& b) { return *a.s_ + *b.s_; }
  friend std::ostream& operator<<(std::ostream& out, const Name& n) { return out << *n.s_; }

 private:
  static const std::string& empty_string() noexcept {
    static const std::string empty;
    return empty;
  }
  static const std::string* intern(std::string_view s) {
    if (s.empty()) return &empty_string();
    struct Hash {
      using is_transparent = void;
      std::size_t operator()(std::string_view v) const noexcept {
        return std::hash<std::string_view>{}(v);
      }
    };
    struct Pool {
      std::mutex mutex;
      std::unordered_set<std::string, Hash, std::equal_to<>> names;
    };
    // Never destroyed: a Name in a static may outlive any order of destruction.
    static Pool* const pool = new Pool();
    const std::lock_guard<std::mutex> lock(pool->mutex);
    auto found = pool->names.find(s);
    if (found == pool->names.end()) found = pool->names.emplace(s).first;
    return &*found;
  }

  const std::string* s_;
};

}  // namespace medsafe

template <>
struct std::hash<medsafe::Name> {
  std::size_t operator()(const medsafe::Name& n) const noexcept {
    return std::hash<std::string_view>{}(n);
  }
};
