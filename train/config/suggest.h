// "Did you mean ...?" for misspelt names (config keys, choices, options).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace loglin {

// Edit distance counting an adjacent swap as one edit ("d_modle" -> "d_model" is 1).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to word, or "" when none is close enough to be a
// plausible typo. Ties go to the earliest candidate.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace loglin
