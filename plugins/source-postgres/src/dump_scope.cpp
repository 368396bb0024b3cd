#include "dump_scope.hpp"

#include <algorithm>
#include <cstring>

namespace backhaul {
namespace {

// The schemas and relations pg_dump dumps, as its getNamespaces/getTables/expand_*_name_patterns select them:
// without `tables`, every relation of every dumped schema (schemas: all non-system ones, or those matching `schemas`,
// less those matching `exclude_schemas`); with `tables`, only the relations matching one (exclude_schemas then has no
// effect, as in pg_dump); less those matching `exclude_tables`. Objects of extensions are not dumped. Only relations
// whose data pg_dump reads count: tables, partitions, materialized views, sequences.
// $1, $2: schema include/exclude regexes; $3, $4: table include schema (NULL = visible in search_path) and name
// regexes; $5, $6: the same for exclude_tables.
const char* const kScope = R"SQL(
WITH candidate_schemas AS (
    SELECT n.oid, n.nspname FROM pg_namespace n
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
), dumped_schemas AS (
    SELECT s.oid, s.nspname FROM candidate_schemas s
     WHERE (cardinality($1::text[]) = 0 OR s.nspname ~ ANY ($1::text[])) AND NOT s.nspname ~ ANY ($2::text[])
), dumped_relations AS (
    SELECT c.oid, n.oid AS nsp, c.relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
      FROM pg_class c JOIN candidate_schemas n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'm', 'S')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
       AND CASE WHEN cardinality($4::text[]) > 0
                THEN EXISTS (SELECT 1 FROM unnest($3::text[], $4::text[]) p(s, r)
                              WHERE c.relname ~ p.r
                                AND CASE WHEN p.s IS NULL THEN pg_table_is_visible(c.oid) ELSE n.nspname ~ p.s END)
                ELSE n.oid IN (SELECT oid FROM dumped_schemas) END
       AND NOT EXISTS (SELECT 1 FROM unnest($5::text[], $6::text[]) p(s, r)
                        WHERE c.relname ~ p.r
                          AND CASE WHEN p.s IS NULL THEN pg_table_is_visible(c.oid) ELSE n.nspname ~ p.s END)
), used_schemas AS (
    SELECT n.oid, n.nspname FROM pg_namespace n WHERE n.oid IN (SELECT nsp FROM dumped_relations)
), unusable_schemas AS (
    SELECT quote_ident(nspname) AS name FROM used_schemas WHERE NOT has_schema_privilege(oid, 'USAGE')
), unreadable_relations AS (
    SELECT name FROM dumped_relations
     WHERE NOT has_schema_privilege(nsp, 'USAGE') OR NOT has_table_privilege(oid, 'SELECT')
)
)SQL";

const char* const kScopeSummary = R"SQL(
SELECT (SELECT count(*) FROM used_schemas), (SELECT count(*) FROM dumped_relations),
       (SELECT coalesce(sum(pg_table_size(oid)), 0) FROM dumped_relations),
       (SELECT count(*) FROM unusable_schemas), (SELECT count(*) FROM unreadable_relations)
)SQL";

const char* const kScopeExamples = R"SQL(
(SELECT 'schema', name FROM unusable_schemas ORDER BY name LIMIT 3)
UNION ALL
(SELECT 'relation', name FROM unreadable_relations ORDER BY name LIMIT 3)
)SQL";

// pg_dump reads a large object if the role may: lo_compat_privileges, owning it (or being a member of its owner, which
// superusers always are), or a SELECT grant to PUBLIC or to a role it is a member of. has_largeobject_privilege()
// would say it in one call, but only from PostgreSQL 17 on.
const char* const kLargeObjects = R"SQL(
WITH objects AS (
    SELECT m.oid,
           current_setting('lo_compat_privileges')::bool OR pg_has_role(m.lomowner, 'USAGE')
           OR EXISTS (SELECT 1 FROM aclexplode(m.lomacl) a
                       WHERE a.privilege_type = 'SELECT'
                         AND CASE WHEN a.grantee = 0 THEN true ELSE pg_has_role(a.grantee, 'USAGE') END) AS readable
      FROM pg_largeobject_metadata m
)
SELECT count(*), count(*) FILTER (WHERE NOT readable),
       (SELECT string_agg(oid::text, ' ' ORDER BY oid)
          FROM (SELECT oid FROM objects WHERE NOT readable ORDER BY oid LIMIT 3) first_few),
       pg_table_size('pg_catalog.pg_largeobject')
  FROM objects
)SQL";

// An array literal ('{"a","b",NULL}') for a text[] parameter.
std::string array_literal(const std::vector<std::optional<std::string>>& items) {
    std::string text = "{";
    for (const std::optional<std::string>& item : items) {
        if (text.size() > 1) text += ',';
        if (!item) {
            text += "NULL";
            continue;
        }
        text += '"';
        for (char c : *item) {
            if (c == '"' || c == '\\') text += '\\';
            text += c;
        }
        text += '"';
    }
    return text + "}";
}

// Schema and name regexes of table patterns, as two parallel arrays.
std::pair<std::string, std::string> table_arrays(const std::vector<std::string>& patterns) {
    std::vector<std::optional<std::string>> schemas, names;
    for (const std::string& pattern : patterns) {
        NamePattern translated = translate_pattern(pattern);
        schemas.push_back(translated.schema);
        names.emplace_back(translated.name);
    }
    return {array_literal(schemas), array_literal(names)};
}

std::string schema_array(const std::vector<std::string>& patterns) {
    std::vector<std::optional<std::string>> regexes;
    // A schema pattern's last part is the schema ("db.schema" names the database first).
    for (const std::string& pattern : patterns) regexes.emplace_back(translate_pattern(pattern).name);
    return array_literal(regexes);
}

bool has_flag(const std::vector<std::string>& args, std::initializer_list<const char*> flags) {
    return std::any_of(args.begin(), args.end(), [&](const std::string& arg) {
        return std::any_of(flags.begin(), flags.end(), [&](const char* flag) { return arg == flag; });
    });
}

}  // namespace

NamePattern translate_pattern(const std::string& pattern) {
    // patternToSQLRegex (PostgreSQL's fe_utils/string_utils.c), which pg_dump uses for every name pattern.
    std::vector<std::string> parts(1);
    bool in_quotes = false;
    for (size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        std::string& part = parts.back();
        if (c == '"') {
            if (in_quotes && i + 1 < pattern.size() && pattern[i + 1] == '"') {
                part += '"';
                ++i;
            } else {
                in_quotes = !in_quotes;
            }
        } else if (!in_quotes && c >= 'A' && c <= 'Z') {
            part += static_cast<char>(c - 'A' + 'a');
        } else if (!in_quotes && c == '*') {
            part += ".*";
        } else if (!in_quotes && c == '?') {
            part += '.';
        } else if (!in_quotes && c == '.') {
            parts.emplace_back();
        } else if (c == '$') {
            part += "\\$";
        } else {
            // Outside quotes regular expression syntax is the user's ([0-9], a|b); inside it is literal.
            if ((in_quotes && std::strchr("|*+?()[]{}.^\\", c)) ||
                (c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ']'))
                part += '\\';
            part += c;
        }
    }
    NamePattern translated;
    translated.name = "^(" + parts.back() + ")$";
    if (parts.size() >= 2) translated.schema = "^(" + parts[parts.size() - 2] + ")$";
    return translated;
}

bool dumps_large_objects(const DumpSelection& selection) {
    const std::vector<std::string>& args = selection.extra_args;
    if (has_flag(args, {"-B", "--no-blobs", "--no-large-objects"})) return false;
    if (has_flag(args, {"-b", "--blobs", "--large-objects"})) return true;
    return selection.schemas.empty() && selection.tables.empty() && !has_flag(args, {"-s", "--schema-only"});
}

DumpScope inspect_dump_scope(PgConnection& conn, const DumpSelection& selection) {
    auto [table_schemas, table_names] = table_arrays(selection.tables);
    auto [exclude_schemas, exclude_names] = table_arrays(selection.exclude_tables);
    const std::vector<std::string> params{schema_array(selection.schemas),
                                          schema_array(selection.exclude_schemas),
                                          table_schemas,
                                          table_names,
                                          exclude_schemas,
                                          exclude_names};
    const std::string what = "cannot inspect what pg_dump will read";
    DumpScope scope;
    const Row summary = conn.query(std::string(kScope) + kScopeSummary, params, what).at(0);
    scope.schema_count = std::stoll(summary.at(0));
    scope.relation_count = std::stoll(summary.at(1));
    scope.data_bytes = std::stoll(summary.at(2));
    scope.schemas_without_usage = std::stoll(summary.at(3));
    scope.unreadable_relations = std::stoll(summary.at(4));
    if (scope.schemas_without_usage > 0 || scope.unreadable_relations > 0)
        for (const Row& row : conn.query(std::string(kScope) + kScopeExamples, params, what))
            (row.at(0) == "schema" ? scope.schema_examples : scope.relation_examples).push_back(row.at(1));

    scope.large_objects_dumped = dumps_large_objects(selection);
    if (scope.large_objects_dumped) {
        const Row objects = conn.query(kLargeObjects, {}, what).at(0);
        scope.large_objects = std::stoll(objects.at(0));
        scope.unreadable_large_objects = std::stoll(objects.at(1));
        for (size_t start = 0, end; start < objects.at(2).size(); start = end + 1) {
            end = std::min(objects.at(2).find(' ', start), objects.at(2).size());
            scope.large_object_examples.push_back(objects.at(2).substr(start, end - start));
        }
        if (scope.large_objects > 0) scope.data_bytes += std::stoll(objects.at(3));
    }
    return scope;
}

}  // namespace backhaul
