#include "sandbox/caps.h"

#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace agentos::sandbox {
namespace {

// Raw capget/capset: libcap allocates, and the child must not.
int get_caps(__user_cap_data_struct (&data)[2]) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  return ::syscall(SYS_capget, &hdr, data) == 0 ? 0 : errno;
}

int set_caps(__user_cap_data_struct (&data)[2]) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  return ::syscall(SYS_capset, &hdr, data) == 0 ? 0 : errno;
}

int last_cap() {
  // CAP_LAST_CAP from the headers may be older than the running kernel; probe upward.
  int cap = CAP_LAST_CAP;
  while (::prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0) ++cap;
  return cap;
}

}  // namespace

int raise_all_caps() {
  __user_cap_data_struct data[2]{};
  if (int e = get_caps(data)) return e;
  data[0].effective = data[0].permitted;
  data[1].effective = data[1].permitted;
  return set_caps(data);
}

int drop_all_caps() {
  for (int cap = 0, last = last_cap(); cap <= last; ++cap)
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return errno;
  const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                             SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
  if (::prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) return errno;
  __user_cap_data_struct none[2]{};
  return set_caps(none);
}

}  // namespace agentos::sandbox
