// Column-aligned tables for human output (ps, policy list, doctor).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace agentos::ctl {

class Table {
 public:
  Table() = default;
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Pads every column but the last, which is free text (commands, details) and may be long.
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace agentos::ctl
