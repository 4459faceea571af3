// The Catch2 v2 main for every tests/test_*.cpp file (with v3, Catch2::Catch2WithMain).
//
// CATCH_CONFIG_NO_POSIX_SIGNALS: Catch2 otherwise installs its own SIGSEGV (and other) handlers
// around every test case and restores the previous ones after it, which would silently remove
// mcsafe's handler (installed inside an earlier test case). mcsafe's diagnose() reports such a
// replacement; the tests need the real handler in place.
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
