// libFuzzer entry: a calendar object as calendar.read reads it in the tool host from the user's
// CalDAV server; an invitation from anyone may have put its events there.
#include <cstdint>

#include "toolhost/ical_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)agentos::toolhost::events_from_ics(std::string(reinterpret_cast<const char*>(data), size), "fuzz.ics");
  return 0;
}
