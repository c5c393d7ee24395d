// attach_replacing on a real cgroup: all of a daemon's programs go on, replacing an earlier
// daemon's, or none do, and the earlier ones stay. Needs root (CAP_BPF, a cgroup of its own).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/unique_fd.h"
#include "dev.skel.h"
#include "enforce/maps.h"

namespace agentos::enforce {
namespace {

std::string cgroup2_mount() {
  std::ifstream in("/proc/self/mounts");
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string src, dir, type;
    if (words >> src >> dir >> type && type == "cgroup2") return dir;
  }
  return "";
}

uint32_t id_of(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.id : 0;
}

class CgroupAttach : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true")
        FAIL() << "CI runs as root: this test must not skip there";
      GTEST_SKIP() << "attaching BPF programs to a cgroup needs root";
    }
    std::string mount = cgroup2_mount();
    ASSERT_FALSE(mount.empty()) << "no cgroup2 mount";
    dir_ = mount + "/agentos-attach-test-" + std::to_string(::getpid());
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0) << dir_ << ": " << std::strerror(errno);
    cg_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(cg_.valid());
    earlier_ = agentos_dev__open_and_load();
    ours_ = agentos_dev__open_and_load();
    ASSERT_TRUE(earlier_ && ours_) << "cannot load the device hook: " << std::strerror(errno);
  }
  void TearDown() override {
    for (agentos_dev* s : {earlier_, ours_})
      if (s) {
        bpf_prog_detach2(bpf_program__fd(s->progs.agentos_dev), cg_.get(), BPF_CGROUP_DEVICE);
        agentos_dev__destroy(s);
      }
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  std::vector<uint32_t> attached() {
    uint32_t ids[16], count = 16, flags = 0;
    EXPECT_EQ(bpf_prog_query(cg_.get(), BPF_CGROUP_DEVICE, 0, &flags, ids, &count), 0);
    return {ids, ids + count};
  }
  static CgroupProgram dev(agentos_dev* s) { return cgroup_program(s->progs.agentos_dev); }

  std::string dir_;
  UniqueFd cg_;
  agentos_dev* earlier_ = nullptr;
  agentos_dev* ours_ = nullptr;
};

TEST_F(CgroupAttach, ReplacesAnEarlierDaemonsProgram) {
  ASSERT_TRUE(attach_replacing({dev(earlier_)}, cg_.get()).ok());
  EXPECT_EQ(attached(), std::vector<uint32_t>{id_of(dev(earlier_).fd)});
  ASSERT_TRUE(attach_replacing({dev(ours_)}, cg_.get()).ok());
  EXPECT_EQ(attached(), std::vector<uint32_t>{id_of(dev(ours_).fd)});
}

TEST_F(CgroupAttach, AFailedNthAttachLeavesNoneOfOursAndTheEarlierInPlace) {
  ASSERT_TRUE(attach_replacing({dev(earlier_)}, cg_.get()).ok());
  // The second fails in the kernel: a device program does not go on the connect hook.
  CgroupProgram wrong{dev(ours_).fd, BPF_CGROUP_INET4_CONNECT, "agentos_dev"};
  auto s = attach_replacing({dev(ours_), wrong}, cg_.get());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().str().find("attach agentos_dev"), std::string::npos) << s.error().str();
  EXPECT_EQ(attached(), std::vector<uint32_t>{id_of(dev(earlier_).fd)});
}

}  // namespace
}  // namespace agentos::enforce
