// Events as the calendar tools show and take them, and as iCalendar (libical) stores them.
// Times are "2026-12-01T10:00:00Z" (UTC) or "2026-12-01" (a whole day).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "common/result.h"

namespace agentos::toolhost {

using Json = nlohmann::json;

// The VEVENTs of one calendar object resource (its `id` is the resource's name).
[[nodiscard]] Json events_from_ics(const std::string& ics, const std::string& id);

// A VCALENDAR with one VEVENT from the tool's arguments (summary, start, end, location,
// description), with `uid`; or why the arguments do not make one.
[[nodiscard]] Result<std::string> ics_for_event(const Json& args, const std::string& uid);

// "2026-12-01T10:00:00Z" or "2026-12-01" as iCalendar's basic form ("20261201T100000Z").
[[nodiscard]] Result<std::string> ical_time(const std::string& text);

}  // namespace agentos::toolhost
