// The calendar tools over CalDAV (RFC 4791) against one calendar collection:
//   calendar.read   {from?, to?}                                  events, optionally in a range
//   calendar.create {summary, start, end, location?, description?} a new event; its id and uid
//   calendar.delete {id}                                           an event, by the id read gave
#pragma once

#include <string>

#include "toolhost/curl_client.h"
#include "toolhost/ical_event.h"

namespace agentos::toolhost {

struct ToolAnswer {
  bool error = false;
  Json value;
};

[[nodiscard]] ToolAnswer calendar_tool(CurlClient& curl, const std::string& collection, const std::string& tool,
                                       const Json& args);

}  // namespace agentos::toolhost
