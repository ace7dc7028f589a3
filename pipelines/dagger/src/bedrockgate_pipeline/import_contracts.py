"""import-linter's contract for private modules, which its built-in contract types cannot express.

A module whose name, below its package, has a ``_``-prefixed part (``bedrockgate.gateway_config._yaml``,
``bedrockgate.infra.stacks._parts``) is that package's own: another package imports the public
modules only. import-linter's wildcards replace whole names (``_*`` is not a pattern it takes), so
the rule is this contract type, registered in the root ``pyproject.toml`` (``contract_types``) and
checked by ``nox -s lint`` with the dependency contracts.
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


def owner(module: str, packages: list[str]) -> str | None:
    """The package (one of ``packages``) that ``module`` belongs to, if any."""
    return next((p for p in packages if module == p or module.startswith(p + ".")), None)


def is_private(module: str, package: str) -> bool:
    """Whether a part of ``module``'s name below ``package`` starts with ``_`` (dunder names are public)."""
    parts = module.removeprefix(package).split(".")[1:]
    return any(part.startswith("_") and not part.startswith("__") for part in parts)


class PrivateModulesContract(Contract):
    """No module of one of ``packages`` imports a private module of another of them."""

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        """Every direct import from one package into another's private module, with its line."""
        packages = [str(package) for package in self.packages]  # type: ignore[attr-defined] # import-linter's field
        violations: list[str] = []
        for importer in sorted(graph.modules):
            source = owner(importer, packages)
            if source is None:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                target = owner(imported, packages)
                if target is None or target == source or not is_private(imported, target):
                    continue
                lines = sorted(d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported))
                violations.append(
                    f"{importer} (line {', '.join(map(str, lines)) or '?'}) imports {imported}, a private module "
                    f"of {target}: import what {target} exports publicly, or make that module public there"
                )
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        """One line per import that breaks the contract."""
        for violation in check.metadata["violations"]:
            output.print_error(violation, bold=False)
            output.new_line()
