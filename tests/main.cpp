// The Catch2 main for every tests/test_*.cpp file.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
