#!/usr/bin/env python3
"""The layering of docs/architecture.md, checked on the built tree rather than trusted:

* the core links no plugin code: no strong symbol defined by a plugin's library is defined in the `backhaul`
  executable (a plugin's code reaches the core only through the ABI, after dlopen);
* the core compiles against no plugin's headers, and no plugin against the core's: the include directories of every
  translation unit (compile_commands.json) stay on their side;
* the code both need (common/, the OBJECT library backhaul_common) is compiled into the core's library and into
  Backhaul::plugin_support (the archive out-of-tree plugins link), compiles against neither side, and the header-only
  SDK (Backhaul::sdk, sdk/include) neither links it nor includes its headers.

The build passes the paths of the last check in the environment (tests/architecture/CMakeLists.txt).

    layering_test.py SOURCE_DIR BUILD_DIR BACKHAUL_BINARY
"""
import json
import os
import pathlib
import shlex
import subprocess
import sys
import unittest

SOURCE_DIR, BUILD_DIR, BACKHAUL_BINARY = (pathlib.Path(arg).resolve() for arg in sys.argv[1:4])
del sys.argv[1:4]


def strong_symbols(path, extra=()):
    """Defined, non-weak code and data symbols (nm types T, D, B, R): weak ones are inline and template instances that
    any two objects may share."""
    out = subprocess.run(["nm", "--defined-only", "--demangle", *extra, str(path)], check=True, capture_output=True,
                         text=True).stdout
    symbols = set()
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in ("T", "D", "B", "R"):
            symbols.add(parts[2])
    return symbols


def plugin_archives():
    """The static libraries built from plugins/ (a plugin's own core library, the age format, ...). Test-only
    archives are not plugin code."""
    return sorted(p for p in (BUILD_DIR / "plugins").rglob("*.a") if "test" not in p.name)


def arguments(command):
    return shlex.split(command["command"]) if "command" in command else command["arguments"]


def include_dirs(command):
    args = arguments(command)
    dirs = []
    for i, arg in enumerate(args):
        for flag in ("-I", "-isystem", "-iquote"):
            if arg == flag and i + 1 < len(args):
                dirs.append(args[i + 1])
            elif arg.startswith(flag) and len(arg) > len(flag):
                dirs.append(arg[len(flag):])
    return [pathlib.Path(command["directory"], d).resolve() for d in dirs]


def object_file(command):
    """The object a compile writes, whose directory names the target (CMakeFiles/<target>.dir/...)."""
    args = arguments(command)
    return command.get("output") or next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-o"), "")


def is_test_build(command):
    """Test targets may compile a plugin's sources together with the core's test support."""
    target = next((part for part in pathlib.PurePath(object_file(command)).parts if part.endswith(".dir")), "")
    return "test" in target or "/tests/" in command["file"]


def under(path, top):
    return path == top or top in path.parents


class CoreLinksNoPluginCode(unittest.TestCase):
    def test_the_plugin_libraries_exist_so_the_check_is_not_empty(self):
        names = [p.name for p in plugin_archives()]
        self.assertIn("libbackhaul_age.a", names)

    def test_no_symbol_of_a_plugin_library_is_defined_in_backhaul(self):
        core = strong_symbols(BACKHAUL_BINARY)
        self.assertTrue(any("backhaul::" in s for s in core), "nm found no backhaul:: symbols in the binary")
        for archive in plugin_archives():
            shared = sorted(strong_symbols(archive) & core)
            self.assertEqual(shared, [], f"{BACKHAUL_BINARY.name} contains code of {archive.name}")


class HeadersStayOnTheirSide(unittest.TestCase):
    def setUp(self):
        with open(BUILD_DIR / "compile_commands.json") as f:
            self.commands = json.load(f)

    def units_under(self, top):
        return [c for c in self.commands if under(pathlib.Path(c["directory"], c["file"]).resolve(), top)]

    def test_the_core_compiles_against_no_plugin(self):
        units = self.units_under(SOURCE_DIR / "core")
        self.assertTrue(units, "compile_commands.json has no core sources")
        for unit in units:
            if is_test_build(unit):
                continue
            for d in include_dirs(unit):
                self.assertFalse(under(d, SOURCE_DIR / "plugins"), f"{unit['file']} includes from {d}")

    def test_no_plugin_compiles_against_the_core(self):
        units = self.units_under(SOURCE_DIR / "plugins")
        self.assertTrue(units, "compile_commands.json has no plugin sources")
        for unit in units:
            if is_test_build(unit):
                continue
            for d in include_dirs(unit):
                self.assertFalse(under(d, SOURCE_DIR / "core"), f"{unit['file']} includes from {d}")

    def test_common_compiles_against_neither_side(self):
        units = self.units_under(SOURCE_DIR / "common")
        self.assertTrue(units, "compile_commands.json has no common sources")
        for unit in units:
            if is_test_build(unit):
                continue
            for d in include_dirs(unit):
                for side in (SOURCE_DIR / "core", SOURCE_DIR / "plugins", SOURCE_DIR / "sdk" / "support"):
                    self.assertFalse(under(d, side), f"{unit['file']} includes from {d}")


def environment_list(name):
    return [item for item in os.environ.get(name, "").split(":") if item]


class CommonIsInTheCoreAndTheSupportLibraryOnly(unittest.TestCase):
    def test_the_core_and_the_support_library_define_every_symbol_of_common(self):
        objects = environment_list("BACKHAUL_COMMON_OBJECTS")
        self.assertTrue(objects, "BACKHAUL_COMMON_OBJECTS is not set")
        common = set().union(*(strong_symbols(o) for o in objects))
        self.assertTrue(any("backhaul::common::" in s for s in common), "nm found no backhaul::common:: symbols")
        for archive in (os.environ["BACKHAUL_CORE_ARCHIVE"], os.environ["BACKHAUL_SUPPORT_ARCHIVE"]):
            missing = sorted(common - strong_symbols(archive))
            self.assertEqual(missing, [], f"{pathlib.Path(archive).name} lacks code of backhaul_common")

    def test_the_sdk_links_no_common_code(self):
        self.assertIn("BACKHAUL_SDK_LINK_LIBRARIES", os.environ)
        links = environment_list("BACKHAUL_SDK_LINK_LIBRARIES")
        self.assertFalse([link for link in links if "common" in link or "support" in link], links)

    def test_the_sdk_headers_include_no_common_header(self):
        headers = sorted((SOURCE_DIR / "sdk" / "include").rglob("*.h*"))
        self.assertTrue(headers)
        for header in headers:
            text = header.read_text()
            self.assertNotIn("backhaul/common/", text, header)
            self.assertNotIn("backhaul/support/", text, header)


if __name__ == "__main__":
    unittest.main()
