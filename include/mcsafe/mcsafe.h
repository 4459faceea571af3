// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/mcsafe.h - the C interface of libmcsafe (C99 and later, or C++): the C++ API's names
// prefixed mcsafe_, its enumerators MCSAFE_ + the upper-case C++ name.
//
// Link with -lmcsafe (pkg-config mcsafe-c; CMake find_package(mcsafe-c), target mcsafe::c or
// mcsafe::c_static). The library is built from the C++ headers; it holds its own copy of the
// SIGBUS/SIGSEGV handler, installed on the first copy, load or store (or by mcsafe_install).
// Nothing here prints, aborts, throws, or allocates in the signal handler.
//
// Errors: functions that can fail for a reason other than a fault return an errno value (0 on
// success; EINVAL, ENOMEM, ENOTSUP, ...), the same numbers as the C++ API's std::errc. A fault
// is a value: a mcsafe_fault inside the result, never a signal that kills the process.
//
// Every struct has fixed-width fields and the layout of its C++ counterpart (checked with
// static_assert where the library is built). Enumerated fields are uint8_t: the enumerators
// below are their values.
#ifndef MCSAFE_MCSAFE_H
#define MCSAFE_MCSAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The version of this header; mcsafe_version() gives the library's. Same as detail/config.hpp.
#define MCSAFE_VERSION_MAJOR 0
#define MCSAFE_VERSION_MINOR 2
#define MCSAFE_VERSION_PATCH 0

#ifdef __cplusplus
extern "C" {
#endif
// Only these declarations are exported from libmcsafe.so (built with -fvisibility=hidden).
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

// --- Faults (fault.hpp) ----------------------------------------------------------------------

enum {
  MCSAFE_FAULT_NONE = 0,              // no fault
  MCSAFE_FAULT_HW_POISON = 1,         // SIGBUS BUS_MCEERR_AR/AO: memory the hardware reported bad
  MCSAFE_FAULT_BUS_ERROR = 2,         // other SIGBUS: past the end of a file, a DAX bad block, ...
  MCSAFE_FAULT_SEGV = 3,              // SIGSEGV, only after mcsafe_install with catch_segv
  MCSAFE_FAULT_INVALID_ARGUMENT = 4,  // refused before touching memory: null with n > 0, a wrapping range
  MCSAFE_FAULT_KNOWN_BAD = 5          // refused before touching memory: a poison map names the range
};
enum { MCSAFE_SIDE_NONE = 0, MCSAFE_SIDE_SOURCE = 1, MCSAFE_SIDE_DESTINATION = 2 };

typedef struct mcsafe_fault {
  uint8_t kind;      // MCSAFE_FAULT_*
  uint8_t side;      // MCSAFE_SIDE_*
  uint64_t address;  // the first bad byte (or the first byte of the bad granule inside the buffer)
  uint32_t lsb;      // si_addr_lsb: log2 of the failed granule, 0 when unknown
  int32_t si_code;   // the kernel's si_code (0 when refused before touching memory)
} mcsafe_fault;

// dst[0, copied) equals src[0, copied); fault.kind == MCSAFE_FAULT_NONE exactly when all was copied.
typedef struct mcsafe_copy_result {
  size_t copied;
  mcsafe_fault fault;
} mcsafe_copy_result;

// Static names of the enumerators ("none", "hw_poison", "source", ...; "unknown" out of range).
const char *mcsafe_fault_kind_string(uint8_t kind);
const char *mcsafe_fault_side_string(uint8_t side);

// --- Copies, loads and stores (copy.hpp) ---------------------------------------------------

// memcpy that returns on a fault: `copied` bytes before the failed byte (or granule) are copied,
// `fault` says what failed, where and on which side. Null with n > 0: MCSAFE_FAULT_INVALID_ARGUMENT.
mcsafe_copy_result mcsafe_copy(void *dst, const void *src, size_t n);

// Guarded loads of 1, 2, 4 or 8 bytes at p (any alignment). On success *value holds the bytes
// and the returned fault has kind MCSAFE_FAULT_NONE; on a fault *value is 0. value must not be null.
mcsafe_fault mcsafe_load_u8(const void *p, uint8_t *value);
mcsafe_fault mcsafe_load_u16(const void *p, uint16_t *value);
mcsafe_fault mcsafe_load_u32(const void *p, uint32_t *value);
mcsafe_fault mcsafe_load_u64(const void *p, uint64_t *value);

// Guarded stores of 1, 2, 4 or 8 bytes at p (any alignment); on a fault `copied` says how many
// of the value's bytes reached memory.
mcsafe_copy_result mcsafe_store_u8(void *p, uint8_t value);
mcsafe_copy_result mcsafe_store_u16(void *p, uint16_t value);
mcsafe_copy_result mcsafe_store_u32(void *p, uint32_t value);
mcsafe_copy_result mcsafe_store_u64(void *p, uint64_t value);

// --- The signal handler (guard.hpp) ----------------------------------------------------------

typedef struct mcsafe_install_options {
  bool catch_segv;  // also turn SIGSEGV inside a guarded access into MCSAFE_FAULT_SEGV
} mcsafe_install_options;

// Installs the handler for SIGBUS (and SIGSEGV with catch_segv); options may be NULL (defaults).
// Idempotent, thread-safe. Returns 0, sigaction's errno, ENOTSUP (the library could not be
// pinned in memory) or EBUSY (another handler replaced ours; see mcsafe_diagnose).
int mcsafe_install(const mcsafe_install_options *options);

// Whether the handler is installed for sig (SIGBUS or SIGSEGV).
bool mcsafe_installed(int sig);

// For programs that own their SIGBUS/SIGSEGV handler: call it first with the handler's
// arguments (info is a siginfo_t *); true means handled, return from your handler. Async-signal-safe.
bool mcsafe_handle_signal(int sig, void *info, void *context);

// Called inside the signal handler for an action-optional poison report (BUS_MCEERR_AO): it must
// be async-signal-safe (no malloc, locks or stdio).
typedef void (*mcsafe_async_poison_fn)(uint64_t address, uint32_t lsb);

// Sets the callback (NULL: such reports chain to the previous handler again), installs the
// handler if needed, and returns the previous callback.
mcsafe_async_poison_fn mcsafe_on_async_poison(mcsafe_async_poison_fn fn);

// --- Clear-and-write of whole 64-byte lines (clear.hpp) -----------------------------------

#define MCSAFE_LINE_SIZE 64
enum { MCSAFE_STORE_MOVDIR64B = 0, MCSAFE_STORE_AVX512_NT = 1, MCSAFE_STORE_SSE2_NT = 2, MCSAFE_STORE_PORTABLE = 3 };

typedef struct mcsafe_clear_options {
  bool require_atomic;  // refuse (ENOTSUP) rather than use a method that can tear a line
} mcsafe_clear_options;

typedef struct mcsafe_write_result {
  size_t written;      // bytes stored, whole lines, before any fault
  uint8_t method;      // MCSAFE_STORE_*: what ran (or would have run, when refused)
  bool atomic;         // the method never leaves a line half written
  bool no_read;        // the method does not read the line before writing it
  int32_t error;       // 0, EINVAL (null, misaligned, not whole lines) or ENOTSUP (require_atomic)
  mcsafe_fault fault;  // a store (or a load of the source) that faulted
} mcsafe_write_result;

// Overwrites the 64-byte line at dst64 (64-byte aligned) with src64's 64 bytes without reading
// it first, so a poisoned line is replaced, not consumed. options may be NULL.
mcsafe_write_result mcsafe_atomic_clear_write(void *dst64, const void *src64, const mcsafe_clear_options *options);

// The bulk form: n bytes (whole lines) to a 64-byte aligned dst, line by line in address order.
mcsafe_write_result mcsafe_clear_write(void *dst, const void *src, size_t n);

// The method both use in this process, and the static name of a method ("movdir64b", ...).
uint8_t mcsafe_active_store_method(void);
const char *mcsafe_store_method_string(uint8_t method);

// --- Persistence (persist.hpp) ---------------------------------------------------------------

enum { MCSAFE_FLUSH_CLWB = 0, MCSAFE_FLUSH_CLFLUSHOPT = 1, MCSAFE_FLUSH_CLFLUSH = 2, MCSAFE_FLUSH_NONE = 3 };

// Writes back every cacheline holding a byte of [p, p + n); weakly ordered: follow with mcsafe_drain.
// Not guarded: flushing memory that faults raises the signal.
void mcsafe_flush(const void *p, size_t n);
// Waits until this thread's earlier flushes and non-temporal stores are complete (sfence).
void mcsafe_drain(void);
// mcsafe_flush then mcsafe_drain.
void mcsafe_persist(const void *p, size_t n);
// The flush instruction in use (MCSAFE_FLUSH_*) and the static name of one ("clwb", ...).
uint8_t mcsafe_active_flush_method(void);
const char *mcsafe_flush_method_string(uint8_t method);

// --- Known-bad ranges (poison_map.hpp) -------------------------------------------------------

typedef struct mcsafe_byte_range {
  size_t begin, end;  // half-open [begin, end)
} mcsafe_byte_range;

// A sorted set of disjoint known-bad ranges. Opaque; one made by mcsafe_poison_map_create is
// freed with mcsafe_poison_map_destroy, one borrowed from a mapped file lives as long as the file.
typedef struct mcsafe_poison_map mcsafe_poison_map;

// A new empty map, or NULL when out of memory.
mcsafe_poison_map *mcsafe_poison_map_create(void);
// Frees a map made by mcsafe_poison_map_create (NULL: nothing).
void mcsafe_poison_map_destroy(mcsafe_poison_map *map);
// Adds [begin, end), merging with ranges it touches; returns 0 or ENOMEM (the map unchanged).
int mcsafe_poison_map_insert(mcsafe_poison_map *map, size_t begin, size_t end);
// Removes [begin, end), splitting a range that covers it; returns 0 or ENOMEM (the map unchanged).
int mcsafe_poison_map_erase(mcsafe_poison_map *map, size_t begin, size_t end);
// Removes every range.
void mcsafe_poison_map_clear(mcsafe_poison_map *map);
// Whether any range overlaps [begin, end); with first non-NULL, the first such range is stored there.
bool mcsafe_poison_map_first_overlap(const mcsafe_poison_map *map, size_t begin, size_t end, mcsafe_byte_range *first);
// The number of ranges, and range i of them in ascending order ({0, 0} when i is out of range).
size_t mcsafe_poison_map_size(const mcsafe_poison_map *map);
mcsafe_byte_range mcsafe_poison_map_at(const mcsafe_poison_map *map, size_t i);

// --- A MAP_SHARED file whose reads and writes say why they failed (mapped_file.hpp) ---------

enum { MCSAFE_MAP_READ_ONLY = 0, MCSAFE_MAP_READ_WRITE = 1 };
enum {
  MCSAFE_CAUSE_NONE = 0,              // everything asked for was done
  MCSAFE_CAUSE_FILE_ENDED = 1,        // the file is shorter than the offset of the failed byte
  MCSAFE_CAUSE_NO_SPACE = 2,          // a store into a hole the file system could not allocate
  MCSAFE_CAUSE_IO_ERROR = 3,          // the page could not be read from the device
  MCSAFE_CAUSE_HW_POISON = 4,         // memory the hardware reported bad; `bad` is the granule
  MCSAFE_CAUSE_KNOWN_BAD = 5,         // refused before touching memory: a known-bad range
  MCSAFE_CAUSE_BUFFER_FAULT = 6,      // the fault was in the caller's buffer, not in the file
  MCSAFE_CAUSE_INVALID_ARGUMENT = 7,  // refused: outside the mapping, read-only, not open
  MCSAFE_CAUSE_UNEXPLAINED = 8        // a fault none of the checks explains
};

typedef struct mcsafe_map_options {
  bool create;           // O_CREAT (read-write only)
  uint32_t permissions;  // the mode for a created file (mode_t), e.g. 0600
} mcsafe_map_options;

// File bytes [offset, offset + done) were copied; nothing past them is promised.
typedef struct mcsafe_mapped_result {
  size_t done;
  uint8_t cause;          // MCSAFE_CAUSE_*
  mcsafe_fault fault;     // the raw fault (kind KNOWN_BAD / INVALID_ARGUMENT when refused)
  mcsafe_byte_range bad;  // file offsets that failed (poison granule, page, known range), else empty
  uint64_t file_size;     // the size fstat saw after a SIGBUS (0 when no check ran)
  int32_t sys_errno;      // errno of the check that decided: ENOSPC, EDQUOT, EIO, ...
} mcsafe_mapped_result;

// Threads: read and write may run concurrently; reserve, resize, close and changes to the
// known-bad map must be kept apart from them by the caller (as for the C++ mapped_file).
typedef struct mcsafe_mapped_file mcsafe_mapped_file;

// Opens path and maps the whole file (mode MCSAFE_MAP_*; options may be NULL). Returns 0 and
// the file in *out, or an errno and NULL in *out (ENOMEM when the handle cannot be allocated).
int mcsafe_mapped_file_open(mcsafe_mapped_file **out, const char *path, uint8_t mode, const mcsafe_map_options *options);
// Takes ownership of an open descriptor (closed here even on failure) and maps the whole file.
int mcsafe_mapped_file_adopt(mcsafe_mapped_file **out, int fd, uint8_t mode);
// Unmaps, closes the descriptor and frees the handle (NULL: nothing).
void mcsafe_mapped_file_close(mcsafe_mapped_file *file);

// Copies file bytes [offset, offset + n) into out; a fault or a known-bad range stops it and
// `cause` says why. The range must lie inside the mapping (MCSAFE_CAUSE_INVALID_ARGUMENT).
mcsafe_mapped_result mcsafe_mapped_file_read(const mcsafe_mapped_file *file, uint64_t offset, void *out, size_t n);
// Copies n bytes of data into the file at offset through the mapping (read-write only).
mcsafe_mapped_result mcsafe_mapped_file_write(const mcsafe_mapped_file *file, uint64_t offset, const void *data, size_t n);
// Allocates blocks for [offset, offset + length), growing the file and the mapping when needed.
int mcsafe_mapped_file_reserve(mcsafe_mapped_file *file, uint64_t offset, uint64_t length);
// Sets the file's size and maps all of it; the mapping may move (mcsafe_mapped_file_data is stale).
int mcsafe_mapped_file_resize(mcsafe_mapped_file *file, uint64_t length);

// Bytes mapped (the file's size when mapped), the descriptor, and the mapping itself (plain
// loads from it can die: use it only with mcsafe_copy, loads and stores).
size_t mcsafe_mapped_file_size(const mcsafe_mapped_file *file);
int mcsafe_mapped_file_fd(const mcsafe_mapped_file *file);
const void *mcsafe_mapped_file_data(const mcsafe_mapped_file *file);
// The file's known-bad ranges (file offsets), which read and write refuse; borrowed from the file.
mcsafe_poison_map *mcsafe_mapped_file_known_bad(mcsafe_mapped_file *file);
// The static name of a cause ("file_ended", ...).
const char *mcsafe_mapped_cause_string(uint8_t cause);

// --- Diagnostics and version (diagnose.hpp, detail/config.hpp) -------------------------------

// Writes the report of mcsafe::diagnose() (backends, CPU, handlers, signal mask) into buf,
// truncated to size - 1 bytes plus a NUL (buf may be NULL when size is 0), and returns its full
// length, like snprintf: call again with a larger buffer when the result is >= size. 0: out of memory.
size_t mcsafe_diagnose(char *buf, size_t size);

// The library's version, MAJOR * 10000 + MINOR * 100 + PATCH, and as a static "X.Y.Z" string.
uint32_t mcsafe_version(void);
const char *mcsafe_version_string(void);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // MCSAFE_MCSAFE_H
