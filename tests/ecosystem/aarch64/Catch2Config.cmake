# Stands in for Debian's Catch2 package in the aarch64 cross build: Debian's config points the
# include path at the host's /usr/include, whose glibc headers must not reach a cross
# compiler. Catch2 v2 is header-only, so this gives only its headers (a directory holding
# just catch2/ made by aarch64.sh) and Debian's CMake helpers (include(Catch)).
set(Catch2_VERSION 2.13)
if(NOT TARGET Catch2::Catch2)
  add_library(Catch2::Catch2 INTERFACE IMPORTED)
  set_target_properties(Catch2::Catch2 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${MCSAFE_CATCH2_INCLUDE}")
endif()
list(APPEND CMAKE_MODULE_PATH "${MCSAFE_CATCH2_CMAKE}")
set(Catch2_FOUND TRUE)
