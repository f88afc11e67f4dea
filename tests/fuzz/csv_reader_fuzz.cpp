// Fuzzes the RFC 4180 reader of the tabular library (medsafe_tabular). Invariants: the only
// exception is a data Error that names the file; records start on increasing lines; read_csv
// gives what the reader gives record by record; and the records written back (every field
// quoted, quotes doubled) read back to the same fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "medsafe/error.hpp"
#include "tabular/csv_reader.hpp"

namespace {

namespace tabular = medsafe::tabular;

constexpr char kFile[] = "fuzz.csv";

// The delimiter the first byte picks: one of the common ones when its high bit is set, else
// the byte itself unless it cannot be a delimiter (a quote or a line break).
char pick_delimiter(std::uint8_t byte) {
  constexpr char kCommon[] = {',', ';', '\t', '|'};
  const char c = static_cast<char>(byte);
  if (byte >= 0x80 || c == '"' || c == '\n' || c == '\r') return kCommon[byte % 4];
  return c;
}

std::vector<std::vector<std::string>> fields_of(const std::vector<tabular::CsvRecord>& records) {
  std::vector<std::vector<std::string>> out;
  for (const tabular::CsvRecord& record : records) out.push_back(record.fields);
  return out;
}

std::string write_back(const std::vector<tabular::CsvRecord>& records, char delimiter) {
  std::string out;
  for (const tabular::CsvRecord& record : records) {
    for (std::size_t i = 0; i < record.fields.size(); ++i) {
      if (i > 0) out += delimiter;
      out += '"';
      for (const char c : record.fields[i]) {
        if (c == '"') out += '"';
        out += c;
      }
      out += '"';
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medsafe::fuzz::FuzzInput input(data, size);
  const char delimiter = pick_delimiter(input.take_byte());
  const std::string_view text = input.rest();

  std::vector<tabular::CsvRecord> records;
  try {
    tabular::CsvReader reader(text, kFile, delimiter);
    tabular::CsvRecord record;
    std::uint32_t last_line = 0;
    while (reader.next(record)) {
      MEDSAFE_FUZZ_CHECK(!record.fields.empty());
      MEDSAFE_FUZZ_CHECK(record.line > last_line);
      last_line = record.line;
      records.push_back(record);
    }
  } catch (const medsafe::Error& e) {
    MEDSAFE_FUZZ_CHECK(e.kind() == medsafe::ErrorKind::data);
    MEDSAFE_FUZZ_CHECK(std::string_view(e.what()).starts_with(std::string(kFile) + ":"));
    return 0;
  }
  MEDSAFE_FUZZ_CHECK(fields_of(tabular::read_csv(text, kFile, delimiter)) == fields_of(records));
  const std::string written = write_back(records, delimiter);
  MEDSAFE_FUZZ_CHECK(fields_of(tabular::read_csv(written, kFile, delimiter)) == fields_of(records));
  return 0;
}
