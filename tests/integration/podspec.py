#!/usr/bin/env python3
"""podspec.py: a DaemonSet manifest's container, as a container engine runs it.

  podspec.py run MANIFEST --node NODE --netns PATH --config-dir DIR
             [--host-path HOSTPATH=DIR]... [--sa-dir DIR --api HOST:PORT]
             [--set-config KEY=VALUE]...
      Writes the ConfigMap's files into DIR (KEY=VALUE edits to the
      KubeProxyConfiguration first, as an operator sets clusterCIDR) and prints
      the `podman run` arguments, one a line, that give the DaemonSet's one
      container exactly its pod's namespaces, its security context, its
      command, env and args ($(VAR) expanded as the kubelet does), its mounts
      (ConfigMap volumes from DIR, hostPath volumes each from the DIR mapped to
      it: never the machine's own path) and the service account (token and
      ca.crt from --sa-dir, KUBERNETES_SERVICE_HOST/PORT from --api). The image
      name comes last.
  podspec.py probes MANIFEST
      One line a probe: KIND URL (liveness, readiness, startup), from httpGet.
  podspec.py caps MANIFEST
      The capabilities the container ends up with, one a line (CAP_X).

A field this script does not know how to run exits 2 naming it: a manifest
change the image test cannot honour fails the test rather than being ignored.
Pod resources (requests, limits) are not applied: the test creates no cgroup
of the machine's (the engine runs with --cgroups=disabled)."""
import argparse
import json
import os
import re
import sys

import yaml

SA_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
# Fields that do not change how the container runs on one node (scheduling,
# rollout, metadata, network ports of a hostNetwork pod, resources: see above).
POD_IGNORED = {"serviceAccountName", "priorityClassName", "dnsPolicy", "nodeSelector",
               "tolerations", "containers", "volumes", "hostNetwork", "hostPID", "hostIPC",
               "automountServiceAccountToken", "terminationGracePeriodSeconds"}
CTR_IGNORED = {"name", "image", "imagePullPolicy", "ports", "resources", "livenessProbe",
               "readinessProbe", "startupProbe", "command", "args", "env", "securityContext",
               "volumeMounts"}


def die(msg):
    print("podspec: " + msg, file=sys.stderr)
    sys.exit(2)


def load(path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    ds = [d for d in docs if d.get("kind") == "DaemonSet"]
    if len(ds) != 1:
        die("%s: want one DaemonSet, found %d" % (path, len(ds)))
    pod = ds[0]["spec"]["template"]["spec"]
    if len(pod.get("containers", [])) != 1 or pod.get("initContainers"):
        die("%s: want exactly one container and no init containers" % path)
    cms = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ConfigMap"}
    return pod, pod["containers"][0], cms


def check_known(obj, known, where):
    for k in obj:
        if k not in known:
            die("%s.%s: not known to the image test (podspec.py)" % (where, k))


def env_of(ctr, node):
    env = {}
    for e in ctr.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        ref = (e.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
        if ref == "spec.nodeName":
            env[e["name"]] = node
        else:
            die("env %s: only value and fieldRef spec.nodeName are known" % e["name"])
    return env


def expand(s, env):
    """Kubernetes' $(VAR) expansion: $$ is a literal $, unknown names stay."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), s)


def security_args(sc):
    check_known(sc, {"privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem",
                     "capabilities", "runAsUser", "runAsGroup", "runAsNonRoot"}, "securityContext")
    out = []
    if sc.get("privileged"):
        out.append("--privileged")
    if sc.get("allowPrivilegeEscalation") is False:
        out.append("--security-opt=no-new-privileges")
    if sc.get("readOnlyRootFilesystem"):
        # A pod's root is read-only with no tmpfs anywhere: podman's default
        # tmpfs on /tmp, /run and /var/tmp would hide a write the pod refuses.
        out += ["--read-only", "--read-only-tmpfs=false"]
    caps = sc.get("capabilities") or {}
    check_known(caps, {"drop", "add"}, "securityContext.capabilities")
    out += ["--cap-drop=" + c for c in caps.get("drop", [])]
    out += ["--cap-add=" + c for c in caps.get("add", [])]
    if "runAsUser" in sc:
        out.append("--user=%d%s" % (sc["runAsUser"],
                                    ":%d" % sc["runAsGroup"] if "runAsGroup" in sc else ""))
    elif "runAsGroup" in sc:
        die("securityContext.runAsGroup without runAsUser")
    if sc.get("runAsNonRoot") and not sc.get("runAsUser"):
        die("securityContext.runAsNonRoot without runAsUser")
    return out


def cmd_run(a):
    pod, ctr, cms = load(a.manifest)
    check_known(pod, POD_IGNORED, "spec.template.spec")
    check_known(ctr, CTR_IGNORED, "containers[0]")
    out = []
    if not pod.get("hostNetwork"):
        die("the image test runs hostNetwork pods only (the node's namespace)")
    out.append("--network=ns:" + a.netns)
    if pod.get("hostPID"):
        out.append("--pid=host")
    if pod.get("hostIPC"):
        out.append("--ipc=host")
    out += security_args(ctr.get("securityContext") or {})
    env = env_of(ctr, a.node)
    if pod.get("serviceAccountName") and pod.get("automountServiceAccountToken", True):
        if not a.sa_dir or not a.api:
            die("the pod mounts a service account: give --sa-dir and --api")
        host, port = a.api.rsplit(":", 1)
        env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"] = host, port
        out.append("--volume=%s:%s:ro" % (os.path.abspath(a.sa_dir), SA_PATH))
    for k, v in sorted(env.items()):
        out.append("--env=%s=%s" % (k, v))
    # volumes
    hostmap = dict(m.split("=", 1) for m in a.host_path)
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    sets = dict(s.split("=", 1) for s in a.set_config)
    for m in ctr.get("volumeMounts", []):
        check_known(m, {"name", "mountPath", "readOnly"}, "volumeMounts[%s]" % m["name"])
        v = vols.get(m["name"]) or die("volumeMount %s: no such volume" % m["name"])
        ro = ":ro" if m.get("readOnly") else ""
        if "configMap" in v:
            name = v["configMap"]["name"]
            cm = cms.get(name) or die("volume %s: ConfigMap %s is not in the manifest" % (m["name"], name))
            src = os.path.join(a.config_dir, m["name"])
            os.makedirs(src, exist_ok=True)
            for key, text in cm["data"].items():
                if sets:
                    conf = yaml.safe_load(text)
                    if conf.get("kind") != "KubeProxyConfiguration":
                        die("--set-config: ConfigMap %s key %s is not a KubeProxyConfiguration" % (name, key))
                    for k, val in sets.items():
                        if k not in conf:
                            die("--set-config %s: not a field of the ConfigMap's config" % k)
                        conf[k] = val
                    text = yaml.safe_dump(conf, sort_keys=False)
                with open(os.path.join(src, key), "w") as f:
                    f.write(text)
        elif "hostPath" in v:
            hp = v["hostPath"]["path"]
            if hp not in hostmap:
                die("hostPath %s: map it with --host-path %s=DIR (never the machine's own)" % (hp, hp))
            src = hostmap[hp]
            if v["hostPath"].get("type", "Directory") == "Directory" and not os.path.isdir(src):
                die("hostPath %s (type Directory): %s is not a directory" % (hp, src))
        else:
            die("volume %s: only configMap and hostPath volumes are known" % m["name"])
        out.append("--volume=%s:%s%s" % (src, m["mountPath"], ro))
    if ctr.get("command"):
        out.append("--entrypoint=" + json.dumps(ctr["command"]))
    out.append(a.image)
    out += [expand(x, env) for x in ctr.get("args", [])]
    print("\n".join(out))


def cmd_probes(a):
    _, ctr, _ = load(a.manifest)
    for kind in ("liveness", "readiness", "startup"):
        p = ctr.get(kind + "Probe")
        if not p:
            continue
        g = p.get("httpGet") or die("%sProbe: only httpGet is known" % kind)
        print("%s %s://%s:%s%s" % (kind, g.get("scheme", "HTTP").lower(), g.get("host", "127.0.0.1"),
                                   g["port"], g.get("path", "/")))


# Linux capability numbers (linux/capability.h), for reading CapEff.
CAPS = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
        "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",
        "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
        "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
        "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
        "PERFMON", "BPF", "CHECKPOINT_RESTORE"]


def cmd_caps(a):
    _, ctr, _ = load(a.manifest)
    caps = (ctr.get("securityContext") or {}).get("capabilities") or {}
    if caps.get("drop") != ["ALL"]:
        die("caps: the image test expects capabilities.drop [ALL]")
    for c in sorted(caps.get("add", [])):
        print("CAP_" + c)


def cmd_decode(a):
    """decode HEX: a /proc/PID/status Cap* mask as CAP_X lines."""
    mask = int(a.mask, 16)
    for i, name in enumerate(CAPS):
        if mask & (1 << i):
            print("CAP_" + name)
    if mask >> len(CAPS):
        print("CAP_%#x" % (mask >> len(CAPS) << len(CAPS)))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("manifest")
    r.add_argument("--node", required=True)
    r.add_argument("--netns", required=True)
    r.add_argument("--config-dir", required=True)
    r.add_argument("--host-path", action="append", default=[])
    r.add_argument("--set-config", action="append", default=[])
    r.add_argument("--sa-dir")
    r.add_argument("--api")
    r.add_argument("--image", default="svcplane:dev")
    for name in ("probes", "caps"):
        q = sub.add_parser(name)
        q.add_argument("manifest")
    d = sub.add_parser("decode")
    d.add_argument("mask")
    a = p.parse_args()
    {"run": cmd_run, "probes": cmd_probes, "caps": cmd_caps, "decode": cmd_decode}[a.cmd](a)


if __name__ == "__main__":
    main()
