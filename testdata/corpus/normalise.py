#!/usr/bin/env python3
"""Turns a builder's result into the corpus's expectation files.

  normalise.py fs BASE.tar BUILT.tar      > fs.json
  normalise.py config SAVED-IMAGE.tar URL > config.json

fs: the built filesystem (a `-o type=tar` export) as a sorted list of its entries. When it
holds `bin/busybox` (a busybox-based image), only the entries that differ from the base
image's rootfs tarball (BASE.tar) are listed, plus `{"path": P, "type": "removed"}` for
base entries that are gone. Each entry: path, type,
mode (octal string of the permission bits), uid, gid, and per type sha256 (files),
target (symlinks), rdev (devices), xattrs (when any) and hardlink (the smallest path of
a group of hard links, on every member). No mtimes.

config: the builder-independent fields of the image config in a `docker save` archive
(null, "", {} and false left out), the history entries the build added (the base
image's import entry is left out), with the concrete URL of the corpus's HTTP server
written back as `{{HTTP}}`, and the number of diff ids.

The Rust test (cli/tests/e2e/corpus/) computes the same shapes from kiln's results.
"""

import hashlib
import json
import sys
import tarfile

CONFIG_FIELDS = [
    "ArgsEscaped", "Cmd", "Entrypoint", "Env", "ExposedPorts", "Healthcheck",
    "Labels", "OnBuild", "Shell", "StopSignal", "User", "Volumes", "WorkingDir",
]
TYPES = {
    tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink", tarfile.FIFOTYPE: "fifo", tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block", tarfile.LNKTYPE: "file",
}


def clean(path):
    path = path.strip("/")
    while path.startswith("./"):
        path = path[2:]
    return "" if path == "." else path


def entries(tar_path):
    """path -> entry of a rootfs tar."""
    out, links = {}, {}
    with tarfile.open(tar_path) as tar:
        for m in tar.getmembers():
            path = clean(m.name)
            if not path:
                continue
            kind = TYPES.get(m.type, "other")
            e = {"path": path, "type": kind, "mode": "%04o" % (m.mode & 0o7777),
                 "uid": m.uid, "gid": m.gid}
            if m.type == tarfile.LNKTYPE:
                first = clean(m.linkname)
                links.setdefault(first, [first]).append(path)
                src = out[first]
                for k in ("sha256", "mode", "uid", "gid", "xattrs"):
                    if k in src:
                        e[k] = src[k]
            elif kind == "file":
                e["sha256"] = hashlib.sha256(tar.extractfile(m).read()).hexdigest()
            elif kind == "symlink":
                e["target"] = m.linkname
            elif kind in ("char", "block"):
                e["rdev"] = "%d:%d" % (m.devmajor, m.devminor)
            xattrs = {k[len("SCHILY.xattr."):]: v for k, v in m.pax_headers.items()
                      if k.startswith("SCHILY.xattr.")}
            if xattrs and m.type != tarfile.LNKTYPE:
                e["xattrs"] = xattrs
            out[path] = e
    for group in links.values():
        for path in group:
            out[path]["hardlink"] = min(group)
    return out


def fs(base_tar, built_tar):
    built = entries(built_tar)
    base = entries(base_tar) if "bin/busybox" in built else {}
    listed = [e for p, e in built.items() if base.get(p) != e]
    listed += [{"path": p, "type": "removed"} for p in base if p not in built]
    return sorted(listed, key=lambda e: e["path"])


def keep(value):
    return value not in (None, "", {}, False)


def config(saved_tar, url):
    with tarfile.open(saved_tar) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        raw = json.load(tar.extractfile(manifest[0]["Config"]))
    cfg = raw.get("config") or {}
    out = {k: cfg[k] for k in CONFIG_FIELDS if keep(cfg.get(k))}
    history = []
    for h in raw.get("history") or []:
        if (h.get("comment") or "").startswith("Imported from"):
            continue
        entry = {k: h[k] for k in ("created_by", "comment", "empty_layer") if keep(h.get(k))}
        history.append(entry)
    out["history"] = history
    out["diff_ids"] = len(raw["rootfs"]["diff_ids"])
    text = json.dumps(out, sort_keys=True)
    return json.loads(text.replace(url, "{{HTTP}}")) if url else out


def main():
    what = sys.argv[1]
    result = fs(sys.argv[2], sys.argv[3]) if what == "fs" else config(sys.argv[2], sys.argv[3])
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
