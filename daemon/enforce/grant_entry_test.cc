// An agent's map entries are taken back by their owner unless its start completed.
#include "enforce/grant_entry.h"

#include <gtest/gtest.h>

#include <set>

namespace agentos::enforce {
namespace {

// A guard's contract as GrantEntry uses it: add() installs all or nothing, remove() takes all.
struct CountingGuard {
  std::set<uint64_t> governed;
  bool refuse = false;
  Status add(uint64_t cg, int /*rules*/) {
    if (refuse) return error("refused");
    governed.insert(cg);
    return {};
  }
  void remove(uint64_t cg) { governed.erase(cg); }
};

TEST(GrantEntry, TakenBackUnlessReleased) {
  CountingGuard g;
  {
    auto e = grant(g, 7, 3);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(g.governed, std::set<uint64_t>{7});
  }  // the start failed after this step
  EXPECT_TRUE(g.governed.empty());
  {
    auto e = grant(g, 8, 3);
    ASSERT_TRUE(e.ok());
    e->release();  // the agent runs
  }
  EXPECT_EQ(g.governed, std::set<uint64_t>{8});
}

TEST(GrantEntry, ARefusedAddOwnsNothing) {
  CountingGuard g;
  g.governed.insert(9);  // another agent's
  g.refuse = true;
  EXPECT_FALSE(grant(g, 9, 3).ok());
  EXPECT_EQ(g.governed, std::set<uint64_t>{9});  // not removed by the failed owner
}

TEST(GrantEntry, MovedOwnershipUndoesOnce) {
  CountingGuard g;
  GrantEntry<CountingGuard> kept;
  {
    auto e = grant(g, 5, 3);
    ASSERT_TRUE(e.ok());
    kept = std::move(*e);
  }  // the moved-from owner does nothing
  EXPECT_EQ(g.governed, std::set<uint64_t>{5});
  kept = GrantEntry<CountingGuard>();  // assignment undoes what was held
  EXPECT_TRUE(g.governed.empty());
}

}  // namespace
}  // namespace agentos::enforce
