"""The Pod Security Standards' "baseline" and "restricted" profiles as a checker of a pod spec.

There is no cluster here, so this is the honest substitute for `kubectl apply` into a namespace labelled
pod-security.kubernetes.io/enforce=restricted: every control of the two profiles as published
(https://kubernetes.io/docs/concepts/security/pod-security-standards/), one function each, named and ordered after
the checks of Kubernetes' own admission plugin (k8s.io/pod-security-admission/policy, check_*.go). Where a control's
allowed values grew across Kubernetes versions (sysctls), the oldest, strictest list is used: a pod it passes, every
version passes.

violations(pod_metadata, pod_spec) -> ["check: detail", ...]; empty when the pod is admitted.
"""

# ---- helpers ----


def _containers(spec):
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(kind) or []:
            yield kind, container


def _context(container):
    return container.get("securityContext") or {}


# ---- baseline ----

def host_namespaces(meta, spec):
    return [f"spec.{field} must be false" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field)]


def privileged(meta, spec):
    return [f"{kind} '{c['name']}' must not be privileged" for kind, c in _containers(spec)
            if _context(c).get("privileged")]


BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}


def capabilities_baseline(meta, spec):
    found = []
    for kind, c in _containers(spec):
        added = set((_context(c).get("capabilities") or {}).get("add") or [])
        if added - BASELINE_CAPABILITIES:
            found.append(f"{kind} '{c['name']}' adds {sorted(added - BASELINE_CAPABILITIES)}")
    return found


def host_path_volumes(meta, spec):
    return [f"volume '{v['name']}' is a hostPath" for v in spec.get("volumes") or [] if "hostPath" in v]


def host_ports(meta, spec):
    return [f"{kind} '{c['name']}' uses hostPort {p['hostPort']}" for kind, c in _containers(spec)
            for p in c.get("ports") or [] if p.get("hostPort")]


def app_armor(meta, spec):
    found = []
    for key, value in ((meta or {}).get("annotations") or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and \
                value != "runtime/default" and not value.startswith("localhost/"):
            found.append(f"annotation {key}={value}")
    contexts = [("pod", spec.get("securityContext") or {})] + [(c["name"], _context(c)) for _, c in _containers(spec)]
    for name, context in contexts:
        profile = (context.get("appArmorProfile") or {}).get("type")
        if profile not in (None, "RuntimeDefault", "Localhost"):
            found.append(f"{name}: appArmorProfile.type {profile}")
    return found


SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def se_linux_options(meta, spec):
    found = []
    contexts = [("pod", spec.get("securityContext") or {})] + [(c["name"], _context(c)) for _, c in _containers(spec)]
    for name, context in contexts:
        options = context.get("seLinuxOptions") or {}
        if options.get("type", "") not in SELINUX_TYPES:
            found.append(f"{name}: seLinuxOptions.type {options['type']}")
        for field in ("user", "role"):
            if options.get(field):
                found.append(f"{name}: seLinuxOptions.{field} must not be set")
    return found


def proc_mount(meta, spec):
    return [f"{kind} '{c['name']}' procMount {_context(c)['procMount']}" for kind, c in _containers(spec)
            if _context(c).get("procMount") not in (None, "Default")]


def seccomp_profile_baseline(meta, spec):
    contexts = [("pod", spec.get("securityContext") or {})] + [(c["name"], _context(c)) for _, c in _containers(spec)]
    return [f"{name}: seccompProfile.type Unconfined" for name, context in contexts
            if (context.get("seccompProfile") or {}).get("type") == "Unconfined"]


SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}


def sysctls(meta, spec):
    return [f"sysctl {s['name']}" for s in (spec.get("securityContext") or {}).get("sysctls") or []
            if s["name"] not in SAFE_SYSCTLS]


def windows_host_process(meta, spec):
    contexts = [("pod", spec.get("securityContext") or {})] + [(c["name"], _context(c)) for _, c in _containers(spec)]
    return [f"{name}: windowsOptions.hostProcess" for name, context in contexts
            if (context.get("windowsOptions") or {}).get("hostProcess")]


def host_probes_and_lifecycle(meta, spec):
    found = []
    for kind, c in _containers(spec):
        handlers = [c.get(p) or {} for p in ("livenessProbe", "readinessProbe", "startupProbe")]
        handlers += [h or {} for h in (c.get("lifecycle") or {}).values()]
        for handler in handlers:
            for action in ("httpGet", "tcpSocket"):
                if (handler.get(action) or {}).get("host"):
                    found.append(f"{kind} '{c['name']}' {action}.host must not be set")
    return found


# ---- restricted ----

RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                           "projected", "secret"}


def restricted_volumes(meta, spec):
    found = []
    for volume in spec.get("volumes") or []:
        types = set(volume) - {"name"}
        if not types or types - RESTRICTED_VOLUME_TYPES:
            found.append(f"volume '{volume['name']}' is of type {sorted(types - RESTRICTED_VOLUME_TYPES) or types}")
    return found


def allow_privilege_escalation(meta, spec):
    # Must be set, and false: unset means allowed.
    return [f"{kind} '{c['name']}' must set securityContext.allowPrivilegeEscalation=false"
            for kind, c in _containers(spec) if _context(c).get("allowPrivilegeEscalation") is not False]


def run_as_non_root(meta, spec):
    pod = (spec.get("securityContext") or {}).get("runAsNonRoot")
    found = ["pod must not set runAsNonRoot=false"] if pod is False else []
    for kind, c in _containers(spec):
        own = _context(c).get("runAsNonRoot")
        if own is False:
            found.append(f"{kind} '{c['name']}' must not set runAsNonRoot=false")
        elif own is None and pod is not True:
            found.append(f"pod or {kind} '{c['name']}' must set runAsNonRoot=true")
    return found


def run_as_user(meta, spec):
    contexts = [("pod", spec.get("securityContext") or {})] + [(c["name"], _context(c)) for _, c in _containers(spec)]
    return [f"{name}: runAsUser must not be 0" for name, context in contexts if context.get("runAsUser") == 0]


def seccomp_profile_restricted(meta, spec):
    allowed = ("RuntimeDefault", "Localhost")
    pod = ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    found = [f"pod: seccompProfile.type {pod}"] if pod is not None and pod not in allowed else []
    for kind, c in _containers(spec):
        own = (_context(c).get("seccompProfile") or {}).get("type")
        if own is not None and own not in allowed:
            found.append(f"{kind} '{c['name']}': seccompProfile.type {own}")
        elif own is None and pod not in allowed:
            found.append(f"pod or {kind} '{c['name']}' must set seccompProfile.type RuntimeDefault or Localhost")
    return found


def capabilities_restricted(meta, spec):
    found = []
    for kind, c in _containers(spec):
        capabilities = _context(c).get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.append(f"{kind} '{c['name']}' must drop ALL capabilities")
        added = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            found.append(f"{kind} '{c['name']}' may add only NET_BIND_SERVICE, not {sorted(added)}")
    return found


BASELINE = [host_namespaces, privileged, capabilities_baseline, host_path_volumes, host_ports, app_armor,
            se_linux_options, proc_mount, seccomp_profile_baseline, sysctls, windows_host_process,
            host_probes_and_lifecycle]
RESTRICTED = BASELINE + [restricted_volumes, allow_privilege_escalation, run_as_non_root, run_as_user,
                         seccomp_profile_restricted, capabilities_restricted]


def violations(pod_metadata, pod_spec, checks=RESTRICTED):
    return [f"{check.__name__}: {detail}" for check in checks for detail in check(pod_metadata, pod_spec)]
