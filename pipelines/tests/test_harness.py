"""The inputs harness: exactly a function's tracked inputs, no network, caches that cannot leak back."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import dagger
import pytest
from bedrockgate_pipeline import containers, harness
from bedrockgate_pipeline.image import podman as podman_
from bedrockgate_pipeline.images import IMAGES
from bedrockgate_pipeline.stages import STAGES, stage
from dagger import dag
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import ROOT

if not (ROOT / ".git").exists():
    pytest.skip(
        "the harness materialises from git, and this copy of the repository has no .git", allow_module_level=True
    )
HEAD = subprocess.run(
    ["git", "-C", str(ROOT), "rev-parse", "HEAD"],  # noqa: S607 -- git from PATH
    capture_output=True, text=True, check=True,
).stdout.strip()  # fmt: skip
"""The commit the tests read: pinned, because others may commit while they run."""
_LISTING = subprocess.run(
    ["git", "-C", str(ROOT), "ls-tree", "-r", "-z", "--full-tree", HEAD],  # noqa: S607 -- git from PATH
    capture_output=True, text=True, check=True,
).stdout  # fmt: skip
BLOBS = {
    path: meta.split()[2]
    for meta, path in (line.split("\t", 1) for line in _LISTING.split("\0") if line)
    if meta.split()[1] == "blob"
}
"""The commit's tracked files and their git blob ids, read independently of the harness."""
CANDIDATES = sorted(set(BLOBS) | {"/".join(p.split("/")[:i]) for p in BLOBS for i in range(1, p.count("/") + 1)})
"""Every tracked file and folder: what an include or ignore list may name."""


def _under_any(path: str, prefixes: list[str]) -> bool:
    """Whether a plain include pattern selects ``path`` (``*``, the source check's whole tree, selects all)."""
    return any(prefix in ("*", path) or path.startswith(prefix + "/") for prefix in prefixes)


def _tree(root: Path) -> set[str]:
    """Every file and symlink under ``root`` (symlinked folders are not followed), ``.git`` left out."""
    found = set()
    for folder, folders, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        for name in [*files, *(d for d in folders if (Path(folder) / d).is_symlink())]:
            found.add((relative / name).as_posix())
        folders[:] = [d for d in folders if not (Path(folder) / d).is_symlink() and d != ".git"]
    return found


def _blob(path: Path) -> str:
    data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 -- git's object id, not security


@settings(max_examples=100, deadline=None)
@given(
    include=st.lists(st.sampled_from(CANDIDATES), min_size=1, max_size=6, unique=True),
    ignore=st.lists(st.sampled_from(CANDIDATES), max_size=2, unique=True),
)
def test_the_materialised_tree_is_exactly_the_tracked_files_the_include_list_selects(
    include: list[str], ignore: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        dest = Path(scratch) / "src"
        written = harness.materialise(ROOT, dest, include, ignore=ignore, revision=HEAD)
        expected = {path for path in BLOBS if _under_any(path, include) and not _under_any(path, ignore)}
        assert set(written) == expected
        assert _tree(dest) == expected  # nothing else: no venv, no .tools, no dist, no untracked file
        assert {path: _blob(dest / path) for path in expected} == {path: BLOBS[path] for path in expected}


def test_every_functions_source_is_exactly_its_include_list_of_tracked_files() -> None:
    for function in harness.functions(architectures=("amd64",)):
        for graph in function.graphs:
            assert graph.include is not None, f"{function.name} copies the whole source"
            selected = harness.select(BLOBS, graph.include, harness.dagger_ignore())
            assert set(selected) == {p for p in BLOBS if _under_any(p, list(graph.include))}, function.name
            assert not [p for p in selected if p.startswith((".tools/", ".nox/", ".venv/", "dist/"))]


@settings(max_examples=100, deadline=None)
@given(
    pattern=st.lists(st.sampled_from(["a", "b", "packages", "x.y"]), min_size=1, max_size=3),
    path=st.lists(st.sampled_from(["a", "b", "packages", "x.y", "c"]), min_size=1, max_size=5),
)
def test_a_plain_pattern_matches_itself_and_everything_under_it_only(pattern: list[str], path: list[str]) -> None:
    joined, target = "/".join(pattern), "/".join(path)
    assert harness.matches(joined, target) == _under_any(target, [joined])


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("dist", "dist/a.whl", True),
        ("dist", "packages/dist/a.whl", False),  # relative to the root, as Dagger's include/ignore
        ("**/cdk.out", "packages/infra/cdk.out/manifest.json", True),
        ("**/cdk.out", "cdk.out/manifest.json", True),
        ("**/__pycache__", "pipelines/x/__pycache__/m.pyc", True),
        ("packages/*/pyproject.toml", "packages/infra/pyproject.toml", True),
        ("packages/*", "packages/infra/src/x.py", True),
        ("*.md", "README.md", True),
        ("*.md", "packages/infra/README.md", False),
        ("examples", "examples", True),
        ("examples", "examplesx", False),
    ],
)
def test_patterns_follow_daggers_rules(pattern: str, path: str, expected: bool) -> None:
    assert harness.matches(pattern, path) is expected


def test_a_negated_pattern_is_refused_not_misread() -> None:
    with pytest.raises(harness.HarnessError, match="negations"):
        harness.matches("!dist", "dist")


def test_dot_git_is_the_commits_own_clone(tmp_path: Path) -> None:
    harness.materialise(ROOT, tmp_path / "src", [".git", "dev"], revision=HEAD)
    cloned = subprocess.run(["git", "-C", str(tmp_path / "src"), "rev-parse", "HEAD"],  # noqa: S607
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert cloned.stdout.strip() == HEAD
    diff = ["git", "-C", str(tmp_path / "src"), "diff", "--quiet", "HEAD", "--", "dev"]
    unchanged = subprocess.run(diff, check=False)
    assert unchanged.returncode == 0


def test_an_unknown_dagger_call_is_an_error_naming_it() -> None:
    with pytest.raises(harness.HarnessError, match="withUser"):
        harness.read_graph(dag.container().from_("scratch").with_user("nobody"))


def test_the_graphs_are_the_stage_api_the_functions_use() -> None:
    for current in STAGES:
        if current.name in ("tests", "bootstrap", "deploy"):
            continue
        graph = harness.read_graph(containers.nox_stage(dag.directory(), current, IMAGES))
        assert graph.include == tuple(containers.stage_inputs(current))
        assert graph.steps[-1].argv == tuple(containers.stage_command(current))
        assert graph.mount == containers.WORKDIR
        assert {"git", "redis-server"} <= set(graph.packages)
        assert set(graph.caches) == {containers.UV_CACHE, containers.NPM_CACHE}


def test_every_stage_has_a_function_and_synth_gets_the_zip_lambda_zip_makes() -> None:
    functions = {f.name: f for f in harness.functions(architectures=("amd64",))}
    assert {f.stage for f in functions.values()} == {s.name for s in STAGES}
    [(path, produced)] = functions["synth"].graphs[0].files
    assert path == f"{containers.WORKDIR}/{containers.LAMBDA_ZIP}"
    assert produced.graph == functions["lambda-zip"].graphs[0]  # the same graph: the harness runs it once
    assert set(harness.QUICK) <= set(functions)


def test_evaluate_runs_the_amd64_image_built_from_the_gateway_image_functions_context() -> None:
    """Defect: evaluate read an image from the host's dist/, which a clean container does not have."""
    functions = {f.name: f for f in harness.functions(architectures=("arm64", "amd64"))}
    [graph] = functions["evaluate"].graphs
    [(path, produced)] = graph.files
    assert path == f"{containers.WORKDIR}/{containers.IMAGE_ARCHIVE}"
    assert produced.kind == "image-archive"
    assert (produced.context, produced.platform) == ("context", "linux/amd64")
    assert produced.path == f"{containers.WORKDIR}/dist/gateway-image/amd64"
    assert produced.graph in functions["gateway-image"].graphs  # the same context step: built once per run
    [step] = graph.steps
    assert step.privileged
    assert step.argv[-2:] == ("--image-archive", containers.IMAGE_ARCHIVE)
    assert not any(
        s.privileged
        for f in functions.values()
        if f.name not in ("evaluate", "rehearse")
        for g in f.graphs
        for s in g.steps
    )


def test_an_archive_of_anything_but_a_built_context_is_refused_by_name() -> None:
    made = containers.runner(dag.directory(), IMAGES, ["dev"]).with_exec(["true"])
    with pytest.raises(harness.HarnessError, match="as_tarball of something other than a docker_build"):
        harness.read_graph(dag.container().with_file("/x.tar", made.as_tarball()))


def test_aws_credentials_are_secrets_with_fake_values_passed_by_name() -> None:
    functions = {f.name: f for f in harness.functions(architectures=("amd64",))}
    steps = [step for name in ("bootstrap", "deploy") for graph in functions[name].graphs for step in graph.steps]
    holding = [step for step in steps if step.holds_aws_credentials]
    assert holding
    for step in holding:
        assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(step.secrets)
        values = harness.secret_values(step)
        assert not any(value in repr(step) for value in values.values())


def _caches(root: Path) -> harness.Caches:
    return harness.Caches(uv=root / "uv", npm=root / "npm", pip=root / "pip", base=root / "base", wheels=root / "wh")


ENV_NAME = st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(
    env=st.dictionaries(ENV_NAME, st.text(st.characters(exclude_characters="\0"), max_size=20), max_size=4),
    secrets=st.lists(st.sampled_from(sorted(harness.FAKE_SECRETS)), unique=True),
    workdir=st.sampled_from(["/src", "/src/packages/infra"]),
    privileged=st.booleans(),
)
def test_the_podman_run_has_no_network_read_only_caches_and_no_other_host_path(
    env: dict[str, str], secrets: list[str], workdir: str, privileged: bool
) -> None:
    caches = _caches(Path("/host/caches"))
    source = Path("/host/work/src")
    step = harness.Step(
        ("./dev", "nox", "-s", "lint"), workdir, tuple(sorted(env.items())), tuple(secrets), privileged=privileged
    )
    argv = harness.podman_argv(step, image="localhost/bedrockgate-stage:x", source=source, mount="/src",
                               mounts=caches.mounts([containers.UV_CACHE, containers.NPM_CACHE]), name="n")  # fmt: skip
    assert argv[:2] == ["podman", "run"]
    assert "--network=none" in argv
    assert not any(arg.startswith(("--network=", "--net=")) and arg != "--network=none" for arg in argv)
    assert not {"--network", "--net", "--pid=host", "--ipc=host"} & set(argv)
    assert ("--privileged" in argv) == privileged  # only a step the graph runs with insecure_root_capabilities
    volumes = [argv[i + 1] for i, arg in enumerate(argv) if arg in ("--volume", "-v")]
    assert volumes[0] == f"{source}:/src"
    allowed = {caches.uv, caches.npm, caches.pip, caches.base, caches.wheels}
    for volume in volumes[1:]:
        host, _, mode = volume.split(":")
        assert Path(host) in allowed
        assert mode in ("O", "ro")  # an overlay (writes stay in the container) or read-only
    assert f"{caches.uv}:{containers.UV_CACHE}:O" in volumes
    assert "UV_OFFLINE=1" in argv
    assert argv[argv.index("--entrypoint") + 1] == harness.INIT  # the image's tini reaps detached processes
    if Path("/src") != ROOT:  # inside the harness itself the checkout is /src, the mount target
        assert str(ROOT) not in " ".join(argv)  # no host checkout, no .tools
    for name in secrets:
        assert argv[argv.index(name) - 1] == "--env"  # by name: podman reads the value from its environment
        assert harness.FAKE_SECRETS[name] not in " ".join(argv)


def test_a_cache_the_harness_does_not_know_is_an_error() -> None:
    with pytest.raises(harness.HarnessError, match=r"/root/\.cache/pip"):
        _caches(Path("/c")).mounts(["/root/.cache/pip"])


AWS_STEP = harness.Step(("deploy",), "/src", (), ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
PLAIN_STEP = harness.Step(("lint",), "/src")
KEY_STEP = harness.Step(("./dev", "nox", "-s", "verify"), "/src", (), (containers.GATEWAY_KEY,))
REFUSED = "http://127.0.0.1:9/health/liveliness cannot be reached: <urlopen error [Errno 111] Connection refused>"
BOTO = 'botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL: "https://sts.us-east-1.amazonaws.com/"'


@pytest.mark.parametrize(
    ("step", "returncode", "output", "expected"),
    [
        (PLAIN_STEP, 0, "", "passed"),
        (PLAIN_STEP, 1, BOTO, "failed"),
        (AWS_STEP, 1, BOTO, "stopped at the remote call"),
        (
            AWS_STEP,
            1,
            "Error: getaddrinfo EAI_AGAIN cloudformation.us-east-1.amazonaws.com",
            "stopped at the remote call",
        ),
        (AWS_STEP, 1, "settings/dev.yaml not found", "failed"),  # failed before reaching AWS
        (AWS_STEP, 0, "", "failed"),  # "succeeded" with fake credentials and no network: never called AWS
        (AWS_STEP, 0, BOTO, "failed"),  # the AWS call failed and the step still exited 0
        (KEY_STEP, 1, REFUSED, "stopped at the remote call"),
        (KEY_STEP, 1, "the gateway config has no model_list", "failed"),
        (KEY_STEP, 0, "", "failed"),
    ],
)
def test_a_step_with_aws_credentials_passes_only_by_failing_at_the_aws_call(
    step: harness.Step, returncode: int, output: str, expected: str
) -> None:
    assert harness.verdict(step, returncode, output)[0] == expected


def test_the_image_context_check_flags_lost_provenance(tmp_path: Path) -> None:
    built = tmp_path / "dist" / "gateway-image" / "amd64"
    built.mkdir(parents=True)
    (built / "build-args.json").write_text(json.dumps({"REVISION": "unknown", "CREATED": "2026-12-05T00:00:00Z"}))
    problem = harness._provenance("amd64")(tmp_path)
    assert problem is not None
    assert "REVISION='unknown'" in problem
    (built / "build-args.json").write_text(json.dumps({"REVISION": "a" * 40, "CREATED": "2026-12-05T00:00:00Z"}))
    assert harness._provenance("amd64")(tmp_path) is None


def test_the_stage_image_has_what_the_functions_install_at_run_time() -> None:
    assert {"redis-server", "podman", "mmdebstrap"} <= set(harness.system_deps_packages())
    graphs = [
        g for f in harness.functions(architectures=("amd64",)) for top in f.graphs for g in harness._all_graphs(top)
    ]
    packages = harness.stage_packages(graphs)
    assert {"git", "redis-server", "podman"} <= set(packages)
    assert list(packages) == sorted(set(packages))
    key = harness.stage_recipe(b"recipe", packages, "amd64")
    assert key == harness.stage_recipe(b"recipe", list(reversed(packages)), "amd64")
    assert key != harness.stage_recipe(b"recipe", packages[:-1], "amd64")
    assert key != harness.stage_recipe(b"recipe 2", packages, "amd64")


def test_base_sh_takes_extra_packages_as_one_checked_argument() -> None:
    recipe = (ROOT / "pipelines" / "image" / "base.sh").read_text(encoding="utf-8")
    assert 'extra="${3:-}"' in recipe
    refused = subprocess.run(["sh", str(ROOT / "pipelines" / "image" / "base.sh"), "amd64", "/dev/null", "git;rm"],  # noqa: S607
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert refused.returncode == 2
    assert "EXTRA must be Debian package names" in refused.stderr


def _stage_image_tag() -> str | None:
    """The stage image's tag when podman and the image are here (the harness builds it; tests only use it)."""
    if shutil.which("podman") is None:
        return None
    graphs = [
        g for f in harness.functions(architectures=("amd64",)) for top in f.graphs for g in harness._all_graphs(top)
    ]
    packages = harness.stage_packages(graphs)
    key = harness.stage_recipe(harness.BASE_RECIPE.read_bytes(), packages, "amd64")
    tag = f"{harness.STAGE_REPOSITORY}:{key}"
    found = subprocess.run(["podman", "image", "exists", tag], env=podman_.environment(), check=False)  # noqa: S607
    return tag if found.returncode == 0 else None


def test_a_real_run_sees_only_its_inputs_no_network_and_cannot_write_the_hosts_caches(tmp_path: Path) -> None:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (scripts/system-deps.sh --containers installs it)")
    tag = _stage_image_tag()
    if tag is None:
        pytest.skip("the harness's stage image is not built here: `./dev nox -s harness_quick` builds it")
    caches = _caches(tmp_path / "caches")
    for path in (caches.uv, caches.npm, caches.pip, caches.base, caches.wheels):
        path.mkdir(parents=True)
    (caches.uv / "cached").write_text("from the host")
    harness.materialise(ROOT, tmp_path / "src", ["dev", "scripts"], revision=HEAD)
    probe = (
        "ls -A /src; ls /sys/class/net; cat /root/.cache/uv/cached; echo; touch /root/.cache/uv/written; "
        "touch /opt/harness/pip/written 2>/dev/null && echo pip-writable || echo pip-read-only"
    )
    step = harness.Step(("sh", "-c", probe), "/src")
    name = f"bedrockgate-harness-test-{os.getpid()}"
    argv = harness.podman_argv(step, image=tag, source=tmp_path / "src", mount="/src",
                               mounts=caches.mounts([containers.UV_CACHE]), name=name)  # fmt: skip
    done = subprocess.run(argv, env=podman_.environment(), capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["dev", "scripts", "lo", "from", "the", "host", "pip-read-only"]
    assert not (caches.uv / "written").exists()  # the overlay kept the container's write
    assert stage("lint").name == "lint"


def test_functions_unknown_to_the_harness_are_refused_by_name() -> None:
    with pytest.raises(harness.HarnessError, match="no harness function named"):
        harness._choose(harness.functions(architectures=("amd64",)), ["no-such-function"])


def test_the_table_shows_each_function_result_and_wall_time() -> None:
    results = [
        harness.FunctionResult("lint", passed=True, seconds=12.3),
        harness.FunctionResult("deploy", passed=False, seconds=40.0, problems=["`./dev nox -s source` failed"]),
    ]
    shown = harness.table(results)
    assert "lint" in shown
    assert "FAILED" in shown
    assert "12 s" in shown
    assert "1/2 passed" in shown
    assert isinstance(dagger.Directory, type)


def test_the_cause_is_the_logs_last_error_line(tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    log.write_text("$ ./dev nox -s source\nnox > Running session source\n"
                   "nox > Session source aborted: the working tree of /src has uncommitted changes (D README.md ...)\n"
                   "nox > Session source failed.\n")  # fmt: skip
    assert harness._cause(log).startswith("nox > Session source aborted: the working tree")
    assert harness._short(["./dev", "nox", "-s", "tests(package='infra')"]) == "nox -s tests(package='infra')"
    loop = "for e in $(./dev uv run --package bedrockgate-infra bedrockgate-infra environments); do :; done"
    assert harness._short(["sh", "-euc", loop]) == "bedrockgate-infra environments"
    log.write_text(
        "nox > Session supply_chain aborted: the audit failed without a report: ConnectionError\n"
        "no gate record: git status failed: fatal: not a git repository\n"
        "nox > Session supply_chain failed.\n"
    )
    assert harness._cause(log).startswith("nox > Session supply_chain aborted: the audit failed")
