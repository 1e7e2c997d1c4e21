#!/usr/bin/env python3
"""deploy_check.py DIR [BPF_DAEMONSET]: the deploy manifests parse as Kubernetes objects that
fit together: every document has apiVersion, kind and metadata.name; the
DaemonSet selects its own pods, runs hostNetwork as system-node-critical with
kube-proxy's tolerations, probes /livez and /healthz on 10256, rolls 10% at a
time, adds only NET_ADMIN, mounts only its ConfigMap, and names a
ServiceAccount that a ClusterRoleBinding grants get/list/watch on services,
endpointslices and nodes and create/patch on events. With BPF_DAEMONSET, that
bpf-mode DaemonSet must be the same but for what bpf mode needs, each named:
--mode=bpf, hostPID, the capabilities NET_ADMIN, BPF, PERFMON, SYS_ADMIN and
SYS_PTRACE, /sys/fs/bpf read-write and /sys/fs/cgroup read-only, with
--bpf-pin-path below the one and --cgroup-path at the other."""
import glob
import os
import sys

import yaml

KNOWN = {("v1", "ServiceAccount"), ("v1", "ConfigMap"), ("apps/v1", "DaemonSet"),
         ("rbac.authorization.k8s.io/v1", "ClusterRole"),
         ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")}


def fail(msg):
    sys.exit("deploy manifests: " + msg)


def main():
    objs = []
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))):
        for i, d in enumerate(yaml.safe_load_all(open(path))):
            if d is None:
                continue
            where = "%s[%d]" % (os.path.basename(path), i)
            for f in ("apiVersion", "kind", "metadata"):
                if f not in d:
                    fail("%s: no %s" % (where, f))
            if (d["apiVersion"], d["kind"]) not in KNOWN:
                fail("%s: unexpected %s %s" % (where, d["apiVersion"], d["kind"]))
            if not d["metadata"].get("name"):
                fail("%s: no metadata.name" % where)
            objs.append((where, d))
    by = {}
    for where, d in objs:
        by.setdefault(d["kind"], []).append(d)
    for k in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet", "ConfigMap"):
        if len(by.get(k, [])) != 1:
            fail("want one %s, found %d" % (k, len(by.get(k, []))))
    sa, role, binding, ds, cm = (by[k][0] for k in ("ServiceAccount", "ClusterRole",
                                                     "ClusterRoleBinding", "DaemonSet", "ConfigMap"))
    ns = sa["metadata"]["namespace"]
    # RBAC: the binding ties the role to the service account.
    if binding["roleRef"] != {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                              "name": role["metadata"]["name"]}:
        fail("ClusterRoleBinding.roleRef does not name ClusterRole %s" % role["metadata"]["name"])
    if {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": ns} not in binding["subjects"]:
        fail("ClusterRoleBinding.subjects lack ServiceAccount %s/%s" % (ns, sa["metadata"]["name"]))
    grants = {}
    for r in role["rules"]:
        for g in r["apiGroups"]:
            for res in r["resources"]:
                grants.setdefault((g, res), set()).update(r["verbs"])
    need = {("", "services"): {"get", "list", "watch"}, ("", "nodes"): {"get", "list", "watch"},
            ("discovery.k8s.io", "endpointslices"): {"get", "list", "watch"},
            ("", "events"): {"create", "patch"}}
    for k, verbs in need.items():
        if not verbs <= grants.get(k, set()):
            fail("ClusterRole: %s/%s needs %s" % (k[0] or "core", k[1], sorted(verbs)))
    for k, verbs in grants.items():
        if verbs - {"get", "list", "watch", "create", "patch"}:
            fail("ClusterRole grants more than it needs: %s %s" % (k, sorted(verbs)))
    # DaemonSet.
    spec, tmpl = ds["spec"], ds["spec"]["template"]
    if ds["metadata"].get("namespace") != ns:
        fail("DaemonSet not in %s" % ns)
    sel = spec["selector"]["matchLabels"]
    if any(tmpl["metadata"]["labels"].get(k) != v for k, v in sel.items()):
        fail("DaemonSet.spec.selector does not match its pod template's labels")
    if spec["updateStrategy"] != {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}}:
        fail("DaemonSet.spec.updateStrategy: want RollingUpdate, maxUnavailable 10%")
    pod = tmpl["spec"]
    checks = [(pod.get("hostNetwork") is True, "hostNetwork: true"),
              (pod.get("serviceAccountName") == sa["metadata"]["name"], "serviceAccountName"),
              (pod.get("priorityClassName") == "system-node-critical", "priorityClassName"),
              ({"operator": "Exists"} in pod.get("tolerations", []), "tolerations: operator Exists"),
              (len(pod["containers"]) == 1, "one container")]
    for ok, what in checks:
        if not ok:
            fail("DaemonSet pod: %s" % what)
    c = pod["containers"][0]
    if c["livenessProbe"]["httpGet"]["path"] != "/livez" or c["readinessProbe"]["httpGet"]["path"] != "/healthz":
        fail("probes: liveness /livez and readiness /healthz")
    if {c["livenessProbe"]["httpGet"]["port"], c["readinessProbe"]["httpGet"]["port"]} != {10256}:
        fail("probes: port 10256")
    caps = c["securityContext"]["capabilities"]
    if caps.get("drop") != ["ALL"] or caps.get("add") != ["NET_ADMIN"]:
        fail("capabilities: drop ALL, add NET_ADMIN only (nftables mode)")
    if c["securityContext"].get("privileged"):
        fail("the container must not be privileged")
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        if m["name"] not in vols:
            fail("volumeMount %s has no volume" % m["name"])
        if not m.get("readOnly"):
            fail("volumeMount %s is not read-only" % m["name"])
    if any("hostPath" in v for v in vols.values()):
        fail("nftables mode mounts no host path")
    cfg_args = [a for a in c["args"] if a.startswith("--config=")]
    if not cfg_args or vols["config"]["configMap"]["name"] != cm["metadata"]["name"]:
        fail("--config must point into the ConfigMap volume")
    conf = yaml.safe_load(cm["data"]["config.conf"])
    if conf.get("kind") != "KubeProxyConfiguration":
        fail("ConfigMap config.conf is not a KubeProxyConfiguration")
    if len(sys.argv) > 2:
        check_bpf(ds, sys.argv[2])
    print("deploy manifests: %d objects fit together" % len(objs))


BPF_CAPS = {"NET_ADMIN", "BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE"}
BPF_HOST = {"/sys/fs/bpf": False, "/sys/fs/cgroup": True}   # path: read-only


def check_bpf(nft_ds, path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    ds = [d for d in docs if d["kind"] == "DaemonSet"]
    if len(ds) != 1:
        fail("%s: want one DaemonSet" % path)
    ds = ds[0]
    pod, npod = ds["spec"]["template"]["spec"], nft_ds["spec"]["template"]["spec"]
    c, nc = pod["containers"][0], npod["containers"][0]
    if pod.get("hostPID") is not True:
        fail("bpf DaemonSet: hostPID: true (pods' network namespaces by pid)")
    caps = c["securityContext"]["capabilities"]
    if caps.get("drop") != ["ALL"] or set(caps.get("add", [])) != BPF_CAPS:
        fail("bpf DaemonSet: drop ALL, add exactly %s" % sorted(BPF_CAPS))
    if c["securityContext"].get("privileged") or c["securityContext"].get("allowPrivilegeEscalation"):
        fail("bpf DaemonSet: not privileged, no privilege escalation")
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {}
    for m in c["volumeMounts"]:
        v = vols.get(m["name"])
        if v is None:
            fail("bpf DaemonSet: volumeMount %s has no volume" % m["name"])
        if "hostPath" in v:
            hp = v["hostPath"]["path"]
            if hp not in BPF_HOST:
                fail("bpf DaemonSet: host path %s is not one bpf mode needs" % hp)
            if bool(m.get("readOnly")) != BPF_HOST[hp]:
                fail("bpf DaemonSet: %s must be %s" % (hp, "read-only" if BPF_HOST[hp] else "read-write"))
            mounts[hp] = m["mountPath"]
        elif not m.get("readOnly"):
            fail("bpf DaemonSet: volumeMount %s is not read-only" % m["name"])
    if set(mounts) != set(BPF_HOST):
        fail("bpf DaemonSet: wants host paths %s" % sorted(BPF_HOST))
    args = c["args"]
    pin = [a.split("=", 1)[1] for a in args if a.startswith("--bpf-pin-path=")]
    cg = [a.split("=", 1)[1] for a in args if a.startswith("--cgroup-path=")]
    if "--mode=bpf" not in args:
        fail("bpf DaemonSet: --mode=bpf")
    if len(pin) != 1 or not pin[0].startswith(mounts["/sys/fs/bpf"] + "/"):
        fail("bpf DaemonSet: --bpf-pin-path below the bpffs mount %s" % mounts["/sys/fs/bpf"])
    if cg != [mounts["/sys/fs/cgroup"]]:
        fail("bpf DaemonSet: --cgroup-path at the cgroup mount %s" % mounts["/sys/fs/cgroup"])
    # Everything else as the nftables DaemonSet says.
    for k in ("selector", "updateStrategy"):
        if ds["spec"][k] != nft_ds["spec"][k]:
            fail("bpf DaemonSet: spec.%s differs from the nftables one" % k)
    for k in ("hostNetwork", "serviceAccountName", "priorityClassName", "tolerations"):
        if pod.get(k) != npod.get(k):
            fail("bpf DaemonSet: pod %s differs from the nftables one" % k)
    for k in ("livenessProbe", "readinessProbe", "image", "command"):
        if c.get(k) != nc.get(k):
            fail("bpf DaemonSet: container %s differs from the nftables one" % k)
    if [a for a in args if a not in nc["args"]] != ["--mode=bpf"] + ["--cgroup-path=" + cg[0], "--bpf-pin-path=" + pin[0]]:
        fail("bpf DaemonSet: args beyond the nftables ones other than the bpf flags")


if __name__ == "__main__":
    main()
