#include "policy/net_rule.h"

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <string>

#include "policy/quote.h"

namespace agentos::policy {
namespace {

// Decimal digits only: from_chars alone would accept a leading '-' for signed types and we want
// "+80", " 80" and "0x50" refused too.
std::optional<uint32_t> parse_decimal(std::string_view s, uint32_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Zeroes the bits past `prefix_len`; returns whether any were set.
bool clear_host_bits(std::array<uint8_t, 16>& addr, size_t bytes, unsigned prefix_len) {
  bool had = false;
  for (size_t i = 0; i < bytes; ++i) {
    unsigned first_bit = static_cast<unsigned>(i) * 8;
    uint8_t keep = 0;
    if (prefix_len >= first_bit + 8) {
      keep = 0xFF;
    } else if (prefix_len > first_bit) {
      keep = static_cast<uint8_t>(0xFF << (8 - (prefix_len - first_bit)));
    }
    if (addr[i] & ~keep) had = true;
    addr[i] &= keep;
  }
  return had;
}

}  // namespace

Result<NetRule> parse_net_rule(std::string_view text) {
  NetRule rule;
  rule.text = std::string(text);
  const std::string what = quote_text(text);

  std::string_view rest = text;
  if (rest.starts_with("tcp://")) {
    rule.proto = Proto::kTcp;
  } else if (rest.starts_with("udp://")) {
    rule.proto = Proto::kUdp;
  } else {
    return error(what + " does not start with \"tcp://\" or \"udp://\"");
  }
  rest.remove_prefix(6);

  // Split "<host>:<port>", where an IPv6 host is bracketed so its colons are not the port's.
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (rest.starts_with('[')) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return error(what + " has \"[\" without a closing \"]\"");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return error(what + " has " + quote_text(after) + " after \"]\" where \":port\" should be");
      }
      has_port = true;
      port = after.substr(1);
    }
    rule.family = AF_INET6;
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      host = rest;
    } else {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      has_port = true;
    }
    if (host.find(':') != std::string_view::npos) {
      return error(what + ": an IPv6 address goes in brackets, e.g. \"tcp://[2001:db8::1]:443\"");
    }
    rule.family = AF_INET;
  }
  const unsigned max_prefix = rule.family == AF_INET ? 32 : 128;

  std::string_view address = host;
  std::optional<std::string_view> prefix_text;
  if (size_t slash = host.find('/'); slash != std::string_view::npos) {
    address = host.substr(0, slash);
    prefix_text = host.substr(slash + 1);
  }
  if (address.empty()) return error(what + " has no address");
  // inet_pton needs a NUL-terminated string; `address` may contain anything, NUL included.
  std::string address_z(address);
  if (address_z.find('\0') != std::string::npos ||
      inet_pton(rule.family, address_z.c_str(), rule.addr.data()) != 1) {
    return error(what + ": " + quote_text(address) + " is not an " +
                 (rule.family == AF_INET ? "IPv4" : "IPv6") + " address");
  }

  rule.prefix_len = static_cast<uint8_t>(max_prefix);
  if (prefix_text) {
    std::optional<uint32_t> p = parse_decimal(*prefix_text, max_prefix);
    if (!p) {
      if (all_digits(*prefix_text)) {
        return error(what + ": prefix /" + std::string(*prefix_text) + " is out of range 0.." +
                     std::to_string(max_prefix));
      }
      return error(what + ": prefix " + quote_text(*prefix_text) + " is not a number 0.." +
                   std::to_string(max_prefix));
    }
    rule.prefix_len = static_cast<uint8_t>(*p);
  }

  if (!has_port) return error(what + " has no port (add \":PORT\", 1..65535)");
  if (port.empty()) return error(what + " has an empty port (1..65535)");
  std::optional<uint32_t> port_value = parse_decimal(port, 65535);
  if (!port_value || *port_value == 0) {
    if (all_digits(port)) {
      return error(what + ": port " + std::string(port.substr(0, 20)) +
                   " is out of range 1..65535");
    }
    return error(what + ": port " + quote_text(port) + " is not a number 1..65535");
  }
  rule.port = static_cast<uint16_t>(*port_value);

  std::array<uint8_t, 16> network = rule.addr;
  size_t bytes = rule.family == AF_INET ? 4 : 16;
  if (clear_host_bits(network, bytes, rule.prefix_len)) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(rule.family, network.data(), buf, sizeof buf);
    std::string net = rule.family == AF_INET ? std::string(buf) : "[" + std::string(buf) + "]";
    return error(what + ": " + quote_text(host) + " has host bits set beyond /" +
                 std::to_string(rule.prefix_len) + "; the network address is " + net + "/" +
                 std::to_string(rule.prefix_len));
  }
  return rule;
}

bool loopback(const NetRule& r) {
  if (r.family == AF_INET) return r.prefix_len >= 8 && r.addr[0] == 127;
  static constexpr uint8_t kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return r.prefix_len == 128 && std::equal(r.addr.begin(), r.addr.end(), kLoopback6);
}

}  // namespace agentos::policy
