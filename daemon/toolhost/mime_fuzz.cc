// libFuzzer entry: a mail message as email.list and email.read read it in the tool host: anyone
// who can send the user mail wrote it. Its summary and its text, as GMime decodes them.
#include <glib.h>

#include <cstdint>

#include "toolhost/mime.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos::toolhost;
  // A GLib critical is a failed assertion in the caller: fatal here, as a sanitizer's report is.
  static const bool ready = (mime_init(), g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL), true);
  (void)ready;
  const std::string raw(reinterpret_cast<const char*>(data), size);
  (void)message_summary(raw);
  (void)message_content(raw, 4096);  // small, so that the cut is reached
  return 0;
}
