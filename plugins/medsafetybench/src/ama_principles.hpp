#pragma once
/// The nine AMA Principles of Medical Ethics: MedSafetyBench's categories.
#include <vector>

#include "medsafe/suite.hpp"

namespace medsafe::medsafetybench {

/// Principles I..IX as categories "1".."9", with a short name and a full title, in order.
[[nodiscard]] const std::vector<Category>& ama_principles();

}  // namespace medsafe::medsafetybench
