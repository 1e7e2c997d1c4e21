#!/usr/bin/env python3
"""deploy_check.py DIR: the deploy manifests parse as Kubernetes objects that
fit together: every document has apiVersion, kind and metadata.name; the
DaemonSet selects its own pods, runs hostNetwork as system-node-critical with
kube-proxy's tolerations, probes /livez and /healthz on 10256, rolls 10% at a
time, adds only NET_ADMIN, mounts only its ConfigMap, and names a
ServiceAccount that a ClusterRoleBinding grants get/list/watch on services,
endpointslices and nodes and create/patch on events."""
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
    print("deploy manifests: %d objects fit together" % len(objs))


if __name__ == "__main__":
    main()
