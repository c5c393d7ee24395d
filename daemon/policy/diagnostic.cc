#include "policy/policy.h"

namespace agentos::policy {

std::string Diagnostic::str() const {
  if (where.line == 0) return where.file + ": " + message;
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
         message;
}

}  // namespace agentos::policy
