// mcsafe_leveldb::mapped_env - a leveldb::Env whose table files are read through
// mcsafe::mapped_file, so a table file truncated or damaged under a running database turns into
// Status::IOError from Get and iterators instead of a SIGBUS that kills the process.
//
// LevelDB's default Env maps table files and hands out pointers into the mapping: the index
// block, and every data block, are parsed in place, and a page that went away kills the
// process in whatever code touches it first. This Env maps the file the same way but copies
// each block LevelDB asks for into the scratch buffer LevelDB passes (one mc_safe_copy); a
// fault becomes a Status naming the cause and the offset. Everything else (writes, logs,
// locks, threads) goes to the Env it wraps.
#pragma once
#include <leveldb/env.h>
#include <leveldb/status.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include <mcsafe/mapped_file.hpp>

namespace mcsafe_leveldb {

// A table file served through a read-only mapped_file. Safe for concurrent Read calls, as
// LevelDB requires: mapped_file::read changes nothing in the object.
class mapped_random_access_file final : public leveldb::RandomAccessFile {
 public:
  mapped_random_access_file(std::string name, mcsafe::mapped_file file) : name_(std::move(name)), file_(std::move(file)) {}

  leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice* result, char* scratch) const override {
    // As LevelDB's own mmap reader: a range past the mapped length is EINVAL.
    if (offset > file_.size() || n > file_.size() - offset) {
      *result = leveldb::Slice();
      return leveldb::Status::IOError(name_, std::strerror(EINVAL));
    }
    const mcsafe::mapped_result r = file_.read(offset, std::span<std::byte>(reinterpret_cast<std::byte*>(scratch), n));
    *result = leveldb::Slice(scratch, r.done);
    if (r.ok()) return leveldb::Status::OK();
    char why[160];
    std::snprintf(why, sizeof why, "mcsafe: %s at offset %llu (file size %llu, errno %d)", mcsafe::to_string(r.cause),
                  static_cast<unsigned long long>(offset + r.done), static_cast<unsigned long long>(r.file_size),
                  r.sys_errno);
    return leveldb::Status::IOError(name_, why);
  }

 private:
  std::string name_;
  mcsafe::mapped_file file_;
};

class mapped_env final : public leveldb::EnvWrapper {
 public:
  explicit mapped_env(leveldb::Env* base = leveldb::Env::Default()) : leveldb::EnvWrapper(base) {}

  leveldb::Status NewRandomAccessFile(const std::string& fname, leveldb::RandomAccessFile** result) override {
    *result = nullptr;
    mcsafe::mapped_file file;
    if (const std::errc e = file.open(fname.c_str(), mcsafe::map_mode::read_only); e != std::errc{}) {
      const char* why = std::strerror(static_cast<int>(e));
      return e == std::errc::no_such_file_or_directory ? leveldb::Status::NotFound(fname, why)
                                                       : leveldb::Status::IOError(fname, why);
    }
    *result = new mapped_random_access_file(fname, std::move(file));
    return leveldb::Status::OK();
  }
};

}  // namespace mcsafe_leveldb
