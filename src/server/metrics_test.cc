#include "server/metrics.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace duplex::service {
namespace {

std::string render(const metrics_registry& r) {
  std::string out;
  r.render(out);
  return out;
}

TEST(Metrics, RendersExactExpositionText) {
  metrics_registry reg(2);
  counter& pubs = reg.add_counter("duplex_publications_total", "Publications accepted.");
  counter& ws_in = reg.add_counter("duplex_messages_in_total", "Messages received.",
                                   {{"transport", "websocket"}});
  counter& sse_in =
      reg.add_counter("duplex_messages_in_total", "Messages received.", {{"transport", "sse"}});
  gauge& conns = reg.add_gauge("duplex_connections", "Open connections.");
  histogram& lat = reg.add_histogram("duplex_publish_to_write_seconds",
                                     "Publish to socket write latency.", {100, 1000, 250000},
                                     1000000);
  reg.add_gauge_fn("duplex_channels", "Channels with subscribers.", [] { return 3.0; });

  pubs.inc();
  pubs.inc(4);
  ws_in.inc(7);
  sse_in.inc();
  conns.inc();
  conns.inc();
  conns.dec();
  lat.observe(50);      // <= 0.0001
  lat.observe(100);     // le is inclusive
  lat.observe(101);     // <= 0.001
  lat.observe(300000);  // +Inf

  EXPECT_EQ(render(reg),
            "# HELP duplex_publications_total Publications accepted.\n"
            "# TYPE duplex_publications_total counter\n"
            "duplex_publications_total 5\n"
            "# HELP duplex_messages_in_total Messages received.\n"
            "# TYPE duplex_messages_in_total counter\n"
            "duplex_messages_in_total{transport=\"websocket\"} 7\n"
            "duplex_messages_in_total{transport=\"sse\"} 1\n"
            "# HELP duplex_connections Open connections.\n"
            "# TYPE duplex_connections gauge\n"
            "duplex_connections 1\n"
            "# HELP duplex_publish_to_write_seconds Publish to socket write latency.\n"
            "# TYPE duplex_publish_to_write_seconds histogram\n"
            "duplex_publish_to_write_seconds_bucket{le=\"0.0001\"} 2\n"
            "duplex_publish_to_write_seconds_bucket{le=\"0.001\"} 3\n"
            "duplex_publish_to_write_seconds_bucket{le=\"0.25\"} 3\n"
            "duplex_publish_to_write_seconds_bucket{le=\"+Inf\"} 4\n"
            "duplex_publish_to_write_seconds_sum 0.300251\n"
            "duplex_publish_to_write_seconds_count 4\n"
            "# HELP duplex_channels Channels with subscribers.\n"
            "# TYPE duplex_channels gauge\n"
            "duplex_channels 3\n");
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  metrics_registry reg(1);
  reg.add_counter("x_total", "line one\nback\\slash \"quoted\"",
                  {{"path", "a\\b\"c\"\nd"}, {"code", "1008"}})
      .inc();
  EXPECT_EQ(render(reg),
            "# HELP x_total line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE x_total counter\n"
            "x_total{path=\"a\\\\b\\\"c\\\"\\nd\",code=\"1008\"} 1\n");
}

TEST(Metrics, HistogramWithLabelsAndIntegerUnits) {
  metrics_registry reg(1);
  histogram& h = reg.add_histogram("batch_size", "Frames per write.", {1, 8}, 1, {{"loop", "0"}});
  EXPECT_EQ(render(reg),
            "# HELP batch_size Frames per write.\n"
            "# TYPE batch_size histogram\n"
            "batch_size_bucket{loop=\"0\",le=\"1\"} 0\n"
            "batch_size_bucket{loop=\"0\",le=\"8\"} 0\n"
            "batch_size_bucket{loop=\"0\",le=\"+Inf\"} 0\n"
            "batch_size_sum{loop=\"0\"} 0\n"
            "batch_size_count{loop=\"0\"} 0\n");
  h.observe(0);
  h.observe(8);
  h.observe(9);
  EXPECT_EQ(h.bucket_counts(), (std::vector<std::uint64_t>{1, 1, 1}));
  EXPECT_EQ(h.sum(), 17u);
}

TEST(Metrics, GaugeFnSpecialValues) {
  metrics_registry reg(1);
  reg.add_gauge_fn("g", "h", [] { return 0.5; }, {{"k", "a"}});
  reg.add_gauge_fn("g", "h", [] { return -std::numeric_limits<double>::infinity(); }, {{"k", "b"}});
  EXPECT_EQ(render(reg), "# HELP g h\n# TYPE g gauge\ng{k=\"a\"} 0.5\ng{k=\"b\"} -Inf\n");
}

TEST(Metrics, CounterFnIsACounterReadAtScrape) {
  metrics_registry reg(1);
  double v = 1;
  reg.add_counter_fn("c_total", "h", [&v] { return v; });
  EXPECT_EQ(render(reg), "# HELP c_total h\n# TYPE c_total counter\nc_total 1\n");
  v = 42;
  EXPECT_EQ(render(reg), "# HELP c_total h\n# TYPE c_total counter\nc_total 42\n");
}

// Bound threads write their own shard without atomic read-modify-write; unbound threads share
// one atomic slot. Both kinds together must lose nothing.
TEST(Metrics, ShardedUpdatesFromThreadsSumExactly) {
  constexpr int per_thread = 100000;
  metrics_registry reg(2);
  counter& c = reg.add_counter("ops_total", "ops");
  gauge& g = reg.add_gauge("level", "level");
  histogram& h = reg.add_histogram("lat", "lat", {10}, 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      if (t < 2) metrics_registry::bind_thread(static_cast<std::size_t>(t));
      for (int i = 0; i < per_thread; ++i) {
        c.inc();
        g.add(t % 2 == 0 ? 2 : -1);
        h.observe(static_cast<std::uint64_t>(i % 20));
      }
      metrics_registry::bind_thread(static_cast<std::size_t>(-1));
    });
  }
  // Scrapes while writers run: must be race-free (TSan build) and never exceed the final sum.
  for (int i = 0; i < 20; ++i) {
    std::string text;
    reg.render(text);
    EXPECT_LE(c.value(), 4u * per_thread);
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 4u * per_thread);
  EXPECT_EQ(g.value(), 2 * per_thread);
  auto counts = h.bucket_counts();
  EXPECT_EQ(counts[0] + counts[1], 4u * per_thread);
  EXPECT_EQ(counts[0], 4u * per_thread / 20 * 11);  // 0..10 of every 20
}

TEST(Metrics, ShardBeyondRegistrySizeFallsBackToSharedSlot) {
  metrics_registry reg(1);
  counter& c = reg.add_counter("c_total", "c");
  std::thread([&] {
    metrics_registry::bind_thread(5);  // this registry has 1 shard: counted in the shared slot
    c.inc(3);
    metrics_registry::bind_thread(static_cast<std::size_t>(-1));
  }).join();
  c.inc();
  EXPECT_EQ(c.value(), 4u);
}

TEST(MetricsDeathTest, InvalidNamesAndDuplicateSeriesAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(metrics_registry(1).add_counter("1bad", "h"), "valid_metric_name");
  EXPECT_DEATH(metrics_registry(1).add_counter("ok", "h", {{"__x", "v"}}), "valid_label_name");
  EXPECT_DEATH(metrics_registry(1).add_histogram("h", "h", {1}, 1, {{"le", "v"}}), "le");
  EXPECT_DEATH(
      {
        metrics_registry r(1);
        r.add_counter("dup", "h", {{"a", "1"}});
        r.add_counter("dup", "h", {{"a", "1"}});
      },
      "labels");
}

}  // namespace
}  // namespace duplex::service
