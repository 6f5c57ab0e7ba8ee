"""Formats: an OCI index picks linux on the host's architecture (or --platform) and lists what it
has when nothing matches; zstd layers; pulls by digest. The content is put in the registry by the
fixture with the standard library alone."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from stackfile.errors import NotFound
from stackfile.registry.manifest import host_platform
from stackfile.registry.options import RegistryOptions
from stackfile.registry.pull import pull
from stackfile.store.paths import StorePaths
from tests.conftest import needs_root
from tests.integration.registry.conftest import needs_registry, sf
from tests.integration.registry.regsupport import PASSWORD, USER, Registry, put_blob, put_manifest, sha256

pytestmark = [needs_root, needs_registry]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _layer_tar(name: str, text: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        data = text.encode()
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture(scope="module")
def multi(registry: Registry) -> dict[str, str]:
    """``formats/multi:1``: an OCI index (linux/<host arch>, linux/arm64/v8 on a second arch if the
    host is arm64, an attestation entry) of an OCI manifest with one zstd layer."""
    zstandard = pytest.importorskip("zstandard")
    tar = _layer_tar("zstd-file", "unpacked from zstd\n")
    layer = zstandard.ZstdCompressor().compress(tar)
    repo = "formats/multi"
    host = host_platform()
    config = json.dumps(
        {
            "architecture": host.architecture,
            "os": "linux",
            "config": {"Cmd": ["/x"]},
            "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
        }
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": put_blob(registry, repo, config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                "digest": put_blob(registry, repo, layer),
                "size": len(layer),
            }
        ],
    }
    mdigest = put_manifest(registry, repo, "single", manifest, OCI_MANIFEST)
    size = len(json.dumps(manifest).encode())
    other = "s390x" if host.architecture != "s390x" else "ppc64le"

    def entry(arch: str, os_: str = "linux", variant: str = "") -> dict[str, object]:
        platform = {"architecture": arch, "os": os_, **({"variant": variant} if variant else {})}
        return {"mediaType": OCI_MANIFEST, "digest": mdigest, "size": size, "platform": platform}

    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry(other), entry(host.architecture), entry("unknown", "unknown")],
    }
    idigest = put_manifest(registry, repo, "1", index, OCI_INDEX)
    return {
        "ref": f"{registry.host}/{repo}:1",
        "index": idigest,
        "manifest": mdigest,
        "other": other,
        "host": str(host),
    }


def _options(tmp: Path, registry: Registry) -> RegistryOptions:
    import base64

    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (tmp / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": auth}}}))
    return RegistryOptions(config_dir=str(tmp))


def test_an_index_gives_the_host_platform_and_zstd_layers_unpack(
    registry: Registry, multi: dict[str, str], tmp_path: Path
) -> None:
    paths = StorePaths(tmp_path / "store")
    image = pull(paths, multi["ref"], options=_options(tmp_path, registry))
    assert multi["ref"] in image.names
    assert (Path(paths.layer_str(image.layers[-1])) / "zstd-file").read_text() == "unpacked from zstd\n"
    again = pull(
        paths, multi["ref"].rsplit(":", 1)[0] + "@" + multi["index"], options=_options(tmp_path, registry)
    )
    assert again.id == image.id


def test_a_platform_the_index_lacks_is_an_error_listing_what_it_has(
    registry: Registry, multi: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(NotFound) as info:
        pull(
            StorePaths(tmp_path / "store"),
            multi["ref"],
            platform="linux/mips64le",
            options=_options(tmp_path, registry),
        )
    text = info.value.render()
    assert "has no image for linux/mips64le" in text
    assert (
        f"linux/{multi['other']}" in text and multi["host"].split("/v")[0] in text and "unknown" not in text
    )
    assert "--platform" in text


def test_platform_flag_picks_another_entry_from_the_cli(
    registry: Registry, multi: dict[str, str], store_root: Path, docker_config: Path
) -> None:
    assert (
        sf(
            store_root, docker_config, "login", registry.host, "-u", USER, "--password-stdin", stdin=PASSWORD
        ).returncode
        == 0
    )
    r = sf(store_root, docker_config, "image", "pull", "--platform", f"linux/{multi['other']}", multi["ref"])
    assert r.returncode == 0, r.stderr
    r = sf(store_root, docker_config, "image", "pull", "--platform", "bogus", multi["ref"])
    assert r.returncode == 15 and "invalid platform 'bogus'" in r.stderr
