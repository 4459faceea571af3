#include "report.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace mcsafe_scan {

const char* kind_name(target_kind k) {
  switch (k) {
    case target_kind::regular_file: return "regular_file";
    case target_kind::block_pmem: return "block_pmem";
    case target_kind::device_dax: return "device_dax";
  }
  return nullptr;
}

exit_code fail(report& r, exit_code code, const std::string& msg) {
  r.exit = code;
  r.error = msg;
  return code;
}
exit_code fail_errno(report& r, exit_code code, const std::string& what) {
  const int e = errno;
  return fail(r, code, what + ": " + std::strerror(e));
}

mcsafe::poison_map known_bad(const report& r) {
  mcsafe::poison_map all = r.bad.value_or(mcsafe::poison_map{});
  if (r.kernel)
    if (const auto* listed = std::get_if<mcsafe::poison_map>(&r.kernel->listed))
      for (const mcsafe::byte_range& x : *listed) all.insert(x);
  if (r.salvage)
    for (const mcsafe::byte_range& x : r.salvage->holes) all.insert(x);
  all.erase({r.target ? r.target->size : 0, static_cast<std::size_t>(-1)});
  return all;
}

namespace {

// A JSON string. Valid UTF-8 passes through; each byte that is not part of valid UTF-8 becomes
// \udcXX (Python's surrogateescape), so a file name of any bytes gives valid JSON that maps back
// to the exact name (os.fsencode in Python).
std::string json_string(std::string_view s) {
  std::string out = "\"";
  char esc[8];
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      const char* named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : nullptr;
      if (named == nullptr) std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += named != nullptr ? named : esc;
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // Length and lowest value of a well-formed sequence starting with c (no overlongs, no
      // surrogates, nothing above U+10FFFF).
      const std::size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
      bool ok = n != 0 && i + n <= s.size();
      std::uint32_t cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
      for (std::size_t k = 1; ok && k < n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        ok = (cc & 0xc0) == 0x80;
        cp = cp << 6 | (cc & 0x3f);
      }
      ok = ok && !(n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) && !(n == 4 && (cp < 0x10000 || cp > 0x10ffff));
      if (ok) {
        out.append(s.substr(i, n));
        i += n;
      } else {
        std::snprintf(esc, sizeof esc, "\\udc%02x", c);
        out += esc;
        ++i;
      }
    }
  }
  return out + "\"";
}
std::string json_string_or_null(const char* s) { return s != nullptr ? json_string(s) : "null"; }
std::string json_text_or_null(const std::string& s) { return s.empty() ? "null" : json_string(s); }
std::string json_number_or_null(bool have, std::size_t v) { return have ? std::to_string(v) : "null"; }
std::string json_ranges(const mcsafe::poison_map* m) {
  if (m == nullptr) return "null";
  std::string out = "[";
  for (const mcsafe::byte_range& r : *m)
    out += (out.size() > 1 ? ", " : "") + std::string("{\"offset_bytes\": ") + std::to_string(r.begin) +
           ", \"length_bytes\": " + std::to_string(r.size()) + "}";
  return out + "]";
}

std::string json_kernel(const report& r) {
  const kernel_report* k = r.kernel ? &*r.kernel : nullptr;
  const std::string* error = k != nullptr ? std::get_if<std::string>(&k->listed) : nullptr;
  return "{\"source\": " + (k != nullptr ? json_string(k->source) : "null") +
         ", \"partition\": " + (k != nullptr ? json_text_or_null(k->partition) : "null") +
         ", \"error\": " + (error != nullptr ? json_text_or_null(*error) : "null") +
         ", \"ranges\": " + json_ranges(k != nullptr ? std::get_if<mcsafe::poison_map>(&k->listed) : nullptr) + "}";
}

std::string json_repair(const options& o, const report& r) {
  const mcsafe::poison_map* pages = r.repair ? &r.repair->pages : nullptr;
  const repair_outcome* done = r.repair && r.repair->done ? &*r.repair->done : nullptr;
  return "{\"good_copy\": " + json_string(o.repair_from) + ", \"dry_run\": " + (o.dry_run ? "true" : "false") +
         ", \"pages\": " + json_ranges(pages) +
         ", \"rewritten_bytes\": " + json_number_or_null(done != nullptr, done != nullptr ? done->rewritten : 0) +
         ", \"refused\": " + json_ranges(done != nullptr ? &done->refused : nullptr) +
         ", \"bad_bytes_after\": " + json_number_or_null(done != nullptr, done != nullptr ? done->after.bytes() : 0) +
         ", \"bad_ranges_after\": " + json_ranges(done != nullptr ? &done->after : nullptr) + "}";
}

}  // namespace

void print_json(const options& o, const report& r) {
  std::string j = "{\"tool\": \"mcsafe-scan\", \"version\": \"" + std::string(version()) + "\"";
  j += ", \"exit_code\": " + std::to_string(r.exit) + ", \"status\": \"" + status_name(r.exit) + "\"";
  j += ", \"error\": " + json_text_or_null(r.error);
  j += ", \"file\": " + json_string_or_null(o.file);
  j += ", \"target\": " + (r.target ? "\"" + std::string(kind_name(r.target->kind)) + "\"" : std::string("null"));
  j += ", \"size_bytes\": " + json_number_or_null(r.target.has_value(), r.target ? r.target->size : 0);
  j += ", \"bad_bytes\": " + json_number_or_null(r.bad.has_value(), r.bad ? r.bad->bytes() : 0);
  j += ", \"bad_ranges\": " + json_ranges(r.bad ? &*r.bad : nullptr);
  j += ", \"kernel_badblocks\": " + json_kernel(r);
  j += ", \"salvage\": ";
  if (o.salvage_to == nullptr) {
    j += "null";
  } else {
    const salvage_report* s = r.salvage ? &*r.salvage : nullptr;
    j += "{\"output\": " + json_string(o.salvage_to) +
         ", \"read_bytes\": " + json_number_or_null(s != nullptr, s != nullptr ? s->read_bytes : 0) +
         ", \"holes\": " + json_ranges(s != nullptr ? &s->holes : nullptr) + "}";
  }
  j += ", \"repair\": " + (o.repair_from == nullptr ? std::string("null") : json_repair(o, r));
  std::printf("%s}\n", j.c_str());
}

void print_ranges_text(const char* label, const mcsafe::poison_map& m) {
  for (const mcsafe::byte_range& r : m) std::printf("  %s: offset %zu, %zu bytes\n", label, r.begin, r.size());
}

void print_text(const options& o, const report& r) {
  if (!r.bad || !r.target) return;
  std::printf("%s: %zu bytes, %zu unreadable in %zu range(s)\n", o.file, r.target->size, r.bad->bytes(), r.bad->size());
  print_ranges_text("bad", *r.bad);
  if (!r.kernel) {
    std::printf("kernel badblocks: not on a pmem device\n");
  } else {
    const kernel_report& k = *r.kernel;
    std::printf("kernel badblocks: %s", k.source.c_str());
    if (!k.partition.empty()) std::printf(" (clipped to partition %s)", k.partition.c_str());
    if (const auto* listed = std::get_if<mcsafe::poison_map>(&k.listed)) {
      std::printf(", %zu range(s) in this file\n", listed->size());
      print_ranges_text("kernel", *listed);
    } else {
      std::printf(" unreadable: %s\n", std::get_if<std::string>(&k.listed)->c_str());
    }
  }
  if (r.salvage) {
    std::printf("salvage: %zu bytes readable written to %s, %zu unreadable range(s) left as zeros\n", r.salvage->read_bytes,
                o.salvage_to, r.salvage->holes.size());
    print_ranges_text("hole", r.salvage->holes);
  }
  if (!r.repair) return;
  const mcsafe::poison_map& pages = r.repair->pages;
  std::printf("repair from %s: %zu page range(s), %zu bytes%s\n", o.repair_from, pages.size(), pages.bytes(),
              o.dry_run ? " would be rewritten (dry run: nothing written)" : "");
  print_ranges_text(o.dry_run ? "would rewrite" : "rewrite", pages);
  if (const auto& done = r.repair->done) {
    std::printf("repaired: %zu bytes rewritten, %zu refused by the kernel; now %zu unreadable in %zu range(s)\n",
                done->rewritten, done->refused.bytes(), done->after.bytes(), done->after.size());
    print_ranges_text("refused", done->refused);
    print_ranges_text("still bad", done->after);
  }
}

}  // namespace mcsafe_scan
