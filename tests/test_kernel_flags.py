"""Every compiled kernel states its fastmath flags (engine/kernels/flags.py).

numba compiles a kernel that states no ``fastmath`` with the flags of the caller that first
needs it and caches that copy, so such a kernel rounds as whichever caller compiled it
first: sessions, and test workers sharing a cache, then disagree in the last bits
(``tests/test_compile_order.py`` shows it on whole fits). Read from the source, so that no
module has to be importable (optional extras) and a kernel no test calls is checked too.
"""

import ast
import pathlib

import shrinkage

SOURCE = pathlib.Path(shrinkage.__file__).parent
COMPILERS = {"njit", "jit", "vectorize", "guvectorize", "generated_jit", "cfunc"}


def _compiler(node):
    """The decorator's compiler name (``njit``, ``numba.njit``...), or None."""
    func = node.func if isinstance(node, ast.Call) else node
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name if name in COMPILERS else None


def _kernels():
    """``(file, line, function, keywords or None for a bare decorator)`` of every compiled
    function in the package."""
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                if _compiler(deco) is None:
                    continue
                keywords = None
                if isinstance(deco, ast.Call):
                    keywords = {k.arg: k.value for k in deco.keywords if k.arg is not None}
                yield path.relative_to(SOURCE), deco.lineno, node.name, keywords


def test_the_source_has_kernels():
    found = list(_kernels())
    assert len(found) > 200  # (the scan reads the package, not an empty folder)
    names = {name for _, _, name, _ in found}
    assert {"cd_quadratic", "descend_strength", "naive_path", "centred_gradient"} <= names


def test_every_kernel_states_its_fastmath():
    """Inlined helpers (``inline="always"``) are exempt: numba inlines them into the
    caller's IR before lowering, so each copy takes its caller's (stated) flags, and a
    call from Python compiles a copy of its own without flags."""
    unstated = []
    for path, line, name, keywords in _kernels():
        if keywords is None:
            unstated.append(f"{path}:{line} {name} (bare decorator)")
            continue
        inline = keywords.get("inline")
        if isinstance(inline, ast.Constant) and inline.value == "always":
            continue
        if "fastmath" not in keywords:
            unstated.append(f"{path}:{line} {name}")
    assert not unstated, "kernels without a stated fastmath:\n" + "\n".join(unstated)
