#!/usr/bin/env python3
"""state_from_manifests.py DIR [NODE...]: the fake API server's starting state
({kind: [objects]}) from a directory of YAML or JSON manifests (Lists
flattened), plus a Node object for each NODE named."""
import glob
import json
import os
import sys

import yaml

KIND = {"Service": "services", "EndpointSlice": "endpointslices", "Node": "nodes"}
state = {k: [] for k in KIND.values()}

def add(doc):
    if not isinstance(doc, dict):
        return
    if doc.get("kind", "").endswith("List"):
        for item in doc.get("items") or []:
            add(item)
    elif doc.get("kind") in KIND:
        state[KIND[doc["kind"]]].append(doc)


for path in sorted(glob.glob(os.path.join(sys.argv[1], "*"))):
    if path.endswith(".json"):
        add(json.load(open(path)))
    elif path.endswith((".yaml", ".yml")):
        for doc in yaml.safe_load_all(open(path)):
            add(doc)
for node in sys.argv[2:]:
    state["nodes"].append({"apiVersion": "v1", "kind": "Node",
                           "metadata": {"name": node, "labels": {"topology.kubernetes.io/zone": "z1"}}})
json.dump(state, sys.stdout)
