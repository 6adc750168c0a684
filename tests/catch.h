// Includes Catch2 v3 where it is installed, else v2 (Debian 12), with the matchers the tests use.
#pragma once

#ifdef BAYUN_CATCH2_V3
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_floating_point.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#else
#include <catch2/catch.hpp>
#endif


#ifndef BAYUN_CATCH2_V3
namespace Catch::Matchers {
// Catch2 v3's name for v2's string Contains matcher.
inline StdString::ContainsMatcher ContainsSubstring(const std::string& text) { return Contains(text); }
}  // namespace Catch::Matchers
#endif

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;
