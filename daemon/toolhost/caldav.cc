#include "toolhost/caldav.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sys/random.h>

#include <cstring>
#include <memory>

namespace agentos::toolhost {
namespace {

constexpr const char* kDav = "DAV:";
constexpr const char* kCalDav = "urn:ietf:params:xml:ns:caldav";

ToolAnswer fail(std::string why) { return {true, Json{{"error", std::move(why)}}}; }

std::string str_arg(const Json& args, const char* k) {
  return args.contains(k) && args[k].is_string() ? args[k].get<std::string>() : "";
}

bool is(const xmlNode* n, const char* ns, const char* name) {
  return n->type == XML_ELEMENT_NODE && n->ns && std::strcmp(reinterpret_cast<const char*>(n->ns->href), ns) == 0 &&
         std::strcmp(reinterpret_cast<const char*>(n->name), name) == 0;
}

// The first element below `n` (at any depth) named ns:name.
const xmlNode* find(const xmlNode* n, const char* ns, const char* name) {
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (is(c, ns, name)) return c;
    if (const xmlNode* d = find(c, ns, name)) return d;
  }
  return nullptr;
}

std::string content(const xmlNode* n) {
  std::unique_ptr<xmlChar, void (*)(void*)> t(xmlNodeGetContent(n), xmlFree);
  return t ? reinterpret_cast<const char*>(t.get()) : "";
}

// The last path segment of an href: the resource's name within the collection.
std::string name_of(std::string href) {
  while (!href.empty() && href.back() == '/') href.pop_back();
  return href.substr(href.rfind('/') + 1);
}

// A resource name the collection URL can take as is: no path, nothing to escape.
bool safe_name(const std::string& id) {
  if (id.empty() || id.size() > 255 || id == "." || id == "..") return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::strchr("._@-", c) == nullptr) return false;
  return true;
}

std::string new_uid() {
  unsigned char b[16];
  if (::getrandom(b, sizeof b, 0) != sizeof b) return "";
  std::string s;
  char hex[3];
  for (unsigned char c : b) std::snprintf(hex, sizeof hex, "%02x", c), s += hex;
  return s + "@agentos";
}

std::string http_failure(long status, const std::string& body) {
  std::string head = body.substr(0, 200);
  for (char& c : head)
    if (c == '\n' || c == '\r') c = ' ';
  return "the calendar server answered " + std::to_string(status) + (head.empty() ? "" : ": " + head);
}

ToolAnswer read_events(CurlClient& curl, const std::string& url, const Json& args) {
  std::string range;
  std::string from = str_arg(args, "from"), to = str_arg(args, "to");
  if (!from.empty() || !to.empty()) {
    range = "<c:time-range";
    for (auto [attr, text] : {std::pair{"start", &from}, {"end", &to}}) {
      if (text->empty()) continue;
      auto t = ical_time(*text);
      if (!t) return fail(t.error().str());
      range += std::string(" ") + attr + "=\"" + (t->find('T') == std::string::npos ? *t + "T000000Z" : *t) + "\"";
    }
    range += "/>";
  }
  std::string query = R"(<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/><c:calendar-data/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">)" +
                      range + "</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>";
  auto r = curl.http("REPORT", url, {"Depth: 1", "Content-Type: application/xml; charset=utf-8"}, query);
  if (!r) return fail(r.error().str());
  if (r->status != 207) return fail(http_failure(r->status, r->body));
  std::unique_ptr<xmlDoc, void (*)(xmlDoc*)> doc(
      xmlReadMemory(r->body.data(), static_cast<int>(r->body.size()), "multistatus.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
      xmlFreeDoc);
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!root || !is(root, kDav, "multistatus")) return fail("the calendar server's answer is not a DAV multistatus");
  Json events = Json::array();
  for (const xmlNode* resp = root->children; resp; resp = resp->next) {
    if (!is(resp, kDav, "response")) continue;
    const xmlNode* href = find(resp, kDav, "href");
    const xmlNode* data = find(resp, kCalDav, "calendar-data");
    if (!href || !data) continue;
    for (auto& e : events_from_ics(content(data), name_of(content(href)))) events.push_back(std::move(e));
  }
  return {false, Json{{"events", std::move(events)}}};
}

ToolAnswer create_event(CurlClient& curl, const std::string& url, const Json& args) {
  std::string uid = new_uid();
  if (uid.empty()) return fail("no randomness for a uid");
  auto ics = ics_for_event(args, uid);
  if (!ics) return fail(ics.error().str());
  std::string id = uid.substr(0, uid.find('@')) + ".ics";
  // If-None-Match: never overwrite what is there.
  auto r = curl.http("PUT", url + id, {"Content-Type: text/calendar; charset=utf-8", "If-None-Match: *"}, *ics);
  if (!r) return fail(r.error().str());
  if (r->status != 201 && r->status != 204) return fail(http_failure(r->status, r->body));
  return {false, Json{{"id", id}, {"uid", uid}}};
}

ToolAnswer delete_event(CurlClient& curl, const std::string& url, const Json& args) {
  std::string id = str_arg(args, "id");
  if (!safe_name(id)) return fail("id must be an event's id as calendar.read gives it ([A-Za-z0-9._@-])");
  auto r = curl.http("DELETE", url + id, {}, "");
  if (!r) return fail(r.error().str());
  if (r->status == 404) return fail("no event " + id);
  if (r->status != 200 && r->status != 204) return fail(http_failure(r->status, r->body));
  return {false, Json{{"deleted", id}}};
}

}  // namespace

ToolAnswer calendar_tool(CurlClient& curl, const std::string& collection, const std::string& tool, const Json& args) {
  if (tool == "calendar.read") return read_events(curl, collection, args);
  if (tool == "calendar.create") return create_event(curl, collection, args);
  if (tool == "calendar.delete") return delete_event(curl, collection, args);
  return fail("no tool " + tool);
}

}  // namespace agentos::toolhost
