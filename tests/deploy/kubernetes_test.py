"""examples/kubernetes/cronjob.yaml works as shipped, as far as can be known without a cluster:

- the pod passes every control of the Pod Security "restricted" profile (pod_security.py), and the checker itself
  refuses each kind of violation, so a pass means something;
- the hardening the issue asks for beyond the profile: read-only root file system, CPU and memory requests and
  limits, non-root groups, credentials only as a Secret volume with defaultMode 0400 (never in the environment);
- it runs the image scripts/image builds, as that image's user;
- the pipeline in its ConfigMap passes `backhaul validate`, the container's arguments are accepted by the binary, and
  every path the pipeline needs exists in the pod: the pipeline file in the ConfigMap volume, the secret file in the
  Secret volume, a writable lock directory.
"""

import copy
import pathlib
import posixpath
import re
import tomllib
import unittest

import yaml

import pod_security
from deploy_support import BINARY, EXAMPLES, SOURCE_DIR, VERSION, TempDirTest, run

MANIFEST = EXAMPLES / "kubernetes" / "cronjob.yaml"


def load():
    documents = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    by_kind = {}
    for document in documents:
        by_kind.setdefault(document["kind"], []).append(document)
    return by_kind


def pod_template(cronjob):
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]


def under(path, mount_path):
    return posixpath.commonpath([path, mount_path]) == mount_path


class PodSecurityRestricted(unittest.TestCase):
    def setUp(self):
        self.documents = load()
        self.assertEqual(sorted(self.documents), ["ConfigMap", "CronJob"])
        self.assertEqual(len(self.documents["CronJob"]), 1)
        self.template = pod_template(self.documents["CronJob"][0])

    def test_the_pod_passes_every_control_of_the_profile(self):
        self.assertEqual(pod_security.violations(self.template.get("metadata"), self.template["spec"]), [])

    def test_the_checker_refuses_each_kind_of_violation(self):
        def container(spec):
            return spec["containers"][0]

        def context(spec):
            return container(spec)["securityContext"]

        mutations = {
            "host_namespaces": lambda s: s.update(hostNetwork=True),
            "privileged": lambda s: context(s).update(privileged=True),
            "capabilities_baseline": lambda s: context(s)["capabilities"].update(add=["SYS_ADMIN"]),
            "host_path_volumes": lambda s: s["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
            "host_ports": lambda s: container(s).update(ports=[{"containerPort": 80, "hostPort": 80}]),
            "app_armor": lambda s: s["securityContext"].update(appArmorProfile={"type": "Unconfined"}),
            "se_linux_options": lambda s: s["securityContext"].update(seLinuxOptions={"type": "spc_t"}),
            "proc_mount": lambda s: context(s).update(procMount="Unmasked"),
            "seccomp_profile_baseline": lambda s: context(s).update(seccompProfile={"type": "Unconfined"}),
            "sysctls": lambda s: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
            "windows_host_process": lambda s: context(s).update(windowsOptions={"hostProcess": True}),
            "host_probes_and_lifecycle": lambda s: container(s).update(
                livenessProbe={"httpGet": {"host": "10.0.0.1", "port": 80}}),
            "restricted_volumes": lambda s: s["volumes"].append({"name": "n", "nfs": {"server": "x", "path": "/"}}),
            "allow_privilege_escalation": lambda s: context(s).pop("allowPrivilegeEscalation"),
            "run_as_non_root": lambda s: s["securityContext"].pop("runAsNonRoot"),
            "run_as_user": lambda s: context(s).update(runAsUser=0),
            "seccomp_profile_restricted": lambda s: s["securityContext"].pop("seccompProfile"),
            "capabilities_restricted": lambda s: context(s)["capabilities"].update(drop=["NET_RAW"]),
        }
        self.assertEqual(sorted(mutations), sorted(c.__name__ for c in pod_security.RESTRICTED))
        for check, mutate in mutations.items():
            spec = copy.deepcopy(self.template["spec"])
            mutate(spec)
            found = pod_security.violations(self.template.get("metadata"), spec)
            self.assertTrue(any(v.startswith(check + ":") for v in found), f"{check} not caught: {found}")


class Hardening(unittest.TestCase):
    def setUp(self):
        self.documents = load()
        self.spec = pod_template(self.documents["CronJob"][0])["spec"]
        self.containers = [c for _, c in pod_security._containers(self.spec)]

    def test_read_only_root_and_resource_limits(self):
        for container in self.containers:
            self.assertIs(container["securityContext"].get("readOnlyRootFilesystem"), True, container["name"])
            resources = container.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    self.assertIn(resource, resources.get(kind) or {}, f"{container['name']}: {kind}.{resource}")

    def test_non_root_groups(self):
        context = self.spec["securityContext"]
        for field in ("runAsUser", "runAsGroup", "fsGroup"):
            self.assertGreater(context.get(field, 0), 0, field)

    def test_secrets_are_mounted_0400_and_never_in_the_environment(self):
        secret_volumes = [v for v in self.spec["volumes"] if "secret" in v]
        self.assertTrue(secret_volumes)
        for volume in secret_volumes:
            self.assertEqual(volume["secret"].get("defaultMode"), 0o400, volume["name"])
            for item in volume["secret"].get("items") or []:
                self.assertEqual(item.get("mode", 0o400) & 0o377, 0, item)
        for container in self.containers:
            for source in container.get("envFrom") or []:
                self.assertNotIn("secretRef", source, container["name"])
            for variable in container.get("env") or []:
                self.assertNotIn("secretKeyRef", variable.get("valueFrom") or {}, container["name"])
        # Mounted read-only; a root-owned 0400 file is readable by the pod's user only through fsGroup (0440).
        for container in self.containers:
            for mount in container.get("volumeMounts") or []:
                if mount["name"] in {v["name"] for v in secret_volumes}:
                    self.assertIs(mount.get("readOnly"), True, mount)
        self.assertIn("fsGroup", self.spec["securityContext"])


class Image(unittest.TestCase):
    def test_it_runs_the_image_scripts_image_builds(self):
        spec = pod_template(load()["CronJob"][0])["spec"]
        for container in spec["containers"]:
            self.assertEqual(container["image"], f"localhost/backhaul:{VERSION}")
            # The image's ENTRYPOINT is backhaul: the pod gives arguments only.
            self.assertNotIn("command", container)

    def test_it_runs_as_the_images_user(self):
        containerfile = SOURCE_DIR / "Containerfile"
        if not containerfile.exists():
            self.skipTest("no Containerfile in this tree")
        users = re.findall(r"^\s*USER\s+(\S+)", containerfile.read_text(), re.MULTILINE)
        self.assertTrue(users, "the Containerfile sets no USER")
        user = users[-1].split(":")[0]
        self.assertTrue(user.isdigit(), f"USER {user}: runAsNonRoot needs a numeric user in the image")
        spec = pod_template(load()["CronJob"][0])["spec"]
        self.assertEqual(spec["securityContext"]["runAsUser"], int(user))


class Pipeline(TempDirTest):
    def setUp(self):
        super().setUp()
        documents = load()
        self.configmap = documents["ConfigMap"][0]
        self.spec = pod_template(documents["CronJob"][0])["spec"]
        self.container = self.spec["containers"][0]
        self.volumes = {v["name"]: v for v in self.spec["volumes"]}
        self.mounts = {m["mountPath"]: self.volumes[m["name"]] for m in self.container["volumeMounts"]}
        self.pipeline_path = self.container["args"][-1]

    def mount_of(self, path):
        matches = [m for m in self.mounts if under(path, m)]
        self.assertTrue(matches, f"{path} is in no volume of the pod")
        return max(matches, key=len)

    def test_the_pipeline_is_the_configmaps_and_validates(self):
        mount = self.mount_of(self.pipeline_path)
        volume = self.mounts[mount]
        self.assertEqual(volume["configMap"]["name"], self.configmap["metadata"]["name"])
        key = posixpath.relpath(self.pipeline_path, mount)
        self.assertIn(key, self.configmap["data"])
        pipeline = self.tmp / key
        pipeline.write_text(self.configmap["data"][key])
        result = run([BINARY, "validate", str(pipeline)])
        self.assertEqual(result.returncode, 0, result.stderr.decode())

        # The container's own arguments, with `validate` for `run` (no database here): the global options parse.
        args = [str(pipeline) if a == self.pipeline_path else a for a in self.container["args"]]
        self.assertIn("run", args)
        args[args.index("run")] = "validate"
        result = run([BINARY] + args)
        self.assertEqual(result.returncode, 0, result.stderr.decode())

    def test_every_path_the_pipeline_needs_is_in_the_pod(self):
        spec = tomllib.loads(self.configmap["data"][posixpath.basename(self.pipeline_path)])
        for name, secret in spec.get("secrets", {}).items():
            if secret["plugin"] != "secret-file":
                continue
            volume = self.mounts[self.mount_of(secret["path"])]
            self.assertIn("secret", volume, f"secrets.{name}: {secret['path']} is not in a Secret volume")
        # The root file system is read-only: the lock directory (the default, /run/backhaul, unless the pipeline
        # names one) must be a writable volume.
        lock_dir = spec.get("lock_dir", "/run/backhaul")
        self.assertIn("emptyDir", self.mounts[self.mount_of(lock_dir)], lock_dir)


if __name__ == "__main__":
    unittest.main()
