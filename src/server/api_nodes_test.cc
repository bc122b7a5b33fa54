// The server API's `info` with several nodes: api_options::list_nodes (filled from the Redis
// node registry in duplex serve) decides what `info` lists; local_node() is this node's entry.
#include <gtest/gtest.h>

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hub/channel_hub.h"
#include "hub/memory_broker.h"
#include "server/api.h"
#include "support/manual_executor.h"

namespace duplex::service {
namespace {

using nlohmann::json;

class ApiNodes : public ::testing::Test {
 protected:
  ApiNodes() { hub_.emplace(std::span<executor* const>(execs_), broker_, namespaces_, formats_); }

  // Calls `info` with reply_on = ex_, runs the executor, returns the parsed reply.
  json info(api_handler& api, int* calls = nullptr) {
    std::optional<api_response> out;
    int n = 0;
    api.handle("info", "{}", &ex_, [&](api_response r) {
      ++n;
      out = std::move(r);
    });
    EXPECT_EQ(n, 0) << "the reply must be posted to reply_on";
    ex_.run_pending();
    if (calls) *calls = n;
    EXPECT_EQ(n, 1);
    if (!out) return json();
    EXPECT_EQ(out->status, 200);
    return json::parse(out->body, nullptr, false);
  }

  test::manual_executor ex_;
  std::array<executor*, 1> execs_{&ex_};
  hub::namespace_table namespaces_;
  hub::format_registry formats_;
  hub::memory_broker broker_;
  std::optional<hub::channel_hub> hub_;
};

TEST_F(ApiNodes, WithoutAListInfoDescribesThisNodeUnderItsUid) {
  api_options o{"k", false, "node-1", "1.2.3"};
  o.uid = "fixed-uid";
  api_handler api(*hub_, nullptr, o);
  const json r = info(api);
  ASSERT_EQ(r["result"]["nodes"].size(), 1u) << r.dump();
  EXPECT_EQ(r["result"]["nodes"][0]["uid"], "fixed-uid");
  EXPECT_EQ(r["result"]["nodes"][0]["name"], "node-1");
  const node_info self = api.local_node();
  EXPECT_EQ(self.uid, "fixed-uid");
  EXPECT_EQ(self.version, "1.2.3");
  EXPECT_EQ(self.num_clients, 0u);
}

TEST_F(ApiNodes, ListsEveryNodeTheHookReturns) {
  api_options o{"k", false, "self", "v"};
  executor* asked_with = nullptr;
  o.list_nodes = [&](executor* reply_on,
                     std::function<void(std::optional<std::vector<node_info>>)> done) {
    asked_with = reply_on;
    std::vector<node_info> nodes(2);
    nodes[0] = {"u1", "a", "v1", 3, 1, 2, 5, 60};
    nodes[1] = {"u2", "b\"q", "v2", 7, 0, 4, 11, 61};
    reply_on->post([done, nodes] { done(nodes); });  // as the contract asks: on reply_on
  };
  api_handler api(*hub_, nullptr, o);
  const json r = info(api);
  EXPECT_EQ(asked_with, &ex_);
  const json& nodes = r["result"]["nodes"];
  ASSERT_EQ(nodes.size(), 2u) << r.dump();
  EXPECT_EQ(nodes[0], json::parse(R"({"uid":"u1","name":"a","version":"v1","num_clients":3,)"
                                  R"("num_users":1,"num_channels":2,"uptime":60,"num_subs":5})"));
  EXPECT_EQ(nodes[1]["name"], "b\"q");
  EXPECT_EQ(nodes[1]["num_clients"], 7);
  EXPECT_EQ(nodes[1]["num_subs"], 11);
}

TEST_F(ApiNodes, AListThatCannotBeReadIsAnInternalError) {
  api_options o{"k", false, "self", "v"};
  o.list_nodes = [](executor* reply_on,
                    std::function<void(std::optional<std::vector<node_info>>)> done) {
    reply_on->post([done] { done(std::nullopt); });
  };
  api_handler api(*hub_, nullptr, o);
  const json r = info(api);
  ASSERT_TRUE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["error"]["code"], 100);
  EXPECT_FALSE(r.contains("result"));
}

}  // namespace
}  // namespace duplex::service
