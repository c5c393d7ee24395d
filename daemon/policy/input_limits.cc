#include "policy/input_limits.h"

namespace agentos::policy {
namespace {

// Follows TOML's lexical states closely enough to agree with toml++ on every valid prefix of a
// document; past toml++'s first syntax error the two may disagree, which only changes which
// error is reported.
enum class State { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  [[nodiscard]] bool done() const { return i_ >= text_.size(); }
  [[nodiscard]] char peek(size_t ahead = 0) const {
    return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0';
  }
  [[nodiscard]] bool at_run(char c, size_t n) const {
    for (size_t k = 0; k < n; ++k) {
      if (i_ + k >= text_.size() || text_[i_ + k] != c) return false;
    }
    return true;
  }
  [[nodiscard]] TextPosition position() const { return {line_, column_}; }

  void advance() {
    if (done()) return;
    unsigned char c = static_cast<unsigned char>(text_[i_++]);
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else if ((c & 0xC0) != 0x80) {
      // Columns count characters, as toml++'s do, so continuation bytes do not move them.
      ++column_;
    }
  }
  void advance_run(char c) {
    while (!done() && peek() == c) advance();
  }

 private:
  std::string_view text_;
  size_t i_ = 0;
  uint32_t line_ = 1;
  uint32_t column_ = 1;
};

}  // namespace

std::optional<TextPosition> find_structure_excess(std::string_view text, size_t limit) {
  Scanner s(text);
  State state = State::kCode;
  size_t count = 0;
  while (!s.done()) {
    char c = s.peek();
    switch (state) {
      case State::kCode:
        if (c == '#') {
          state = State::kComment;
        } else if (c == '"' || c == '\'') {
          bool multi = s.at_run(c, 3);
          state = c == '"' ? (multi ? State::kMultiBasic : State::kBasic)
                           : (multi ? State::kMultiLiteral : State::kLiteral);
          if (multi) {
            s.advance();
            s.advance();
          }
        } else if (c == '[' || c == '{' || c == '.') {
          if (++count > limit) return s.position();
        }
        s.advance();
        break;
      case State::kComment:
        if (c == '\n') state = State::kCode;
        s.advance();
        break;
      case State::kBasic:
        // A newline cannot occur in a single-line string; toml++ stops there, and so do we.
        if (c == '"' || c == '\n') state = State::kCode;
        if (c == '\\' && s.peek(1) != '\n') s.advance();
        s.advance();
        break;
      case State::kLiteral:
        if (c == '\'' || c == '\n') state = State::kCode;
        s.advance();
        break;
      case State::kMultiBasic:
        if (c == '\\') {
          s.advance();
          s.advance();
        } else if (s.at_run('"', 3)) {
          // Up to two more quotes belong to the string's content; the run closes it either way.
          s.advance_run('"');
          state = State::kCode;
        } else {
          s.advance();
        }
        break;
      case State::kMultiLiteral:
        if (s.at_run('\'', 3)) {
          s.advance_run('\'');
          state = State::kCode;
        } else {
          s.advance();
        }
        break;
    }
  }
  return std::nullopt;
}

}  // namespace agentos::policy
