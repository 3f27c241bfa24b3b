"""The package's picture stays true: layers import downward, no private name crosses a
module boundary, modules and functions stay small.

Every import of ``src/shrinkage`` is read from the source (module level and inside
functions, relative imports resolved), so a lazy import cannot hide a layer violation.
The layers, bottom up (``docs/design.md``):

0. ``validation``, ``results``, ``units``, ``datasets``, ``moved``, ``version``,
   ``user_warnings``: shared leaves;
1. ``model`` (families, penalties), ``engine.kernels`` (numba primitives) and
   ``survival`` (survival mathematics on arrays);
2. ``engine``;
3. ``tuning`` and ``distributed`` (fits on blocked data);
4. ``estimators``, ``bayes``, ``inference``, ``torch``;
5. the faces: ``plotting``, ``report``, ``cli``, ``io``, ``tabular``, ``quickstart``;
6. the package ``__init__`` (lazy public names).
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "shrinkage"

RANKS = [  # most specific prefix first
    ("shrinkage.engine.kernels", 1),
    ("shrinkage.model", 1),
    ("shrinkage.survival", 1),
    ("shrinkage.engine", 2),
    ("shrinkage.tuning", 3),
    ("shrinkage.distributed", 3),
    ("shrinkage.estimators", 4),
    ("shrinkage.estimator_grids", 4),
    ("shrinkage.survival_estimators", 4),
    ("shrinkage.bayes", 4),
    ("shrinkage.inference", 4),
    ("shrinkage.torch", 4),
    ("shrinkage.plotting", 5),
    ("shrinkage.report", 5),
    ("shrinkage.cli", 5),
    ("shrinkage.io", 5),
    ("shrinkage.tabular", 5),
    ("shrinkage.tabular_read", 5),
    ("shrinkage.tabular_encode", 5),
    ("shrinkage.tabular_survival", 5),
    ("shrinkage.cli_output", 5),
    ("shrinkage.cli_options", 5),
    ("shrinkage.cli_tuning", 5),
    ("shrinkage.cli_blocked", 5),
    ("shrinkage.tabular_blocked", 5),
    ("shrinkage.tabular_blocked_rules", 5),
    ("shrinkage.tabular_blocked_survival", 5),
    ("shrinkage.quickstart", 5),
    ("shrinkage.validation", 0),
    ("shrinkage.results", 0),
    ("shrinkage.units", 0),
    ("shrinkage.datasets", 0),
    ("shrinkage.moved", 0),
    ("shrinkage.version", 0),
    ("shrinkage.user_warnings", 0),
    ("shrinkage.entry", 6),
    ("shrinkage", 6),
]
# numba kernels are primitives: they import other kernels and the compiled family math only
KERNEL_IMPORTS = ("shrinkage.engine.kernels", "shrinkage.model.glm_math")
# survival mathematics works on arrays: it needs the input checks and nothing else of ours
SURVIVAL_IMPORTS = ("shrinkage.survival", "shrinkage.validation", "shrinkage.results")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 120


def _module_name(path):
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _rank(module):
    for prefix, rank in RANKS:
        if module == prefix or module.startswith(prefix + "."):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to RANKS and docs/design.md")


def _resolve(module, node):
    """Absolute names imported by an Import / ImportFrom node of ``module``."""
    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names]
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")
    if node.level:
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.append((sub if sub in MODULES else target, alias.name))
    return out


def _imports(module):
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target, name in _resolve(module, node):
                yield node.lineno, target, name


def test_every_module_is_in_a_layer():
    for module in MODULES:
        _rank(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    rank = _rank(module)
    for line, target, _ in _imports(module):
        if not target.startswith("shrinkage"):
            continue
        if module.startswith("shrinkage.engine.kernels"):
            assert target.startswith(KERNEL_IMPORTS), (
                f"{module}:{line} kernel imports {target}: kernels are primitives")
        if module == "shrinkage.survival" or module.startswith("shrinkage.survival."):
            assert target.startswith(SURVIVAL_IMPORTS), (
                f"{module}:{line} imports {target}: survival math imports only the leaves")
        assert _rank(target) <= rank, (
            f"{module}:{line} (layer {rank}) imports {target} (layer {_rank(target)})")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_modules(module):
    tree = ast.parse(MODULES[module].read_text())
    imported_modules = set()
    for line, target, name in _imports(module):
        if not target.startswith("shrinkage"):
            continue
        assert not any(part.startswith("_") for part in target.split(".")), (
            f"{module}:{line} imports from a private module {target}")
        if name is not None:
            assert name == "__version__" or not name.startswith("_"), (
                f"{module}:{line} imports the private name {name} from {target}")
            if f"{target}.{name}" in MODULES or target.endswith("." + name):
                imported_modules.add(name)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in imported_modules and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            raise AssertionError(
                f"{module}:{node.lineno} reaches the private {node.value.id}.{node.attr}")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_and_functions_stay_small(module):
    text = MODULES[module].read_text()
    assert text.count("\n") <= MAX_MODULE_LINES, f"{module}: split it by concept"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            size = node.end_lineno - node.lineno + 1
            assert size <= MAX_FUNCTION_LINES, f"{module}.{node.name}: {size} lines"


def test_the_layer_check_catches_a_violation(tmp_path):
    """The check itself can fail: an engine module importing tuning is refused."""
    fake = "shrinkage.engine._layer_probe"
    MODULES[fake] = PACKAGE / "engine" / "path.py"
    try:
        node = ast.parse("from ..tuning import cv").body[0]
        [(target, name)] = _resolve(fake, node)
        assert target == "shrinkage.tuning.cv" and _rank(target) > _rank(fake)
    finally:
        del MODULES[fake]


@pytest.mark.parametrize("old", ["shrinkage.cv", "shrinkage.ridge", "shrinkage.path",
                                 "shrinkage.selection", "shrinkage.losses"])
def test_old_module_paths_still_import(old):
    import importlib

    import shrinkage

    module = importlib.import_module(old)
    public = {"shrinkage.cv": "cross_validate_elastic_net", "shrinkage.ridge": "ridge_path",
              "shrinkage.path": "regularization_path", "shrinkage.selection": "best",
              "shrinkage.losses": "Binomial"}[old]
    assert callable(getattr(module, public))
    if old == "shrinkage.path":
        assert module.regularization_path is shrinkage.regularization_path


def test_every_public_name_imports():
    import shrinkage

    for name in shrinkage.__all__:
        assert getattr(shrinkage, name) is not None, name
