// The scenario shared by the example and its test: a database with two table files, one of
// which another program truncates while the database is open.
#pragma once
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/env.h>

namespace mcsafe_leveldb {

inline std::string key_of(char table, int i) {
  char k[16];
  std::snprintf(k, sizeof k, "%c%04d", table, i);
  return k;
}
inline std::string value_of(const std::string& key) { return key + std::string(100, '.') + key; }

constexpr int keys_per_table = 200;

// Writes keys_per_table keys starting with `table` and closes the database: reopening it
// turns the log into one level-0 table file holding exactly these keys.
inline leveldb::Status write_one_table(const std::string& dir, char table) {
  leveldb::Options options;
  options.create_if_missing = true;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  std::unique_ptr<leveldb::DB> db(raw);
  for (int i = 0; s.ok() && i < keys_per_table; ++i) s = db->Put({}, key_of(table, i), value_of(key_of(table, i)));
  return s;
}

// A database in `dir` with two table files: the older holds keys a0000.., the newer b0000..
inline leveldb::Status build_two_tables(const std::string& dir) {
  leveldb::Status s = write_one_table(dir, 'a');
  if (s.ok()) s = write_one_table(dir, 'b');  // its open flushed a's log into the first table
  return s;
}

// The table files (*.ldb) in dir, oldest (lowest number) first.
inline std::vector<std::string> table_files(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".ldb") == 0) out.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& x, const std::string& y) { return x.size() != y.size() ? x.size() < y.size() : x < y; });
  return out;
}

struct outcome {
  leveldb::Status open;                       // opening the database
  int a_ok = 0, a_io_error = 0, a_other = 0;  // Get of the keys in the truncated table
  int b_ok = 0, b_wrong = 0;                  // Get of the keys in the intact table (wrong: not OK, or a bad value)
  std::string first_error;                    // the first a-key status, as LevelDB prints it
  int iterated = 0;                           // keys a full iteration returned
  leveldb::Status iteration;                  // the iterator's status at the end
};

// Opens the database in `dir` with `env`, reads one key of each table (LevelDB opens and maps
// both), truncates the older table file to 0 bytes as another program would, then reads every
// key and iterates over everything. With LevelDB's default Env the first read of the truncated
// table is a SIGBUS that kills the process.
inline outcome read_after_truncation(const std::string& dir, leveldb::Env* env) {
  outcome out;
  leveldb::Options options;
  options.env = env;
  leveldb::DB* raw = nullptr;
  out.open = leveldb::DB::Open(options, dir, &raw);
  std::unique_ptr<leveldb::DB> db(raw);
  if (!out.open.ok()) return out;
  leveldb::ReadOptions no_cache;
  no_cache.fill_cache = false;  // nothing read before the cut may be served from the block cache
  std::string value;
  const std::vector<std::string> tables = table_files(dir);
  if (tables.size() != 2 || !db->Get(no_cache, key_of('a', 0), &value).ok() ||
      !db->Get(no_cache, key_of('b', 0), &value).ok()) {
    out.open = leveldb::Status::Corruption(dir, "expected two table files holding a0000 and b0000");
    return out;
  }
  if (truncate(tables[0].c_str(), 0) != 0) {
    out.open = leveldb::Status::IOError(tables[0], "truncate failed");
    return out;
  }
  for (int i = keys_per_table - 1; i >= 0; --i) {  // from the end: the index block says where
    const leveldb::Status s = db->Get(no_cache, key_of('a', i), &value);
    if (s.ok())
      ++out.a_ok;
    else if (s.IsIOError())
      ++out.a_io_error;
    else
      ++out.a_other;
    if (!s.ok() && out.first_error.empty()) out.first_error = s.ToString();
  }
  for (int i = 0; i < keys_per_table; ++i) {
    const leveldb::Status s = db->Get(no_cache, key_of('b', i), &value);
    if (s.ok() && value == value_of(key_of('b', i)))
      ++out.b_ok;
    else
      ++out.b_wrong;
  }
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(no_cache));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++out.iterated;
  out.iteration = it->status();
  return out;
}

}  // namespace mcsafe_leveldb
