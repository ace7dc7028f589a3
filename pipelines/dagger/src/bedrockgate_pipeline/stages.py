"""The pipeline's stages, defined once: what each runs, what it reads, which packages it touches.

Plain Python with no imports beyond the standard library, because both runners read it: the
nox sessions (``noxfile.py`` loads ``pipelines/nox_sessions.py``) and the Dagger module
(``main.py`` beside this file). A test proves the two expose exactly these stages.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_PACKAGES = "*"


@dataclass(frozen=True)
class Stage:
    """One step from change to deployed gateway."""

    name: str
    """The nox session's name; the Dagger function is the same in kebab-case."""
    summary: str
    needs: tuple[str, ...]
    """Stages that must have passed for the same source first."""
    inputs: tuple[str, ...]
    """Repository paths the stage reads: Dagger narrows its source to these, so other edits keep its cache."""
    packages: tuple[str, ...] | str
    """Packages it builds or checks (``*``: every package)."""
    in_ci: bool
    """Part of ``ci`` (everything up to synth): ``./dev test``, ``nox -s ci`` and ``dagger call ci`` run it."""
    ci_variant: str = ""
    """The nox session ``ci`` runs for this stage when it differs from ``name`` (the amd64-only image)."""

    @property
    def function(self) -> str:
        """The Dagger function (``dagger call <function>``)."""
        return self.name.replace("_", "-")

    @property
    def ci_session(self) -> str:
        """The nox session ``ci`` (and ``./dev test``) runs for this stage."""
        return self.ci_variant or self.name


_WORKSPACE = ("pyproject.toml", "uv.lock", "coverage-floors.toml", "packages", "examples")
"""What every package's code and tests read: ``examples`` is the root symlink to gateway-config's example configs;
``coverage-floors.toml`` holds the floor each package's tests session checks."""
_PIPELINE = (*_WORKSPACE, "pipelines", "noxfile.py", "scripts")

STAGES: tuple[Stage, ...] = (
    Stage("lint", "ruff's rules and formatting", (), (*_PIPELINE, "README.md"), ALL_PACKAGES, in_ci=True),
    Stage("typecheck", "mypy --strict over every package, the pipeline and the scripts", (), _PIPELINE,
          ALL_PACKAGES, in_ci=True),
    Stage("tests", "one package's tests with only its declared dependencies", (), _WORKSPACE,
          ALL_PACKAGES, in_ci=True),
    Stage("pipeline", "the pipeline's own tests: stages, graphs, gates, the image recipe, the workflows", (),
          (*_PIPELINE, ".git", ".github", ".ci", "renovate.json", "dagger.json", "dev", "README.md", "ARCHITECTURE.md"),
          (), in_ci=True),
    Stage("build", "wheels and sdists of every package, each installed alone and imported",
          ("lint", "typecheck", "tests"), _WORKSPACE, ALL_PACKAGES, in_ci=True),
    Stage("supply_chain", "the wheels' SBOM and a strict vulnerability audit of the lock (not run is not a pass)",
          ("build",), _WORKSPACE, ALL_PACKAGES, in_ci=True),
    Stage("gateway_image", "our image (Debian base, lock's wheels, rendered config), arm64 and amd64; smoke test",
          ("build",), (*_WORKSPACE, ".git"), ("gateway-config", "metrics-callback"), in_ci=True,
          ci_variant="gateway_image_amd64"),
    Stage("lambda_zip", "the Lex fulfillment Lambda's reproducible zip", ("build",), _WORKSPACE,
          ("lex-fulfillment",), in_ci=True),
    Stage("synth", "CDK synth of every stack with cdk-nag and cfn-lint", ("lambda_zip",), _WORKSPACE,
          ("infra", "gateway-config", "lex-fulfillment"), in_ci=True),
    Stage("evaluate", "the gateway image on the local stack and the eval gate on the SQuAD sample", ("gateway_image",),
          _WORKSPACE, ("local-stack", "evals", "gateway-config", "metrics-callback"), in_ci=False),
    Stage("bootstrap", "cdk bootstrap of every environment the app uses (once per account and region)", (),
          _WORKSPACE, ("infra",), in_ci=False),
    Stage("deploy", "cdk deploy of the published image, only after ci, evaluate and the audit passed for the source",
          ("ci", "evaluate", "bootstrap"), _WORKSPACE, ("infra",), in_ci=False),
    Stage("verify", "after deploy: health, a chat per model group, the guardrail, Lex, against the deployed endpoint",
          ("deploy",), (*_WORKSPACE, "pipelines"), (), in_ci=False),
    Stage("rehearse", "bootstrap, deploy, read back, verify, update in place and destroy against moto on loopback",
          ("lambda_zip",), (*_PIPELINE, ".git"), ("infra",), in_ci=False),
)  # fmt: skip

COMPOSITE = "ci"
"""The composite of every ``in_ci`` stage, in order; a runner exposes it beside the stages."""


def stage(name: str) -> Stage:
    """A stage by nox or Dagger name; an unknown one is an error listing the known ones."""
    for candidate in STAGES:
        if name in (candidate.name, candidate.function):
            return candidate
    known = ", ".join(s.name for s in STAGES)
    raise KeyError(f"no stage named {name!r}; the stages are: {known}")


def ci_stages() -> tuple[Stage, ...]:
    """The stages ``ci`` runs, in order."""
    return tuple(s for s in STAGES if s.in_ci)


def nox_names() -> set[str]:
    """Every name the nox runner must expose."""
    return {s.name for s in STAGES} | {COMPOSITE}


def dagger_names() -> set[str]:
    """Every function the Dagger module must expose."""
    return {s.function for s in STAGES} | {COMPOSITE}
