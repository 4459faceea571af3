// The first unit that instantiates inline_units::touch<...> (see CMakeLists.txt).
#include "records.hpp"

int inline_units::first_unit(unsigned char* p) { return touch<std::uint32_t>(p) + touch<std::uint64_t>(p); }
