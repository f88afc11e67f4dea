#include "report/rating_agreement.hpp"

#include <algorithm>
#include <limits>

namespace medsafe {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Row and column sums of a table, as doubles.
struct Marginals {
  std::vector<double> rows;
  std::vector<double> columns;
};

Marginals marginals(const RatingTable& table) {
  const auto k = static_cast<std::size_t>(table.size());
  Marginals m{std::vector<double>(k, 0.0), std::vector<double>(k, 0.0)};
  for (int a = table.lowest(); a <= table.highest(); ++a) {
    for (int b = table.lowest(); b <= table.highest(); ++b) {
      const auto count = static_cast<double>(table.at(a, b));
      m.rows[static_cast<std::size_t>(a - table.lowest())] += count;
      m.columns[static_cast<std::size_t>(b - table.lowest())] += count;
    }
  }
  return m;
}

// 1 - sum(w * observed) / sum(w * expected) for disagreement weights w(i, j) of category
// indices; the expected table is the product of the marginals.
template <typename Weight>
double weighted_kappa(const RatingTable& table, Weight weight) {
  if (table.n() == 0) return kNaN;
  const Marginals m = marginals(table);
  const auto n = static_cast<double>(table.n());
  double observed = 0.0;
  double expected = 0.0;
  for (int i = 0; i < table.size(); ++i) {
    for (int j = 0; j < table.size(); ++j) {
      const double w = weight(i, j);
      observed += w * static_cast<double>(table.at(table.lowest() + i, table.lowest() + j)) / n;
      expected += w * m.rows[static_cast<std::size_t>(i)] * m.columns[static_cast<std::size_t>(j)] /
                  (n * n);
    }
  }
  return expected <= 0.0 ? kNaN : 1.0 - observed / expected;
}

// Alpha from a coincidence matrix over the ascending distinct `values` (o is row-major).
double alpha_from_coincidences(const std::vector<int>& values, const std::vector<double>& o,
                               AlphaMetric metric) {
  const std::size_t k = values.size();
  std::vector<double> totals(k, 0.0);
  double n = 0.0;
  for (std::size_t c = 0; c < k; ++c) {
    for (std::size_t d = 0; d < k; ++d) totals[c] += o[c * k + d];
    n += totals[c];
  }
  if (n <= 1.0) return kNaN;
  auto delta2 = [&](std::size_t c, std::size_t d) -> double {
    switch (metric) {
      case AlphaMetric::nominal:
        return c == d ? 0.0 : 1.0;
      case AlphaMetric::interval: {
        const double diff = static_cast<double>(values[c]) - static_cast<double>(values[d]);
        return diff * diff;
      }
      case AlphaMetric::ordinal: {
        const std::size_t lo = std::min(c, d);
        const std::size_t hi = std::max(c, d);
        double between = 0.0;
        for (std::size_t g = lo; g <= hi; ++g) between += totals[g];
        const double span = between - (totals[lo] + totals[hi]) / 2.0;
        return span * span;
      }
    }
    return 0.0;
  };
  double observed = 0.0;
  double expected = 0.0;
  for (std::size_t c = 0; c < k; ++c) {
    for (std::size_t d = 0; d < k; ++d) {
      const double w = delta2(c, d);
      observed += o[c * k + d] * w;
      expected += totals[c] * totals[d] * w;
    }
  }
  // D_o = observed / n, D_e = expected / (n (n - 1)).
  return expected <= 0.0 ? kNaN : 1.0 - (n - 1.0) * observed / expected;
}

}  // namespace

RatingTable::RatingTable(int lowest, int highest)
    : lowest_(lowest),
      size_(std::max(1, highest - lowest + 1)),
      cells_(static_cast<std::size_t>(size_) * static_cast<std::size_t>(size_), 0) {}

bool RatingTable::add(int a, int b) noexcept {
  if (a < lowest_ || b < lowest_ || a > highest() || b > highest()) return false;
  ++cells_[static_cast<std::size_t>(a - lowest_) * static_cast<std::size_t>(size_) +
           static_cast<std::size_t>(b - lowest_)];
  ++n_;
  return true;
}

std::int64_t RatingTable::at(int a, int b) const noexcept {
  if (a < lowest_ || b < lowest_ || a > highest() || b > highest()) return 0;
  return cells_[static_cast<std::size_t>(a - lowest_) * static_cast<std::size_t>(size_) +
                static_cast<std::size_t>(b - lowest_)];
}

double exact_agreement(const RatingTable& table) noexcept {
  if (table.n() == 0) return kNaN;
  std::int64_t same = 0;
  for (int v = table.lowest(); v <= table.highest(); ++v) same += table.at(v, v);
  return static_cast<double>(same) / static_cast<double>(table.n());
}

double cohen_kappa(const RatingTable& table) noexcept {
  return weighted_kappa(table, [](int i, int j) { return i == j ? 0.0 : 1.0; });
}

double quadratic_weighted_kappa(const RatingTable& table) noexcept {
  return weighted_kappa(table, [](int i, int j) {
    const double d = static_cast<double>(i - j);
    return d * d;
  });
}

double krippendorff_alpha(std::span<const std::vector<int>> units, AlphaMetric metric) {
  std::vector<int> values;
  for (const std::vector<int>& unit : units) {
    if (unit.size() >= 2) values.insert(values.end(), unit.begin(), unit.end());
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  const std::size_t k = values.size();
  auto index = [&values](int v) {
    return static_cast<std::size_t>(std::lower_bound(values.begin(), values.end(), v) -
                                    values.begin());
  };
  std::vector<double> o(k * k, 0.0);
  for (const std::vector<int>& unit : units) {
    const std::size_t m = unit.size();
    if (m < 2) continue;
    // Each ordered pair of the unit's values (from different raters) weighs 1 / (m - 1).
    const double weight = 1.0 / static_cast<double>(m - 1);
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < m; ++j) {
        if (i != j) o[index(unit[i]) * k + index(unit[j])] += weight;
      }
    }
  }
  return alpha_from_coincidences(values, o, metric);
}

double krippendorff_alpha(const RatingTable& table, AlphaMetric metric) {
  const auto k = static_cast<std::size_t>(table.size());
  std::vector<int> values(k);
  for (std::size_t c = 0; c < k; ++c) values[c] = table.lowest() + static_cast<int>(c);
  // A unit rated (a, b) adds one to o(a, b) and one to o(b, a).
  std::vector<double> o(k * k, 0.0);
  for (std::size_t c = 0; c < k; ++c) {
    for (std::size_t d = 0; d < k; ++d) {
      const auto count = static_cast<double>(table.at(values[c], values[d]));
      o[c * k + d] += count;
      o[d * k + c] += count;
    }
  }
  return alpha_from_coincidences(values, o, metric);
}

}  // namespace medsafe
