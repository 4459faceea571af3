// header_check.c compiled as C++ (C++11, -pedantic): mcsafe.h declares the same extern "C" functions.
#include "header_check.c"
