// What pg_dump will read for the configured selection, asked of the server before pg_dump starts: the schemas and
// relations it dumps (by pg_dump's own pattern rules for schemas, tables, exclude_schemas, exclude_tables), the size
// of their data, and which of them the connected role may not read. The backup's preflight refuses to start a dump
// that would fail on a privilege half-way; `backhaul check` lists the same findings; the size is the progress
// estimate. Only SELECTs: nothing on the server changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dump_arguments.hpp"
#include "pg_connection.hpp"

namespace backhaul {

// One pg_dump name pattern as POSIX regular expressions, translated as pg_dump does it (psql's rules: "*" is any
// text, "?" one character, "." separates schema and name, unquoted letters fold to lower case, double quotes keep
// case and special characters, other regular expression syntax passes through).
struct NamePattern {
    std::optional<std::string> schema;  // "^(sales)$"; unset: a table pattern without schema (visible tables)
    std::string name;                   // "^(orders.*)$"
};
NamePattern translate_pattern(const std::string& pattern);

// Whether pg_dump dumps large objects for this selection: by default only without schemas and tables (pg_dump's
// rule), and extra_args may say otherwise (-b, -B, -s).
bool dumps_large_objects(const DumpSelection& selection);

struct DumpScope {
    static constexpr int kExamples = 3;  // how many names each list below keeps

    int64_t schema_count = 0;    // schemas holding a dumped relation
    int64_t relation_count = 0;  // tables, partitions, materialized views and sequences whose data is dumped
    // pg_table_size of those relations (and of pg_largeobject when large objects are dumped): the data pg_dump reads,
    // without the indexes that pg_database_size also counts.
    int64_t data_bytes = 0;

    // Of those, the ones lacking USAGE (pg_dump cannot lock the tables in them), and the first few, quoted as in SQL.
    // A schema without dumped relations needs no USAGE: pg_dump reads its definition from the catalog.
    int64_t schemas_without_usage = 0;
    std::vector<std::string> schema_examples;
    // Relations lacking SELECT, or in a schema lacking USAGE: pg_dump fails on either.
    int64_t unreadable_relations = 0;
    std::vector<std::string> relation_examples;

    bool large_objects_dumped = false;
    int64_t large_objects = 0;
    int64_t unreadable_large_objects = 0;  // and the first few OIDs
    std::vector<std::string> large_object_examples;
};

DumpScope inspect_dump_scope(PgConnection& conn, const DumpSelection& selection);

}  // namespace backhaul
