#include "server/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "base/assert.h"

namespace duplex::service {

// ---- sharded slots -------------------------------------------------------------------------

namespace detail {

sharded_slots::sharded_slots(std::size_t shards, std::size_t values)
    : shards_(shards),
      lines_per_shard_((values + 7) / 8),
      // make_unique value-initialises, so every atomic starts at zero.
      lines_(std::make_unique<line[]>((shards + 1) * lines_per_shard_)) {}

std::uint64_t sharded_slots::sum(std::size_t i) const noexcept {
  std::uint64_t total = 0;
  for (std::size_t s = 0; s <= shards_; ++s) total += slot(s, i).load(std::memory_order_relaxed);
  return total;
}

}  // namespace detail

// ---- histogram -----------------------------------------------------------------------------

histogram::histogram(std::size_t shards, std::vector<std::uint64_t> upper_bounds,
                     std::uint64_t unit_divisor)
    : bounds_(std::move(upper_bounds)),
      divisor_(unit_divisor),
      slots_(shards, bounds_.size() + 2) {
  DUPLEX_ASSERT(divisor_ > 0);
  DUPLEX_ASSERT(std::adjacent_find(bounds_.begin(), bounds_.end(),
                                   [](std::uint64_t a, std::uint64_t b) { return a >= b; }) ==
                bounds_.end());
}

void histogram::observe(std::uint64_t v) noexcept {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  slots_.add(static_cast<std::size_t>(it - bounds_.begin()), 1);
  slots_.add(bounds_.size() + 1, v);
}

std::vector<std::uint64_t> histogram::bucket_counts() const {
  std::vector<std::uint64_t> counts(bounds_.size() + 1);
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = slots_.sum(i);
  return counts;
}

// ---- registry ------------------------------------------------------------------------------

namespace {

enum metric_type : int { t_counter, t_gauge, t_histogram, t_gauge_fn, t_counter_fn };

std::string_view type_name(int t) {
  switch (t) {
    case t_counter:
    case t_counter_fn: return "counter";
    case t_histogram: return "histogram";
    default: return "gauge";
  }
}

bool is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Exposition format: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*.
bool valid_metric_name(std::string_view n) {
  if (n.empty() || is_digit(n[0])) return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return is_alpha_(c) || is_digit(c) || c == ':'; });
}

// Label names match [a-zA-Z_][a-zA-Z0-9_]*; names starting with "__" are reserved.
bool valid_label_name(std::string_view n) {
  if (n.empty() || is_digit(n[0]) || n.starts_with("__")) return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return is_alpha_(c) || is_digit(c); });
}

// Label values escape backslash, double quote and line feed; HELP escapes backslash and line
// feed only.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

// A value in observation units, divided into base units for output.
void append_scaled(std::string& out, std::uint64_t v, std::uint64_t divisor) {
  if (divisor == 1) {
    fmt::format_to(std::back_inserter(out), "{}", v);
  } else {
    append_double(out, static_cast<double>(v) / static_cast<double>(divisor));
  }
}

}  // namespace

struct metrics_registry::series {
  metric_labels labels;
  std::string label_text;  // `a="x",b="y"`, escaped, without braces
  std::unique_ptr<counter> c;
  std::unique_ptr<gauge> g;
  std::unique_ptr<histogram> h;
  std::function<double()> fn;
};

struct metrics_registry::family {
  std::string name, help;
  int type = t_counter;
  std::vector<std::unique_ptr<series>> members;
};

metrics_registry::metrics_registry(std::size_t shards) : shards_(shards) {}
metrics_registry::~metrics_registry() = default;

void metrics_registry::bind_thread(std::size_t index) noexcept { detail::bound_shard = index; }

metrics_registry::series& metrics_registry::add_series(std::string_view name, std::string_view help,
                                                       int type, metric_labels labels) {
  DUPLEX_ASSERT(valid_metric_name(name));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    DUPLEX_ASSERT(valid_label_name(labels[i].first));
    DUPLEX_ASSERT(!(type == t_histogram && labels[i].first == "le"));
    for (std::size_t j = 0; j < i; ++j) DUPLEX_ASSERT(labels[j].first != labels[i].first);
  }
  family* fam = nullptr;
  for (auto& f : families_) {
    if (f->name == name) fam = f.get();
  }
  if (fam == nullptr) {
    families_.push_back(std::make_unique<family>());
    fam = families_.back().get();
    fam->name = name;
    fam->help = help;
    fam->type = type;
  }
  DUPLEX_ASSERT(fam->type == type && fam->help == help);
  for (const auto& s : fam->members) DUPLEX_ASSERT(s->labels != labels);

  auto s = std::make_unique<series>();
  for (const auto& [k, v] : labels) {
    if (!s->label_text.empty()) s->label_text.push_back(',');
    s->label_text += k;
    s->label_text += "=\"";
    append_escaped(s->label_text, v, true);
    s->label_text.push_back('"');
  }
  s->labels = std::move(labels);
  fam->members.push_back(std::move(s));
  return *fam->members.back();
}

counter& metrics_registry::add_counter(std::string_view name, std::string_view help,
                                       metric_labels labels) {
  series& s = add_series(name, help, t_counter, std::move(labels));
  s.c = std::make_unique<counter>(shards_);
  return *s.c;
}

gauge& metrics_registry::add_gauge(std::string_view name, std::string_view help,
                                   metric_labels labels) {
  series& s = add_series(name, help, t_gauge, std::move(labels));
  s.g = std::make_unique<gauge>(shards_);
  return *s.g;
}

histogram& metrics_registry::add_histogram(std::string_view name, std::string_view help,
                                           std::vector<std::uint64_t> upper_bounds,
                                           std::uint64_t unit_divisor, metric_labels labels) {
  series& s = add_series(name, help, t_histogram, std::move(labels));
  s.h = std::make_unique<histogram>(shards_, std::move(upper_bounds), unit_divisor);
  return *s.h;
}

void metrics_registry::add_gauge_fn(std::string_view name, std::string_view help,
                                    std::function<double()> read, metric_labels labels) {
  // Rendered as a gauge; a family may not mix sharded gauges and callbacks (distinct types).
  series& s = add_series(name, help, t_gauge_fn, std::move(labels));
  s.fn = std::move(read);
}

void metrics_registry::add_counter_fn(std::string_view name, std::string_view help,
                                      std::function<double()> read, metric_labels labels) {
  series& s = add_series(name, help, t_counter_fn, std::move(labels));
  s.fn = std::move(read);
}

void metrics_registry::render(std::string& out) const {
  auto head = [&out](std::string_view name, std::string_view suffix, const std::string& labels,
                     std::string_view extra) {
    out += name;
    out += suffix;
    if (!labels.empty() || !extra.empty()) {
      out.push_back('{');
      out += labels;
      if (!labels.empty() && !extra.empty()) out.push_back(',');
      out += extra;
      out.push_back('}');
    }
    out.push_back(' ');
  };
  for (const auto& f : families_) {
    out += "# HELP ";
    out += f->name;
    out.push_back(' ');
    append_escaped(out, f->help, false);
    out += "\n# TYPE ";
    out += f->name;
    out.push_back(' ');
    out += type_name(f->type);
    out.push_back('\n');
    for (const auto& s : f->members) {
      switch (f->type) {
        case t_counter:
          head(f->name, "", s->label_text, "");
          fmt::format_to(std::back_inserter(out), "{}\n", s->c->value());
          break;
        case t_gauge:
          head(f->name, "", s->label_text, "");
          fmt::format_to(std::back_inserter(out), "{}\n", s->g->value());
          break;
        case t_gauge_fn:
        case t_counter_fn:
          head(f->name, "", s->label_text, "");
          append_double(out, s->fn());
          out.push_back('\n');
          break;
        case t_histogram: {
          const histogram& h = *s->h;
          std::vector<std::uint64_t> counts = h.bucket_counts();
          std::uint64_t cumulative = 0;
          std::string le;
          for (std::size_t i = 0; i < counts.size(); ++i) {
            cumulative += counts[i];
            le = "le=\"";
            if (i < h.upper_bounds().size()) {
              append_scaled(le, h.upper_bounds()[i], h.unit_divisor());
            } else {
              le += "+Inf";
            }
            le.push_back('"');
            head(f->name, "_bucket", s->label_text, le);
            fmt::format_to(std::back_inserter(out), "{}\n", cumulative);
          }
          head(f->name, "_sum", s->label_text, "");
          append_scaled(out, h.sum(), h.unit_divisor());
          out.push_back('\n');
          head(f->name, "_count", s->label_text, "");
          fmt::format_to(std::back_inserter(out), "{}\n", cumulative);
          break;
        }
      }
    }
  }
}

}  // namespace duplex::service
