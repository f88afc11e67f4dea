#pragma once
/// TextField: an owned string one pointer wide, empty without an allocation, for the row
/// members that are empty in most rows RunData holds: a RunData read with its texts deferred
/// leaves every answer, prompt, reference, content hash and verdict reason empty, and a
/// std::string is 32 bytes even then (a million rows: 32 MB a member). Non-empty, it costs one
/// allocation more than a std::string; it reads like a const std::string (converts to one and to
/// std::string_view, compares with both) and is assigned from either.
#include <compare>
#include <cstddef>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace medsafe {

class TextField {
 public:
  TextField() noexcept = default;
  TextField(std::string s) { assign(std::move(s)); }         // NOLINT(google-explicit-constructor)
  TextField(std::string_view s) { assign(std::string(s)); }  // NOLINT
  TextField(const char* s) { assign(std::string(s)); }       // NOLINT
  TextField(const TextField& other) : s_(other.s_ ? new std::string(*other.s_) : nullptr) {}
  TextField(TextField&&) noexcept = default;
  TextField& operator=(const TextField& other) {
    if (this != &other) s_.reset(other.s_ ? new std::string(*other.s_) : nullptr);
    return *this;
  }
  TextField& operator=(TextField&&) noexcept = default;
  ~TextField() = default;

  // NOLINTNEXTLINE(google-explicit-constructor): reads as the string it holds
  operator const std::string&() const noexcept { return str(); }
  // NOLINTNEXTLINE(google-explicit-constructor)
  operator std::string_view() const noexcept { return str(); }
  [[nodiscard]] const std::string& str() const noexcept { return s_ ? *s_ : empty_string(); }

  [[nodiscard]] bool empty() const noexcept { return !s_; }
  [[nodiscard]] std::size_t size() const noexcept { return s_ ? s_->size() : 0; }
  [[nodiscard]] std::size_t length() const noexcept { return size(); }
  [[nodiscard]] const char* data() const noexcept { return str().data(); }
  [[nodiscard]] const char* c_str() const noexcept { return str().c_str(); }
  [[nodiscard]] std::string::const_iterator begin() const noexcept { return str().begin(); }
  [[nodiscard]] std::string::const_iterator end() const noexcept { return str().end(); }
  [[nodiscard]] char operator[](std::size_t i) const noexcept { return str()[i]; }
  [[nodiscard]] std::string substr(std::size_t pos, std::size_t n = std::string::npos) const {
    return str().substr(pos, n);
  }
  [[nodiscard]] std::size_t find(std::string_view what, std::size_t pos = 0) const noexcept {
    return str().find(what, pos);
  }
  [[nodiscard]] std::size_t find(char what, std::size_t pos = 0) const noexcept {
    return str().find(what, pos);
  }
  [[nodiscard]] std::size_t rfind(std::string_view what,
                                  std::size_t pos = std::string::npos) const noexcept {
    return str().rfind(what, pos);
  }
  [[nodiscard]] std::size_t rfind(char what, std::size_t pos = std::string::npos) const noexcept {
    return str().rfind(what, pos);
  }
  [[nodiscard]] bool starts_with(std::string_view prefix) const noexcept {
    return str().starts_with(prefix);
  }
  [[nodiscard]] bool ends_with(std::string_view suffix) const noexcept {
    return str().ends_with(suffix);
  }
  [[nodiscard]] int compare(std::string_view other) const noexcept { return str().compare(other); }
  void clear() noexcept { s_.reset(); }

  friend bool operator==(const TextField& a, const TextField& b) noexcept {
    return a.str() == b.str();
  }
  friend bool operator==(const TextField& a, std::string_view b) noexcept { return a.str() == b; }
  friend bool operator==(const TextField& a, const std::string& b) noexcept { return a.str() == b; }
  friend bool operator==(const TextField& a, const char* b) noexcept {
    return std::string_view(a.str()) == b;
  }
  friend std::strong_ordering operator<=>(const TextField& a, const TextField& b) noexcept {
    return a.str() <=> b.str();
  }
  friend std::strong_ordering operator<=>(const TextField& a, std::string_view b) noexcept {
    return std::string_view(a.str()) <=> b;
  }
  friend std::strong_ordering operator<=>(const TextField& a, const std::string& b) noexcept {
    return a.str() <=> b;
  }
  friend std::strong_ordering operator<=>(const TextField& a, const char* b) noexcept {
    return std::string_view(a.str()) <=> std::string_view(b);
  }
  friend std::string operator+(const TextField& a, std::string_view b) {
    return std::string(a.str()).append(b);
  }
  friend std::string operator+(const TextField& a, const std::string& b) { return a.str() + b; }
  friend std::string operator+(const TextField& a, const char* b) { return a.str() + b; }
  friend std::string operator+(const TextField& a, char b) { return a.str() + b; }
  friend std::string operator+(std::string_view a, const TextField& b) {
    return std::string(a).append(b.str());
  }
  friend std::string operator+(const std::string& a, const TextField& b) { return a + b.str(); }
  friend std::string operator+(std::string&& a, const TextField& b) {
    return std::move(a) + b.str();
  }
  friend std::string operator+(const char* a, const TextField& b) { return a + b.str(); }
  friend std::string operator+(char a, const TextField& b) { return a + b.str(); }
  friend std::ostream& operator<<(std::ostream& out, const TextField& t) { return out << t.str(); }

 private:
  static const std::string& empty_string() noexcept {
    static const std::string empty;
    return empty;
  }
  void assign(std::string&& s) {
    if (!s.empty()) s_ = std::make_unique<std::string>(std::move(s));
  }

  std::unique_ptr<std::string> s_;
};

}  // namespace medsafe
