#include "toolhost/ical_event.h"

#include <libical/ical.h>

#include <cstdio>
#include <memory>

namespace agentos::toolhost {
namespace {

using Component = std::unique_ptr<icalcomponent, void (*)(icalcomponent*)>;

std::string time_text(icaltimetype t) {
  char buf[32];
  if (icaltime_is_date(t)) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", t.year, t.month, t.day);
    return buf;
  }
  bool floating = icaltime_get_timezone(t) == nullptr;  // no zone: local to whoever reads it
  if (!floating) t = icaltime_convert_to_zone(t, icaltimezone_get_utc_timezone());
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%s", t.year, t.month, t.day, t.hour, t.minute, t.second,
                floating ? "" : "Z");
  return buf;
}

Result<icaltimetype> parse_time(const std::string& text) {
  int y, mo, d, h = 0, mi = 0, s = 0;
  char z = 0, end = 0;
  icaltimetype t = icaltime_null_time();
  if (text.size() == 10 && std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &mo, &d, &end) == 3) {
    t.is_date = 1;
  } else if (text.size() == 20 &&
             std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &y, &mo, &d, &h, &mi, &s, &z, &end) == 7 && z == 'Z') {
    t.zone = icaltimezone_get_utc_timezone();
  } else {
    return error("time " + text + " must be 2026-12-01T10:00:00Z (UTC) or 2026-12-01 (a whole day)");
  }
  t.year = y, t.month = mo, t.day = d, t.hour = h, t.minute = mi, t.second = s;
  if (mo < 1 || mo > 12 || d < 1 || d > icaltime_days_in_month(mo, y) || h > 23 || mi > 59 || s > 60 || y < 1900 || y > 9999)
    return error("time " + text + " is not a date");
  return t;
}

std::string text_of(const char* s) { return s ? s : ""; }

}  // namespace

Json events_from_ics(const std::string& ics, const std::string& id) {
  Json out = Json::array();
  Component cal(icalparser_parse_string(ics.c_str()), icalcomponent_free);
  if (!cal) return out;
  for (icalcomponent* e = icalcomponent_get_first_component(cal.get(), ICAL_VEVENT_COMPONENT); e;
       e = icalcomponent_get_next_component(cal.get(), ICAL_VEVENT_COMPONENT)) {
    Json ev{{"id", id}, {"uid", text_of(icalcomponent_get_uid(e))}, {"summary", text_of(icalcomponent_get_summary(e))}};
    icaltimetype start = icalcomponent_get_dtstart(e), end = icalcomponent_get_dtend(e);
    if (!icaltime_is_null_time(start)) ev["start"] = time_text(start);
    if (!icaltime_is_null_time(end)) ev["end"] = time_text(end);
    if (const char* l = icalcomponent_get_location(e)) ev["location"] = l;
    if (const char* d = icalcomponent_get_description(e)) ev["description"] = d;
    if (icalcomponent_get_first_property(e, ICAL_RRULE_PROPERTY)) ev["recurring"] = true;
    out.push_back(std::move(ev));
  }
  return out;
}

Result<std::string> ical_time(const std::string& text) {
  auto t = parse_time(text);
  if (!t) return t.error();
  return std::string(icaltime_as_ical_string(*t));
}

Result<std::string> ics_for_event(const Json& args, const std::string& uid) {
  auto str = [&](const char* k) { return args.contains(k) && args[k].is_string() ? args[k].get<std::string>() : ""; };
  std::string summary = str("summary");
  if (summary.empty() || summary.size() > 1024) return error("summary must be 1..1024 characters");
  auto start = parse_time(str("start"));
  if (!start) return start.error();
  auto end = parse_time(str("end"));
  if (!end) return end.error();
  if (start->is_date != end->is_date) return error("start and end must both be times or both be days");
  if (icaltime_compare(*end, *start) <= 0) return error("end must be after start");
  for (const char* k : {"location", "description"})
    if (str(k).size() > 64 * 1024) return error(std::string(k) + " is longer than 64 KiB");

  Component cal(icalcomponent_new_vcalendar(), icalcomponent_free);
  icalcomponent_add_property(cal.get(), icalproperty_new_version("2.0"));
  icalcomponent_add_property(cal.get(), icalproperty_new_prodid("-//agentos//calendar tool//EN"));
  icalcomponent* ev = icalcomponent_new_vevent();
  icalcomponent_set_uid(ev, uid.c_str());
  icalcomponent_set_dtstamp(ev, icaltime_current_time_with_zone(icaltimezone_get_utc_timezone()));
  icalcomponent_set_dtstart(ev, *start);
  icalcomponent_set_dtend(ev, *end);
  icalcomponent_set_summary(ev, summary.c_str());  // libical escapes text and folds lines
  if (!str("location").empty()) icalcomponent_set_location(ev, str("location").c_str());
  if (!str("description").empty()) icalcomponent_set_description(ev, str("description").c_str());
  icalcomponent_add_component(cal.get(), ev);
  return std::string(icalcomponent_as_ical_string(cal.get()));
}

}  // namespace agentos::toolhost
