#!/usr/bin/env python3
"""tests/cluster/ociimage.py: write a one-layer OCI image archive (an OCI layout in a tar) that
`ctr images import` accepts, from a directory tree, with no registry and no Docker.

  ociimage.py --name REF --rootfs DIR --out FILE.tar [--entrypoint JSON] [--cmd JSON] [--env K=V]...
              [--user UID:GID] [--keep-owners]

The layer is deterministic: entries sorted, mtime 0, owner root (--keep-owners: the tree's
own owners, for images with a non-root user's home). File capabilities (the security.capability
extended attribute, e.g. newuidmap's cap_setuid) are kept, as PAX records."""
import argparse, gzip, hashlib, io, json, os, tarfile


def layer_tar(root, keep_owners=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                full = os.path.join(dirpath, name)
                info = tar.gettarinfo(full, os.path.relpath(full, root))
                info.mtime, info.uname, info.gname = 0, "", ""
                if not keep_owners:
                    info.uid, info.gid, info.uname, info.gname = 0, 0, "root", "root"
                if info.isreg():
                    try:
                        cap = os.getxattr(full, "security.capability", follow_symlinks=False)
                        info.pax_headers = {"SCHILY.xattr.security.capability":
                                            cap.decode("utf-8", "surrogateescape")}
                    except OSError:
                        pass
                if info.isreg():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--entrypoint", default="null")
    ap.add_argument("--cmd", default="null")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--user", default="")
    ap.add_argument("--keep-owners", action="store_true")
    a = ap.parse_args()

    raw = layer_tar(a.rootfs, a.keep_owners)
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    gz = gzip.compress(raw, mtime=0)
    blobs = {}

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        blobs[d] = data
        return "sha256:" + d

    layer = blob(gz)
    cfg = {"architecture": "amd64", "os": "linux",
           "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + a.env,
                      "Entrypoint": json.loads(a.entrypoint), "Cmd": json.loads(a.cmd)},
           "rootfs": {"type": "layers", "diff_ids": [diff_id]},
           "history": [{"created_by": "tests/cluster/ociimage.py"}]}
    if a.user:
        cfg["config"]["User"] = a.user
    cfg_b = json.dumps(cfg, sort_keys=True).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": blob(cfg_b), "size": len(cfg_b)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": layer, "size": len(gz)}]}
    man_b = json.dumps(manifest, sort_keys=True).encode()
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": blob(man_b), "size": len(man_b),
                            "annotations": {"io.containerd.image.name": a.name,
                                            "org.opencontainers.image.ref.name": a.name.rsplit(":", 1)[-1]}}]}
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
             "index.json": json.dumps(index, sort_keys=True).encode()}
    for d, data in blobs.items():
        files["blobs/sha256/" + d] = data
    with tarfile.open(a.out, "w") as tar:
        for name in ["blobs", "blobs/sha256"]:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(ti)
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tar.addfile(ti, io.BytesIO(data))


if __name__ == "__main__":
    main()
