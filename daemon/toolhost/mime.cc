#include "toolhost/mime.h"

#include <gmime/gmime.h>

#include <memory>

namespace agentos::toolhost {
namespace {

template <typename T>
struct GUnref {
  void operator()(T* p) const { g_object_unref(p); }
};
template <typename T>
using GPtr = std::unique_ptr<T, GUnref<T>>;

struct PartIterFree {  // not a GObject: g_object_unref would fail its check and leak it
  void operator()(GMimePartIter* p) const { g_mime_part_iter_free(p); }
};

struct GFree {
  void operator()(char* p) const { g_free(p); }
};
using GString_ = std::unique_ptr<char, GFree>;

GPtr<GMimeMessage> parse(const std::string& raw) {
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  return GPtr<GMimeMessage>(g_mime_parser_construct_message(parser.get(), nullptr));
}

std::string addresses(InternetAddressList* list) {
  if (!list || internet_address_list_length(list) == 0) return "";
  GString_ s(internet_address_list_to_string(list, nullptr, FALSE));
  return s ? s.get() : "";
}

Json summary_of(GMimeMessage* m) {
  Json out = Json::object();
  out["from"] = addresses(g_mime_message_get_from(m));
  out["to"] = addresses(g_mime_message_get_to(m));
  if (std::string cc = addresses(g_mime_message_get_cc(m)); !cc.empty()) out["cc"] = cc;
  const char* subject = g_mime_message_get_subject(m);
  out["subject"] = subject ? subject : "";
  if (GDateTime* d = g_mime_message_get_date(m)) {
    GString_ iso(g_date_time_format_iso8601(d));
    if (iso) out["date"] = iso.get();
  }
  return out;
}

std::string clean_utf8(const char* s) {
  // A part that claims UTF-8 and is not: never pass invalid UTF-8 into JSON.
  GString_ valid(g_utf8_make_valid(s, -1));
  return valid ? valid.get() : "";
}

}  // namespace

void mime_init() { g_mime_init(); }

Json message_summary(const std::string& raw) {
  auto m = parse(raw);
  return m ? summary_of(m.get()) : Json::object();
}

Json message_content(const std::string& raw, size_t max_text) {
  auto m = parse(raw);
  if (!m) return Json{{"error", "not a mail message"}};
  Json out = summary_of(m.get());
  std::string plain, html;
  Json attachments = Json::array();
  std::unique_ptr<GMimePartIter, PartIterFree> it(g_mime_part_iter_new(GMIME_OBJECT(m.get())));
  for (bool more = g_mime_part_iter_is_valid(it.get()); more; more = g_mime_part_iter_next(it.get())) {
    GMimeObject* obj = g_mime_part_iter_get_current(it.get());
    if (!GMIME_IS_PART(obj)) continue;
    GMimePart* part = GMIME_PART(obj);
    if (g_mime_part_is_attachment(part)) {
      const char* name = g_mime_part_get_filename(part);
      attachments.push_back({{"name", name ? name : ""}, {"type", GString_(g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj))).get()}});
      continue;
    }
    if (!GMIME_IS_TEXT_PART(obj)) continue;
    GMimeContentType* type = g_mime_object_get_content_type(obj);
    bool is_plain = g_mime_content_type_is_type(type, "text", "plain");
    bool is_html = g_mime_content_type_is_type(type, "text", "html");
    if ((is_plain && plain.empty()) || (is_html && html.empty())) {
      GString_ text(g_mime_text_part_get_text(GMIME_TEXT_PART(obj)));
      if (text) (is_plain ? plain : html) = clean_utf8(text.get());
    }
  }
  std::string body = !plain.empty() ? plain : html;
  if (plain.empty() && !html.empty()) out["text_is_html"] = true;
  if (body.size() > max_text) {
    body.resize(max_text);
    body = clean_utf8(body.c_str());  // a cut may split a character
    out["truncated"] = true;
  }
  out["text"] = body;
  out["attachments"] = std::move(attachments);
  return out;
}

Result<std::string> compose_message(const std::string& from, const std::vector<std::string>& to, const std::string& subject,
                                    const std::string& body, std::string* message_id) {
  if (!g_utf8_validate(subject.data(), static_cast<gssize>(subject.size()), nullptr) ||
      !g_utf8_validate(body.data(), static_cast<gssize>(body.size()), nullptr))
    return error("subject and body must be UTF-8 text");
  for (char c : subject)
    if (static_cast<unsigned char>(c) < ' ') return error("subject must be one line");
  GPtr<GMimeMessage> m(g_mime_message_new(TRUE));
  g_mime_message_add_mailbox(m.get(), GMIME_ADDRESS_TYPE_FROM, nullptr, from.c_str());
  for (const auto& r : to) g_mime_message_add_mailbox(m.get(), GMIME_ADDRESS_TYPE_TO, nullptr, r.c_str());
  g_mime_message_set_subject(m.get(), subject.c_str(), "utf-8");
  GDateTime* now = g_date_time_new_now_utc();
  g_mime_message_set_date(m.get(), now);
  g_date_time_unref(now);
  std::string domain = from.substr(from.rfind('@') + 1);
  GString_ id(g_mime_utils_generate_message_id(domain.c_str()));
  g_mime_message_set_message_id(m.get(), id.get());
  *message_id = id.get();
  GPtr<GMimeTextPart> text(g_mime_text_part_new_with_subtype("plain"));
  g_mime_text_part_set_text(text.get(), body.c_str());  // picks UTF-8 and a transfer encoding
  g_mime_message_set_mime_part(m.get(), GMIME_OBJECT(text.get()));
  GMimeFormatOptions* opts = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(opts, GMIME_NEWLINE_FORMAT_DOS);
  GString_ wire(g_mime_object_to_string(GMIME_OBJECT(m.get()), opts));
  g_mime_format_options_free(opts);
  if (!wire) return error("the message could not be written");
  return std::string(wire.get());
}

}  // namespace agentos::toolhost
