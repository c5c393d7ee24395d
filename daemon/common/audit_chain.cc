#include "common/audit_chain.h"

#include <algorithm>

#include "common/bounded_json.h"

namespace agentos::audit_chain {
namespace {

constexpr std::string_view kHashField = ",\"hash\":\"";
constexpr size_t kHexLength = kGenesis.size();

std::string text_of(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

bool is_hash(std::string_view s) {
  return s.size() == kHexLength &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }

void Sha256::update(std::string_view bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }

std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &len);
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kDigits[md[i] >> 4];
    out += kDigits[md[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

std::string seal(std::string_view body) {
  std::string line(body.substr(0, body.size() - 1));  // without its closing brace
  line += kHashField;
  line += sha256_hex(body);
  line += "\"}";
  return line;
}

Line parse(std::string_view text) {
  Line out;
  size_t at = text.rfind(kHashField);
  bool shaped = at != std::string_view::npos && text.ends_with("\"}") &&
                at + kHashField.size() + kHexLength + 2 == text.size() &&
                is_hash(text.substr(at + kHashField.size(), kHexLength));
  if (!shaped) {
    auto parsed = parse_json(text, {kJsonMaxDepth, text.size()});  // lines carry what agents sent
    if (!parsed || !parsed->is_object()) return out;
    const nlohmann::json& j = *parsed;
    if (j.contains("hash")) {
      out.kind = Line::Kind::kAltered;
      out.why = "rewritten: its hash no longer covers the line as it is written";
    } else {
      out.kind = Line::Kind::kUnchained;
    }
    return out;
  }
  std::string body(text.substr(0, at));
  body += '}';
  Record& r = out.record;
  r.hash = std::string(text.substr(at + kHashField.size(), kHexLength));
  out.kind = Line::Kind::kAltered;
  if (sha256_hex(body) != r.hash) {
    out.why = "its hash does not match its content: the line was changed after it was written";
    return out;
  }
  auto parsed = parse_json(body, {kJsonMaxDepth, body.size()});
  r.body = parsed ? std::move(*parsed) : nlohmann::json(nlohmann::json::value_t::discarded);
  const auto seq = r.body.is_object() ? r.body.find("seq") : r.body.end();
  const auto prev = r.body.is_object() ? r.body.find("prev") : r.body.end();
  if (seq == r.body.end() || !seq->is_number_unsigned() || prev == r.body.end() || !prev->is_string() ||
      !is_hash(prev->get<std::string>())) {
    out.why = "not a record of the chain (no seq or prev)";
    return out;
  }
  r.seq = seq->get<uint64_t>();
  r.prev = prev->get<std::string>();
  r.torn = text_of(r.body, "torn");
  r.decision = text_of(r.body, "decision");
  out.kind = Line::Kind::kRecord;
  return out;
}

}  // namespace agentos::audit_chain
