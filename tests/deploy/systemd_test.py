"""examples/systemd/backhaul@.service and backhaul@.timer work as shipped, as far as can be known without systemd
as PID 1 (CI runs in a container: nothing here can start a unit):

- `systemd-analyze security --offline=true` rates the service "OK" or better (exposure below 5.0);
- `systemd-analyze verify` finds nothing to say about either unit (unknown keys, bad values, missing units);
- every path the sandbox names that may be missing on a host is optional ('-'), so the unit still starts there;
- ExecStart, run as written with the built binary, backs up; and when the node_exporter directory is missing it
  still succeeds, with a warning.
"""

import pathlib
import re
import shutil
import unittest

from deploy_support import (BINARY, EXAMPLES, INSTALLED_BINARY, PIPELINE_DIR, TEXTFILE_DIR, TempDirTest, backups,
                            local_pipeline, run)

UNITS = EXAMPLES / "systemd"
SERVICE = UNITS / "backhaul@.service"
TIMER = UNITS / "backhaul@.timer"

# systemd-analyze's levels (src/analyze/analyze-security.c): below 1.0 SAFE, below 5.0 OK, then MEDIUM, EXPOSED,
# UNSAFE. --threshold takes tenths.
OK_THRESHOLD = 49

# Options whose paths systemd sets up (or reads) before ExecStart: a missing one fails the start unless '-'.
PATH_OPTIONS = ("ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "ExecPaths", "NoExecPaths", "BindPaths",
                "BindReadOnlyPaths", "EnvironmentFile", "TemporaryFileSystem")


def service_entries(unit: pathlib.Path) -> list[tuple[str, str]]:
    """(key, value) of the [Service] section, in order; continuation lines are not used in our units."""
    entries, section = [], None
    for line in unit.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            entries.append((key.strip(), value.strip()))
    return entries


class Security(TempDirTest):
    def test_the_service_is_rated_ok_or_better(self):
        instance = self.tmp / "backhaul@test.service"
        shutil.copy(SERVICE, instance)
        result = run(["systemd-analyze", "security", "--offline=true", f"--threshold={OK_THRESHOLD}",
                      "--no-pager", str(instance)])
        output = result.stdout.decode() + result.stderr.decode()
        overall = re.search(r"Overall exposure level for backhaul@test\.service: (\d+\.\d) (\w+)", output)
        self.assertIsNotNone(overall, output)
        score, level = float(overall.group(1)), overall.group(2)
        print(f"systemd-analyze security: {score} {level}")
        self.assertIn(level, ("PERFECT", "SAFE", "OK"), output)
        self.assertLess(score, 5.0)
        self.assertEqual(result.returncode, 0, output)

    def test_both_units_verify_cleanly(self):
        # verify needs the units the ours depend on (sysinit.target, network-online.target, timers.target...) and an
        # executable at ExecStart's path: a root holding the system's units, ours, and a stand-in for the binary.
        root = self.tmp / "root"
        shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
        (root / "etc/systemd/system").mkdir(parents=True)
        for unit in (SERVICE, TIMER):
            shutil.copy(unit, root / "etc/systemd/system" / unit.name)
        binary = root / INSTALLED_BINARY.lstrip("/")
        binary.parent.mkdir(parents=True, exist_ok=True)
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
        result = run(["systemd-analyze", "verify", "--man=no", f"--root={root}", "backhaul@test.service",
                      "backhaul@test.timer"])
        # verify exits 0 on unknown keys and unparsable values, and only says so on stderr.
        self.assertEqual((result.returncode, result.stderr.decode()), (0, ""), result.stdout.decode())


class OptionalPaths(TempDirTest):
    def test_every_sandbox_path_is_optional(self):
        entries = service_entries(SERVICE)
        found = [(key, path) for key, value in entries if key in PATH_OPTIONS for path in value.split()]
        self.assertTrue(found)
        for key, path in found:
            self.assertTrue(path.startswith("-"), f"{key}={path}: a host without it would fail to start the unit")

    def test_what_execstart_writes_is_writable(self):
        entries = dict(service_entries(SERVICE))
        self.assertEqual(entries.get("ProtectSystem"), "strict")
        writable = [p.lstrip("-") for key, value in service_entries(SERVICE) if key == "ReadWritePaths"
                    for p in value.split()]
        metrics = re.search(r"--metrics-file (\S+)", entries["ExecStart"]).group(1)
        self.assertIn(str(pathlib.PurePosixPath(metrics).parent), writable)
        self.assertEqual(entries.get("RuntimeDirectory"), "backhaul")  # /run/backhaul, the default lock directory

    def execstart(self, textfile_dir: pathlib.Path) -> list[str]:
        """ExecStart for instance 'orders', with this tree's binary and the test's directories for the host's."""
        command = dict(service_entries(SERVICE))["ExecStart"]
        self.assertNotRegex(command, r"[\"'\\$;]", "the test splits ExecStart on spaces")
        self.assertTrue(command.startswith(INSTALLED_BINARY + " "), command)
        command = command.replace("%i", "orders").replace(INSTALLED_BINARY, BINARY, 1)
        command = command.replace(PIPELINE_DIR + "/", f"{self.tmp}/etc/backhaul/")
        return command.replace(TEXTFILE_DIR, str(textfile_dir)).split()

    def test_execstart_backs_up(self):
        pipeline = self.tmp / "etc/backhaul/orders.toml"
        pipeline.parent.mkdir(parents=True)
        local_pipeline(pipeline, "orders", ["printf", "orders"])
        (self.tmp / "textfile").mkdir()
        result = run(self.execstart(self.tmp / "textfile"))
        self.assertEqual(result.returncode, 0, result.stderr.decode())
        self.assertEqual(len(backups(pipeline, "orders")), 1)
        metrics = (self.tmp / "textfile/backhaul-orders.prom").read_text()
        self.assertIn('backhaul_last_run_success{pipeline="orders"} 1', metrics)

    def test_execstart_succeeds_without_the_metrics_directory(self):
        pipeline = self.tmp / "etc/backhaul/orders.toml"
        pipeline.parent.mkdir(parents=True)
        local_pipeline(pipeline, "orders", ["printf", "orders"])
        missing = self.tmp / "no-node-exporter"
        result = run(self.execstart(missing))
        self.assertEqual(result.returncode, 0, result.stderr.decode())
        self.assertEqual(len(backups(pipeline, "orders")), 1)
        self.assertIn(f"metrics file: cannot create '{missing}/", result.stderr.decode())
        self.assertFalse(missing.exists())


if __name__ == "__main__":
    unittest.main()
