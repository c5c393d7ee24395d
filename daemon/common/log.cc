#include "common/log.h"

#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <cstdio>
#include <cstdlib>

namespace agentos::log {
namespace {

// systemd sets JOURNAL_STREAM when stderr is connected to the journal.
bool to_journal() {
  static const bool yes = std::getenv("JOURNAL_STREAM") != nullptr;
  return yes;
}

}  // namespace

void write(Level level, const std::string& message, const Fields& fields) {
  if (!to_journal()) {
    std::string line = "agentosd: " + message;
    for (const auto& [k, v] : fields) line += " " + k + "=" + v;
    std::fprintf(stderr, "%s\n", line.c_str());
    return;
  }
  std::vector<std::string> items = {"MESSAGE=" + message,
                                    "PRIORITY=" + std::to_string(static_cast<int>(level)),
                                    "SYSLOG_IDENTIFIER=agentosd"};
  for (const auto& [k, v] : fields) items.push_back(k + "=" + v);
  std::vector<iovec> iov;
  for (auto& s : items) iov.push_back({s.data(), s.size()});
  sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

}  // namespace agentos::log
