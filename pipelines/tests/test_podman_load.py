"""Loading an image archive (what the Dagger ``evaluate`` hands its stage): real podman, a one-file image."""

from __future__ import annotations

import io
import shutil
import tarfile
import uuid
from pathlib import Path

import pytest
from bedrockgate_pipeline.errors import ImageBuildError
from bedrockgate_pipeline.image import podman as podman_

needs_podman = pytest.mark.skipif(
    shutil.which("podman") is None, reason="podman is not installed (scripts/system-deps.sh --containers installs it)"
)


def _one_file_rootfs(path: Path, marker: str) -> None:
    with tarfile.open(path, "w") as archive:
        data = marker.encode()
        member = tarfile.TarInfo("marker")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))


@needs_podman
def test_an_unnamed_oci_archive_loads_as_the_image_it_holds(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex  # a new image every run: nothing served from earlier runs
    rootfs = tmp_path / "rootfs.tar"
    _one_file_rootfs(rootfs, marker)
    image_id = podman_.podman("import", "--quiet", str(rootfs)).strip()
    archive = tmp_path / "image.tar"
    try:
        podman_.podman("save", "--quiet", "--format", "oci-archive", "--output", str(archive), image_id)
        podman_.podman("rmi", "--force", image_id)
        reference = podman_.load(archive)
        assert reference == image_id.removeprefix("sha256:")
        assert podman_.podman("image", "inspect", "--format", "{{.Id}}", reference).strip() in image_id
    finally:
        podman_.podman("rmi", "--force", image_id, check=False)


def test_a_missing_archive_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ImageBuildError, match=r"no image archive at .*nothing\.tar"):
        podman_.load(tmp_path / "nothing.tar")
