"""The image's SBOM, from what the image itself holds, and its check against the lock.

The Python packages are read inside the image (``importlib.metadata`` over the venv), the Debian
packages from the base's manifest: the SBOM describes the artefact, not the recipe. The check
says that the image's Python environment is exactly the lock's closure for its platform.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot5
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from bedrockgate_pipeline.errors import ImageBuildError
from bedrockgate_pipeline.image import podman as podman_

_LIST = (
    "import importlib.metadata as m, json\n"
    "print(json.dumps(sorted({d.metadata['Name']: d.version for d in m.distributions()}.items())))\n"
)


def installed_python_packages(reference: str) -> dict[str, str]:
    """Name (canonical) -> version of every distribution in the image's venv."""
    done = subprocess.run(
        ["podman", "run", "--rm", "--network=none", "--entrypoint", "/opt/venv/bin/python", reference, "-c", _LIST],
        env=podman_.environment(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise ImageBuildError(f"could not list the packages in {reference}: {done.stderr.strip()[-1000:]}")
    return {str(canonicalize_name(name)): version for name, version in json.loads(done.stdout)}


def lock_mismatches(installed: Mapping[str, str], expected: Mapping[str, str]) -> list[str]:
    """Every difference between the image's packages and the lock's closure, as sentences (empty: equal)."""
    problems = []
    for name in sorted(set(installed) | set(expected)):
        have, want = installed.get(name), expected.get(name)
        if want is None:
            problems.append(f"{name} {have} is in the image but not in the lock's gateway-image closure")
        elif have is None:
            problems.append(f"{name} {want} is in the lock's closure but not in the image")
        elif have != want:
            problems.append(f"{name} is {have} in the image but {want} in uv.lock")
    return problems


def workspace_version(root: Path, distribution: str) -> str:
    """A workspace member's version as uv.lock records it."""
    lock = tomllib.loads((root / "uv.lock").read_text(encoding="utf-8"))
    for package in lock["package"]:
        if package["name"] == distribution:
            return str(package["version"])
    raise ImageBuildError(f"{distribution} is not in uv.lock")


def cyclonedx(
    reference: str, version: str, python: Mapping[str, str], debian: Mapping[str, str], architecture: str
) -> str:
    """A CycloneDX 1.5 JSON document of the image: its Python and Debian packages."""
    bom = Bom()
    root = Component(name="bedrockgate-gateway", version=version, type=ComponentType.CONTAINER, bom_ref=reference)
    bom.metadata.component = root
    for name, package_version in sorted(python.items()):
        purl = PackageURL(type="pypi", name=name, version=package_version)
        bom.components.add(Component(name=name, version=package_version, type=ComponentType.LIBRARY, purl=purl,
                                     bom_ref=purl.to_string()))  # fmt: skip
    for name, package_version in sorted(debian.items()):
        purl = PackageURL(type="deb", namespace="debian", name=name, version=package_version,
                          qualifiers={"arch": architecture, "distro": "debian-12"})  # fmt: skip
        bom.components.add(Component(name=name, version=package_version, type=ComponentType.LIBRARY, purl=purl,
                                     bom_ref=purl.to_string()))  # fmt: skip
    bom.register_dependency(root, list(bom.components))  # the image holds every one of them directly
    return JsonV1Dot5(bom).output_as_string(indent=2)
