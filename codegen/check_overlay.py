#!/usr/bin/env python3
"""Check the Kafka 4.1 overlay specs against the kafka-protocol crate sources.

Builds the merged spec set (shared Kafka 4.0-dev specs, with every file found
in the overlay directory replacing the shared file of the same name, and the
files listed in the overlay's ignore.txt dropped), then compares it with the
generated Rust sources of kafka-protocol 0.18.0 (Kafka 4.1) and 0.15.1 (older
Kafka, old versions intact):

  * for every message/struct field: the field's version range from the merged
    spec, intersected with the crate's `VERSIONS` for that message, must equal
    the crate's "Supported API versions" doc comment;
  * the merged message's max version must equal the 0.18 crate's max (except
    for the explicitly listed versions that Kafka 4.1 marks unstable, which the
    crate leaves out), and must be >= the 0.15 crate's max;
  * over the shared spec's own versions, every overlay file keeps the shared
    fields' types and version ranges (listed renames/exceptions aside);
  * overlay files must be strict JSON, keep the shared spec's lowest version,
    and carry no "about"/"latestVersionUnstable" keys.

Usage: check_overlay.py [--shared DIR] [--overlay DIR] [--crate DIR] [--old-crate DIR]
Exit status is non-zero if any mismatch is found.  Python 3 stdlib only.
"""
import argparse
import glob
import json
import os
import re
import sys

SUBDIRS = ["", "metadata", "group-coordinator", "transaction-coordinator"]

# Versions listed by Kafka 4.1 but flagged latestVersionUnstable there; the
# kafka-protocol 0.18 generator leaves them out.  message -> listed max.
UNSTABLE_LATEST_41 = {
    "InitProducerIdRequest": 6,
    "OffsetCommitRequest": 10,
    "OffsetFetchRequest": 10,
}
# Messages in the merged set that kafka-protocol 0.18 does not generate.
ABSENT_FROM_018 = {
    # removed from Kafka 4.0 (kept only as the shared 0.x-3.x definitions)
    "LeaderAndIsrRequest", "LeaderAndIsrResponse",
    "StopReplicaRequest", "StopReplicaResponse",
    "UpdateMetadataRequest", "UpdateMetadataResponse",
    "ControlledShutdownRequest", "ControlledShutdownResponse",
    # every listed version is unstable in Kafka 4.1 (KIP-1071 early access)
    "StreamsGroupDescribeRequest", "StreamsGroupDescribeResponse",
    "StreamsGroupHeartbeatRequest", "StreamsGroupHeartbeatResponse",
}
# Messages in the merged set that kafka-protocol 0.15.1 (Kafka 3.9) does not
# generate: they were unstable/in development at that time or are new in 4.x.
ABSENT_FROM_015 = {
    "ShareGroupHeartbeatRequest", "ShareGroupHeartbeatResponse",
    "ShareGroupDescribeRequest", "ShareGroupDescribeResponse",
    "ShareFetchRequest", "ShareFetchResponse",
    "ShareAcknowledgeRequest", "ShareAcknowledgeResponse",
    "InitializeShareGroupStateRequest", "InitializeShareGroupStateResponse",
    "ReadShareGroupStateRequest", "ReadShareGroupStateResponse",
    "WriteShareGroupStateRequest", "WriteShareGroupStateResponse",
    "DeleteShareGroupStateRequest", "DeleteShareGroupStateResponse",
    "ReadShareGroupStateSummaryRequest", "ReadShareGroupStateSummaryResponse",
    "DescribeShareGroupOffsetsRequest", "DescribeShareGroupOffsetsResponse",
    "AlterShareGroupOffsetsRequest", "AlterShareGroupOffsetsResponse",
    "DeleteShareGroupOffsetsRequest", "DeleteShareGroupOffsetsResponse",
    "StreamsGroupDescribeRequest", "StreamsGroupDescribeResponse",
    "StreamsGroupHeartbeatRequest", "StreamsGroupHeartbeatResponse",
    "EndTxnMarker",
}
# Deliberate differences from kafka-protocol 0.15.1 (Kafka 3.9) inside the
# old version range.  Kafka 4.1 renamed some fields/structs without changing
# the wire layout; the check maps the 4.1 name to the 0.15.1 name and still
# compares the version ranges.  (message, struct, field) -> 0.15.1 field name.
FIELD_RENAMES_015 = {
    ("VoteRequest", "PartitionData", "ReplicaEpoch"): "CandidateEpoch",
    ("VoteRequest", "PartitionData", "ReplicaId"): "CandidateId",
    ("VoteRequest", "PartitionData", "ReplicaDirectoryId"): "CandidateDirectoryId",
    ("ListConfigResourcesResponse", "ListConfigResourcesResponse", "ConfigResources"): "ClientMetricsResources",
    ("ListConfigResourcesResponse", "ConfigResource", "ResourceName"): "Name",
}
# (message, struct) -> 0.15.1 struct name.
STRUCT_RENAMES_015 = {
    ("ListConfigResourcesResponse", "ConfigResource"): "ClientMetricsResource",
}
# Fields whose 0.15.1 range may differ on purpose: (message, struct, field) -> reason.
# Empty: the share-group APIs whose v0 changed meaning in 4.1 are not in 0.15.1
# at all (see ABSENT_FROM_015), so nothing else differs.
EXCEPTIONS_015 = {}
# Message renames between the crates: name in merged set -> name in 0.15.1.
RENAMED_IN_015 = {
    "ListConfigResourcesRequest": "ListClientMetricsResourcesRequest",
    "ListConfigResourcesResponse": "ListClientMetricsResourcesResponse",
}


# Overlay files that replace a shared file of another name (API renamed).
OVERLAY_REPLACES = {
    "ListConfigResourcesRequest.json": "ListClientMetricsResourcesRequest.json",
    "ListConfigResourcesResponse.json": "ListClientMetricsResourcesResponse.json",
}
# Field renames inside overlay files relative to the shared spec:
# (file, struct, 4.1 field name) -> shared field name.
SHARED_FIELD_RENAMES = {
    ("VoteRequest.json", "PartitionData", "ReplicaEpoch"): "CandidateEpoch",
    ("VoteRequest.json", "PartitionData", "ReplicaId"): "CandidateId",
    ("VoteRequest.json", "PartitionData", "ReplicaDirectoryId"): "CandidateDirectoryId",
    ("ListConfigResourcesResponse.json", "ListConfigResourcesResponse", "ConfigResources"): "ClientMetricsResources",
    ("ListConfigResourcesResponse.json", "ConfigResource", "ResourceName"): "Name",
}
SHARED_STRUCT_RENAMES = {
    ("ListConfigResourcesResponse.json", "ConfigResource"): "ClientMetricsResource",
    ("ListConfigResourcesResponse.json", "ListConfigResourcesResponse"): "ListClientMetricsResourcesResponse",
    ("ListConfigResourcesRequest.json", "ListConfigResourcesRequest"): "ListClientMetricsResourcesRequest",
}
# Deliberate changes of the shared spec's own versions (share-group APIs whose
# early-access v0 was redefined by Kafka 4.1): (file, struct, field) -> reason.
SHARED_RANGE_EXCEPTIONS = {
    ("ReadShareGroupStateSummaryResponse.json", "PartitionResult", "LeaderEpoch"):
        "Kafka 4.1 added LeaderEpoch to v0 (v0 was unstable in the 4.0-dev spec)",
}


# ---------------------------------------------------------------- JSON specs

def strip_comments(text):
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
            continue
        if c == '"':
            in_str = True
            out.append(c)
            i += 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            i = text.find("*/", i) + 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def load_spec(path):
    with open(path) as fh:
        return json.loads(strip_comments(fh.read()))


def parse_range(s):
    s = str(s).strip()
    if s == "none" or s == "":
        return None
    if s.endswith("+"):
        return (int(s[:-1]), 32767)
    if "-" in s:
        a, b = s.split("-")
        return (int(a), int(b))
    return (int(s), int(s))


def intersect(a, b):
    if a is None or b is None:
        return None
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None


def fmt_range(r):
    if r is None:
        return "none"
    return str(r[0]) if r[0] == r[1] else "%d-%d" % r


def read_ignore(overlay):
    path = os.path.join(overlay, "ignore.txt")
    out = set()
    if os.path.exists(path):
        for line in open(path):
            line = line.split("#", 1)[0].strip()
            if line:
                out.add(line)
    return out


def build_merged(shared, overlay, problems):
    """Return {relative path: spec}."""
    ignore = read_ignore(overlay)
    merged = {}
    for sub in SUBDIRS:
        sdir = os.path.join(shared, sub)
        odir = os.path.join(overlay, sub)
        names = set()
        if os.path.isdir(sdir):
            names |= {f for f in os.listdir(sdir) if f.endswith(".json")}
        if os.path.isdir(odir):
            names |= {f for f in os.listdir(odir) if f.endswith(".json")}
        for f in sorted(names):
            rel = os.path.join(sub, f) if sub else f
            if rel in ignore:
                continue
            opath = os.path.join(odir, f)
            spath = os.path.join(sdir, f)
            if os.path.exists(opath):
                check_overlay_file(opath, spath if os.path.exists(spath) else None, rel, problems)
                merged[rel] = load_spec(opath)
            else:
                merged[rel] = load_spec(spath)
    for rel in ignore:
        if not os.path.exists(os.path.join(shared, rel)):
            problems.append("ignore.txt lists %s which is not in the shared dir" % rel)
    return merged


def check_overlay_file(opath, spath, rel, problems):
    with open(opath) as fh:
        text = fh.read()
    try:
        spec = json.loads(text)  # strict JSON: no comments allowed
    except ValueError as e:
        problems.append("%s: not strict JSON: %s" % (rel, e))
        return

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k in ("about", "latestVersionUnstable"):
                    problems.append("%s: contains key %r" % (rel, k))
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(spec)
    if spath and "/" not in rel:
        old = load_spec(spath)
        ov, nv = parse_range(old.get("validVersions")), parse_range(spec.get("validVersions"))
        if ov and nv and nv[0] != ov[0]:
            problems.append("%s: lowest version %d differs from shared spec's %d" % (rel, nv[0], ov[0]))
        if ov and nv and nv[1] < ov[1]:
            problems.append("%s: highest version %d below shared spec's %d" % (rel, nv[1], ov[1]))


def check_old_versions_intact(shared, overlay, problems):
    """Over the shared spec's own version range, every field of the shared
    spec must keep its type and its versions/nullableVersions/taggedVersions/
    tag in the overlay file, and the overlay may not add fields there."""
    for sub in SUBDIRS:
        if sub:
            continue  # coordinator/metadata records are replaced wholesale (see README)
        odir = os.path.join(overlay, sub)
        for f in sorted(os.listdir(odir)):
            if not f.endswith(".json"):
                continue
            sname_file = OVERLAY_REPLACES.get(f, f)
            spath = os.path.join(shared, sub, sname_file)
            if not os.path.exists(spath):
                continue
            old = load_spec(spath)
            new = load_spec(os.path.join(odir, f))
            orange = parse_range(old.get("validVersions"))
            ostructs = spec_structs(old)
            for stname, nfields in spec_structs(new).items():
                ostname = SHARED_STRUCT_RENAMES.get((f, stname), stname)
                ofields = {x["name"]: x for x in ostructs.get(ostname, [])}
                matched = set()
                for nf in nfields:
                    oname = SHARED_FIELD_RENAMES.get((f, stname, nf["name"]), nf["name"])
                    if (f, stname, nf["name"]) in SHARED_RANGE_EXCEPTIONS:
                        matched.add(oname)
                        continue
                    of = ofields.get(oname)
                    if of is None:
                        if intersect(parse_range(nf.get("versions")), orange):
                            problems.append("%s: %s.%s is new but present in old versions %s"
                                            % (f, stname, nf["name"], fmt_range(intersect(parse_range(nf.get("versions")), orange))))
                        continue
                    matched.add(oname)
                    ntype = nf.get("type", "")
                    base = ntype[2:] if ntype.startswith("[]") else ntype
                    if (f, base) in SHARED_STRUCT_RENAMES:
                        ntype = ntype[:len(ntype) - len(base)] + SHARED_STRUCT_RENAMES[(f, base)]
                    if of.get("type") != ntype:
                        problems.append("%s: %s.%s type %s -> %s" % (f, stname, nf["name"], of.get("type"), nf.get("type")))
                    for attr in ("versions", "nullableVersions", "taggedVersions"):
                        a = intersect(parse_range(of.get(attr, "none")), orange)
                        b = intersect(parse_range(nf.get(attr, "none")), orange)
                        if a != b:
                            problems.append("%s: %s.%s %s over shared versions: %s -> %s"
                                            % (f, stname, nf["name"], attr, fmt_range(a), fmt_range(b)))
                    if "tag" in of and str(of.get("tag")) != str(nf.get("tag")):
                        problems.append("%s: %s.%s tag %s -> %s" % (f, stname, nf["name"], of.get("tag"), nf.get("tag")))
                for oname, of in ofields.items():
                    if oname not in matched and intersect(parse_range(of.get("versions")), orange):
                        problems.append("%s: shared field %s.%s (versions %s) missing from overlay"
                                        % (f, stname, oname, of.get("versions")))


def spec_structs(spec):
    """Return {struct name: [field dicts]} including the top level."""
    structs = {spec["name"]: spec.get("fields", [])}

    def walk(fields):
        for f in fields:
            if "fields" in f:
                t = f["type"]
                t = t[2:] if t.startswith("[]") else t
                structs.setdefault(t, f["fields"])
                walk(f["fields"])
    walk(spec.get("fields", []))
    for cs in spec.get("commonStructs", []) or []:
        structs.setdefault(cs["name"], cs.get("fields", []))
        walk(cs.get("fields", []))
    return structs


# ----------------------------------------------------------- crate sources

STRUCT_RE = re.compile(r"^pub struct (\w+) \{")
FIELD_RE = re.compile(r"^\s+pub (r#)?(\w+):")
SUPPORTED_RE = re.compile(r"Supported API versions: (\S+)")
VERSIONS_RE = re.compile(r"impl Message for (\w+) \{\s*const VERSIONS: VersionRange = VersionRange \{ min: (-?\d+), max: (-?\d+) \};")


def parse_crate_file(path):
    """Return ({struct: {normalized field: (field name, range str)}}, {struct: (min, max)})."""
    text = open(path).read()
    structs = {}
    cur = None
    pending = None
    for line in text.splitlines():
        m = STRUCT_RE.match(line)
        if m:
            cur = m.group(1)
            structs[cur] = {}
            pending = None
            continue
        if cur is None:
            continue
        if line.startswith("}"):
            cur = None
            continue
        m = SUPPORTED_RE.search(line)
        if m:
            pending = m.group(1)
            continue
        m = FIELD_RE.match(line)
        if m:
            name = m.group(2)
            if pending is not None:
                structs[cur][norm(name)] = (name, pending)
            pending = None
    versions = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in VERSIONS_RE.finditer(text)}
    return structs, versions


def norm(name):
    return name.replace("_", "").lower()


def snake(name):
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


def crate_index(crate_dir):
    msgdir = os.path.join(crate_dir, "src", "messages")
    files = {}
    for f in os.listdir(msgdir):
        if f.endswith(".rs"):
            files[f[:-3]] = os.path.join(msgdir, f)
    return files


def find_crate_file(files, name):
    key = norm(name)
    for stem, path in files.items():
        if norm(stem) == key:
            return path
    return None


def compare_with_crate(merged, crate_dir, label, is_new, problems, notes):
    files = crate_index(crate_dir)
    used = set()
    top = {rel: s for rel, s in merged.items() if "/" not in rel}
    for rel, spec in sorted(top.items()):
        name = spec["name"]
        cname = name if is_new else RENAMED_IN_015.get(name, name)
        path = find_crate_file(files, cname)
        absent = ABSENT_FROM_018 if is_new else ABSENT_FROM_015
        if path is None:
            if name not in absent:
                problems.append("[%s] %s: no generated source in the crate" % (label, name))
            continue
        if name in absent and is_new:
            problems.append("[%s] %s: listed as absent but the crate has it" % (label, name))
        used.add(path)
        cstructs, cversions = parse_crate_file(path)
        if cname not in cversions:
            problems.append("[%s] %s: no VERSIONS in %s" % (label, name, path))
            continue
        cv = cversions[cname]
        sv = parse_range(spec.get("validVersions"))
        if sv is None:
            problems.append("[%s] %s: merged spec has no valid versions" % (label, name))
            continue
        if is_new:
            want = UNSTABLE_LATEST_41.get(name)
            if want is not None:
                if sv[1] != want or cv[1] != want - 1:
                    problems.append("[%s] %s: expected merged max %d and crate max %d, got %d and %d"
                                    % (label, name, want, want - 1, sv[1], cv[1]))
            elif sv[1] != cv[1]:
                problems.append("[%s] %s: max version %d != crate max %d" % (label, name, sv[1], cv[1]))
        else:
            if sv[1] < cv[1]:
                problems.append("[%s] %s: max version %d < crate max %d" % (label, name, sv[1], cv[1]))
        if sv[0] > cv[0]:
            problems.append("[%s] %s: lowest version %d > crate lowest %d" % (label, name, sv[0], cv[0]))
        notes.append((label, name, cv))
        sstructs = spec_structs(spec)
        top_name = spec["name"]
        for sname, fields in sstructs.items():
            csname = cname if sname == top_name else sname
            if not is_new:
                csname = STRUCT_RENAMES_015.get((name, sname), csname)
            if csname not in cstructs:
                # a struct whose every field is outside the crate's range may be absent
                if any(intersect(parse_range(f.get("versions")), cv) for f in fields):
                    problems.append("[%s] %s: struct %s missing in crate" % (label, name, sname))
                continue
            cfields = cstructs[csname]
            seen = set()
            for f in fields:
                fname = f["name"]
                if not is_new:
                    fname = FIELD_RENAMES_015.get((name, sname, fname), fname)
                key = norm(fname)
                exp = fmt_range(intersect(parse_range(f.get("versions")), cv))
                exc = not is_new and (name, sname, f["name"]) in EXCEPTIONS_015
                if key not in cfields:
                    # the crate omits fields that only exist outside its range
                    if exc or exp == "none":
                        continue
                    problems.append("[%s] %s.%s.%s: field missing in crate (expected %s)"
                                    % (label, name, sname, f["name"], exp))
                    continue
                seen.add(key)
                got = cfields[key][1]
                if got != exp and not exc:
                    problems.append("[%s] %s.%s.%s: merged spec gives %s, crate says %s"
                                    % (label, name, sname, f["name"], exp, got))
            for key, (fname, rng) in cfields.items():
                if key not in seen:
                    problems.append("[%s] %s.%s: crate field %s (%s) not in merged spec"
                                    % (label, name, sname, fname, rng))
    if is_new:
        for stem, path in sorted(files.items()):
            if path not in used:
                problems.append("[%s] crate source %s has no merged spec" % (label, stem))


def default_crate(version):
    hits = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/kafka-protocol-%s" % version)))
    return hits[0] if hits else None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default="/work/shared/kafka-message-specs")
    ap.add_argument("--overlay", default=os.path.join(here, "kafka-4.1"))
    ap.add_argument("--crate", default=default_crate("0.18.0"))
    ap.add_argument("--old-crate", default=default_crate("0.15.1"))
    ap.add_argument("--versions", action="store_true", help="print the per-message 4.1 version table")
    args = ap.parse_args()

    problems, notes = [], []
    merged = build_merged(args.shared, args.overlay, problems)
    check_old_versions_intact(args.shared, args.overlay, problems)
    if not args.crate or not os.path.isdir(args.crate):
        problems.append("kafka-protocol 0.18.0 sources not found (--crate)")
    else:
        compare_with_crate(merged, args.crate, "0.18", True, problems, notes)
    if not args.old_crate or not os.path.isdir(args.old_crate):
        problems.append("kafka-protocol 0.15.1 sources not found (--old-crate)")
    else:
        compare_with_crate(merged, args.old_crate, "0.15", False, problems, [])

    if args.versions:
        for rel, spec in sorted(merged.items()):
            if "/" in rel or spec.get("type") not in ("request", "response"):
                continue
            print("%-45s key=%-3s %s" % (spec["name"], spec.get("apiKey"), spec.get("validVersions")))
    for p in problems:
        print(p)
    print("checked %d merged specs (%d top-level), %d crate messages; %d mismatches"
          % (len(merged), sum(1 for r in merged if "/" not in r), len(notes), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
