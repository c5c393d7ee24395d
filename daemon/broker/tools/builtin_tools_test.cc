// The policy parser knows the platform's tools and their arguments from one table
// (policy/builtin_tools.h): every provider's tools, and every argument of each, are in it, and
// nothing else is, so a grant or constraint the parser accepts is one the broker can honour.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "broker/tools/account_tools.h"
#include "broker/tools/delegation.h"
#include "broker/tools/http_fetch.h"
#include "broker/tools/kv_store.h"
#include "broker/tools/workspace.h"
#include "policy/builtin_tools.h"

namespace agentos::broker {
namespace {

TEST(BuiltinTools, TheParsersTableIsTheProvidersTools) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  std::vector<std::unique_ptr<Provider>> providers;
  providers.push_back(std::make_unique<KvStore>("/nonexistent"));
  providers.push_back(std::make_unique<Workspace>("/nonexistent"));
  providers.push_back(std::make_unique<HttpFetch>(*loop, nullptr));
  providers.push_back(std::make_unique<Delegation>(*loop, nullptr, nullptr));
  providers.push_back(std::make_unique<AccountTools>(*loop, AccountTools::Deps{}));
  std::set<std::string> offered;
  for (const auto& p : providers)
    for (const auto& spec : p->tools()) {
      offered.insert(spec.name);
      const policy::BuiltinTool* known = policy::builtin_tool(spec.name);
      ASSERT_NE(known, nullptr) << spec.name << " is missing from policy/builtin_tools.cc";
      std::set<std::string> args, table;
      for (auto& [name, schema] : spec.input_schema.at("properties").items()) args.insert(name);
      for (auto a : known->arguments)
        if (!a.empty()) table.insert(std::string(a));
      EXPECT_EQ(args, table) << spec.name;
      EXPECT_TRUE(policy::platform_family(spec.name.substr(0, spec.name.find('.')))) << spec.name;
    }
  for (const auto& t : policy::builtin_tools()) EXPECT_TRUE(offered.contains(std::string(t.name))) << t.name;
}

}  // namespace
}  // namespace agentos::broker
