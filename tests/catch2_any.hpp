// Catch2 for the test files: v2's single header, or v3's split headers when tests/CMakeLists.txt
// found v3 (it then defines MCSAFE_CATCH2_V3 and links Catch2::Catch2WithMain instead of main.cpp).
#pragma once
#if defined(MCSAFE_CATCH2_V3)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
