"""examples/cron/backhaul works as shipped: its lines run as cron runs them (SHELL -c, only the file's variables in
the environment), with this tree's binary for /usr/bin/backhaul and the test's directories for /etc/backhaul and
node_exporter's. A good run and a good verify print nothing at all (cron mails any output); a failing run prints
its error and exits non-zero.
"""

import re
import unittest

from deploy_support import (BINARY, EXAMPLES, INSTALLED_BINARY, PIPELINE_DIR, TEXTFILE_DIR, TempDirTest, backups,
                            local_pipeline, run)

CRONTAB = EXAMPLES / "cron" / "backhaul"


def parse(text: str):
    """(variables, [(schedule, user, command)]) of an /etc/cron.d file."""
    variables, jobs = {}, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assignment = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", line)
        if assignment:
            variables[assignment.group(1)] = assignment.group(2)
            continue
        fields = line.split(None, 6)
        jobs.append((" ".join(fields[:5]), fields[5], fields[6]))
    return variables, jobs


class CronLines(TempDirTest):
    def setUp(self):
        super().setUp()
        self.variables, self.jobs = parse(CRONTAB.read_text())
        self.assertEqual(len(self.jobs), 2)

    def test_the_lines_name_the_packaged_binary_and_are_quiet(self):
        for schedule, user, command in self.jobs:
            self.assertEqual(user, "backhaul")
            self.assertTrue(command.startswith(INSTALLED_BINARY + " "), command)
            self.assertRegex(command, r" (--quiet|-q) ")
            # cron makes everything after an unescaped % standard input.
            self.assertNotIn("%", command)

    def cron(self, command: str):
        """Runs a line as cron does, with this tree's paths; returns the completed process."""
        command = command.replace(INSTALLED_BINARY, BINARY, 1)
        command = command.replace(PIPELINE_DIR + "/", f"{self.tmp}/etc/backhaul/")
        command = command.replace(TEXTFILE_DIR, f"{self.tmp}/textfile")
        env = dict(self.variables, HOME=str(self.tmp), LOGNAME="backhaul")
        return run([self.variables.get("SHELL", "/bin/sh"), "-c", command], env=env)

    def test_a_good_run_and_its_verify_print_nothing(self):
        pipeline = self.tmp / "etc/backhaul/orders.toml"
        pipeline.parent.mkdir(parents=True)
        (self.tmp / "textfile").mkdir()
        local_pipeline(pipeline, "orders", ["printf", "a night's orders"])
        for schedule, user, command in self.jobs:  # the run first, then the verify of what it stored
            result = self.cron(command)
            self.assertEqual((result.returncode, result.stdout, result.stderr), (0, b"", b""), command)
        self.assertEqual(len(backups(pipeline, "orders")), 1)
        self.assertIn('backhaul_last_run_success{pipeline="orders"} 1',
                      (self.tmp / "textfile/backhaul-orders.prom").read_text())

    def test_a_failing_run_prints_why(self):
        pipeline = self.tmp / "etc/backhaul/orders.toml"
        pipeline.parent.mkdir(parents=True)
        (self.tmp / "textfile").mkdir()
        local_pipeline(pipeline, "orders", ["false"])
        result = self.cron(self.jobs[0][2])
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, b"")
        self.assertIn(b"run failed", result.stderr)
        self.assertEqual(backups(pipeline, "orders"), [])

    def test_a_failing_verify_prints_why(self):
        pipeline = self.tmp / "etc/backhaul/orders.toml"
        pipeline.parent.mkdir(parents=True)
        local_pipeline(pipeline, "orders", ["printf", "orders"])
        # Nothing was ever backed up: --latest has nothing to verify.
        result = self.cron(self.jobs[1][2])
        self.assertNotEqual(result.returncode, 0)
        self.assertNotEqual(result.stderr, b"")


if __name__ == "__main__":
    unittest.main()
