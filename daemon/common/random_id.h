// Short random identifiers (agent ids, pending call ids), from the kernel's random pool.
#pragma once

#include <sys/random.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace agentos {

// `bytes` random bytes as lower-case hex.
inline std::string random_hex(size_t bytes) {
  unsigned char b[32];
  bytes = bytes > sizeof b ? sizeof b : bytes;
  if (::getrandom(b, bytes, 0) != static_cast<ssize_t>(bytes)) ::arc4random_buf(b, bytes);
  std::string out(bytes * 2, '0');
  for (size_t i = 0; i < bytes; ++i) std::snprintf(out.data() + 2 * i, 3, "%02x", b[i]);
  return out;
}

}  // namespace agentos
