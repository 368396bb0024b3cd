"""What the tests of the deployment examples share: where things are, and a pipeline that runs here.

The tests get their paths from CMake through the environment (tests/deploy/CMakeLists.txt):
BACKHAUL_BINARY (the built `backhaul`), BACKHAUL_SOURCE_DIR, BACKHAUL_VERSION (the project's version).
"""

import os
import pathlib
import subprocess
import tempfile
import unittest

BINARY = os.environ["BACKHAUL_BINARY"]
SOURCE_DIR = pathlib.Path(os.environ["BACKHAUL_SOURCE_DIR"])
VERSION = os.environ["BACKHAUL_VERSION"]
EXAMPLES = SOURCE_DIR / "examples"

# Where the Debian package puts things (scripts/package); the examples must name these.
INSTALLED_BINARY = "/usr/bin/backhaul"
PIPELINE_DIR = "/etc/backhaul"
TEXTFILE_DIR = "/var/lib/node_exporter/textfile"


def local_pipeline(path: pathlib.Path, name: str, command: list[str]) -> None:
    """A pipeline that runs on this machine alone: `command`'s output, gzip, a directory next to the file.

    Its lock is in the test's own directory, so that tests running at once never share one.
    """
    work = path.parent / (name + ".work")
    (work / "backups").mkdir(parents=True)
    argv = ", ".join('"' + arg + '"' for arg in command)
    path.write_text(f'''name = "{name}"
lock_dir = "{work}/lock"

[source]
plugin = "source-command"
command = [{argv}]

[[transform]]
plugin = "compress-gzip"

[sink]
plugin = "sink-local"
path = "{work}/backups"
key = "{{pipeline}}/%Y%m%dT%H%M%S{{ext}}"
''')


def backups(path: pathlib.Path, name: str) -> list[pathlib.Path]:
    """The data objects a local_pipeline stored (not their manifests)."""
    root = path.parent / (name + ".work") / "backups"
    return sorted(p for p in root.rglob("*.gz") if p.is_file())


class TempDirTest(unittest.TestCase):
    """Each test case owns a fresh directory, self.tmp."""

    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="backhaul-deploy-")
        self.tmp = pathlib.Path(self._tmp.name)

    def tearDown(self) -> None:
        self._tmp.cleanup()


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
