# mcsafe-scan's sources, for tools/CMakeLists.txt and the static build the QEMU guest runs
# (tests/system/CMakeLists.txt).
set(MCSAFE_SCAN_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/arguments.cpp
    ${CMAKE_CURRENT_LIST_DIR}/main.cpp
    ${CMAKE_CURRENT_LIST_DIR}/repair.cpp
    ${CMAKE_CURRENT_LIST_DIR}/report.cpp
    ${CMAKE_CURRENT_LIST_DIR}/salvage.cpp
    ${CMAKE_CURRENT_LIST_DIR}/scan.cpp
    ${CMAKE_CURRENT_LIST_DIR}/sysfs.cpp
    ${CMAKE_CURRENT_LIST_DIR}/target.cpp)
