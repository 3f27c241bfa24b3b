"""The documentation is tested: every public name has a docstring, and the code blocks of
the README and of the documentation's pages run.

Docstrings. The public names are the ``__all__`` of every public module and package of
shrinkage (private ``_`` modules and the ``shrinkage.moved`` alias module left out), and the
public methods and properties of the public classes that shrinkage defines (members that
come from scikit-learn, torch or other libraries are theirs to document; a method that
overrides a documented one inherits its docstring, as ``inspect.getdoc`` and autodoc show
it). A class needs its own docstring: the one a dataclass makes up from its signature
does not count. (Documented constants get their text from a ``#:`` comment; the
documentation build checks those, with numpydoc's validation.) The ``Examples`` sections
of the docstrings run as doctests.

Code blocks. In ``README.md`` every ```` ```python ```` block runs, in order, in one
namespace. In the pages under ``docs/`` (MyST Markdown) the ```` ```{pyrun} ```` blocks,
which the documentation build also runs (``docs/_ext/pyrun.py``), and the
```` ```python ```` blocks run in page order, one namespace per page, in a temporary folder;
a block that is shown but cannot run on its own (it needs the reader's data or a cluster)
is written ```` ```{code-block} python ````. A pyrun block with the option ``:no-test:`` is
left to the documentation build (the speed page's timings, which would take a minute of
this suite for no extra check). The gallery's scripts run in the documentation build.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import inspect
import pkgutil
import re
import types
import warnings
from pathlib import Path

import pytest

import shrinkage

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("torch", "dask", "distributed", "pandas")  # the extras' libraries
DOCS = ROOT / "docs"

# --------------------------------------------------------------------------------------
# Docstrings
# --------------------------------------------------------------------------------------


def public_modules(package=shrinkage, skip=("shrinkage.moved",)):
    """The package and every module below it whose dotted name has no ``_`` part."""
    modules = [package]
    prefix = package.__name__ + "."
    for info in pkgutil.walk_packages(package.__path__, prefix):
        parts = info.name.split(".")
        if info.name in skip or any(part.startswith("_") for part in parts):
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except ImportError as exc:
            # only an optional extra that is not installed (torch) excuses a module
            if not any(extra in str(exc) for extra in OPTIONAL):
                raise
    return modules


def _has_own_docstring(cls):
    doc = cls.__dict__.get("__doc__")
    if not doc or not doc.strip():
        return False
    # dataclasses write "Name(field: type, ...)" into a class without a docstring
    return not (dataclasses.is_dataclass(cls) and doc.startswith(cls.__name__ + "("))


def _member_missing(cls, attr, prefix):
    """True if ``cls.attr`` is a public method or property that shrinkage defines (on
    ``cls`` or a base of it inside ``prefix``) and has no docstring."""
    owners = [k for k in cls.__mro__ if attr in vars(k)]
    if not owners or not owners[0].__module__.startswith(prefix):
        return False
    if not isinstance(_unwrap(vars(owners[0])[attr]), (property, types.FunctionType)):
        return False  # data, nested classes (checked where exported), descriptors of others
    # documented where defined, or where the method it overrides is defined
    return not any(_doc(vars(k)[attr]) for k in owners)


def _unwrap(raw):
    return raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw


def _doc(raw):
    doc = getattr(_unwrap(raw), "__doc__", None)
    return isinstance(doc, str) and bool(doc.strip())


def missing_docstrings(modules, prefix="shrinkage"):
    """Sorted dotted names of the public names of ``modules`` without a docstring.

    A module without ``__all__`` contributes only its own docstring. Classes exported by
    several modules are checked once.
    """
    missing, seen = set(), set()
    for module in modules:
        if not (module.__doc__ or "").strip():
            missing.add(module.__name__)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType) or id(obj) in seen:
                continue
            seen.add(id(obj))
            where = f"{module.__name__}.{name}"
            if inspect.isclass(obj):
                if not obj.__module__.startswith(prefix):
                    continue  # re-exported from another library
                if not _has_own_docstring(obj):
                    missing.add(where)
                for attr in dir(obj):
                    if not attr.startswith("_") and _member_missing(obj, attr, prefix):
                        missing.add(f"{where}.{attr}")
            elif callable(obj) and not inspect.getdoc(obj):
                missing.add(where)
    return sorted(missing)


def test_every_public_name_has_a_docstring():
    modules = public_modules()
    names = sum(len(getattr(m, "__all__", ())) for m in modules)
    assert len(modules) > 40 and names > 300  # the walk really saw the package
    assert missing_docstrings(modules) == []


def _synthetic_package():
    """A fake package ``fakepkg`` with one documented and one undocumented name of each
    kind, to show that the checker finds exactly the undocumented ones."""
    from sklearn.base import BaseEstimator

    module = types.ModuleType("fakepkg.mod", "A module.")

    def documented():
        """Has one."""

    def undocumented():
        pass

    class Base:
        """A base class."""

        def fit(self):
            """Fit (documented here, inherited by the override below)."""

        def base_helper(self):
            pass

    class Good(Base, BaseEstimator):
        """Documented, with documented members; ``get_params`` and friends come from
        scikit-learn and are not its to document."""

        def fit(self):  # overrides a documented method: inherits its docstring
            return self

        @property
        def size(self):
            """A documented property."""
            return 1

        def _private(self):
            pass

    class Bad:
        def method(self):
            pass

        @property
        def value(self):
            return 1

        @staticmethod
        def helper():
            pass

    @dataclasses.dataclass
    class Record:
        a: int = 0

    for obj in (documented, undocumented, Base, Good, Bad, Record):
        obj.__module__ = "fakepkg.mod"
    module.__dict__.update(documented=documented, undocumented=undocumented, Base=Base,
                           Good=Good, Bad=Bad, Record=Record, ValueError=ValueError)
    module.__all__ = ["documented", "undocumented", "Good", "Bad", "Record", "ValueError"]
    empty = types.ModuleType("fakepkg.empty")  # no docstring, no __all__
    return [module, empty]


def test_the_checker_finds_missing_docstrings():
    found = missing_docstrings(_synthetic_package(), prefix="fakepkg")
    assert found == [
        "fakepkg.empty",
        "fakepkg.mod.Bad",
        "fakepkg.mod.Bad.helper",
        "fakepkg.mod.Bad.method",
        "fakepkg.mod.Bad.value",
        "fakepkg.mod.Good.base_helper",  # inherited from a class of the package
        "fakepkg.mod.Record",  # a dataclass's generated signature is not a docstring
        "fakepkg.mod.undocumented",
    ]


def test_the_checker_sees_a_docstring_removed_from_shrinkage(monkeypatch):
    from shrinkage import results

    monkeypatch.setattr(results.Path, "__doc__", None)
    monkeypatch.setattr(results.Path.summary, "__doc__", "")
    found = missing_docstrings([results])
    assert "shrinkage.results.Path" in found and "shrinkage.results.Path.summary" in found


# --------------------------------------------------------------------------------------
# The Examples sections of docstrings
# --------------------------------------------------------------------------------------


def _modules_with_examples():
    found = []
    for module in public_modules():
        tests = doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__)
        if any(test.examples for test in tests if _defined_in(test, module)):
            found.append(module.__name__)
    return found


def _defined_in(test, module):
    """Whether a doctest comes from ``module``'s own source (not a re-export)."""
    return test.filename is not None and Path(test.filename) == Path(module.__file__)


# Examples known to fail, by module, with what is wrong: strict, so a fixed one must leave
# this list (the test then fails until it does).
KNOWN_FAILING_EXAMPLES = {}  # module -> why its docstring example fails (xfail, strict)


def _example_params():
    return [pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_FAILING_EXAMPLES[name],
                                                       strict=True))
            if name in KNOWN_FAILING_EXAMPLES else name
            for name in _modules_with_examples()]


@pytest.mark.parametrize("modname", _example_params())
def test_docstring_examples_run(modname, tmp_path, monkeypatch, quiet_figures):
    module = importlib.import_module(modname)
    monkeypatch.chdir(tmp_path)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(optionflags=flags)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, modname)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for test in tests:
            if test.examples and _defined_in(test, module):
                runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------------------
# Code blocks
# --------------------------------------------------------------------------------------

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")


def code_blocks(text, kinds=("python", "{pyrun}")):
    """The code blocks of a Markdown text whose info string is one of ``kinds``, in order:
    a list of ``(line number, kind, options, code)``; MyST directive options (leading
    ``:name: value`` lines) are taken out of the code."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        kind = match["info"].split(" ")[0] if match["info"] else ""
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not re.match(
                rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", lines[i]):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1
        if kind not in kinds:
            continue
        options = {}
        while body and kind.startswith("{") and re.match(r"^:[\w-]+:", body[0]):
            key, _, value = body.pop(0)[1:].partition(":")
            options[key] = value.strip()
        blocks.append((start, kind, options, "\n".join(body) + "\n"))
    return blocks


def test_code_blocks_are_found():
    text = "\n".join([
        "# t", "```python", "a = 1", "```", "```bash", "ls", "```",
        "```{pyrun}", ":hide-code:", "b = a + 1", "```",
        "1. item", "   ```python", "   c = b", "   ```",
        "````{pyrun}", ":no-test:", "d = 4", "````",
        "```{code-block} python", "not run", "```",
    ])
    found = [(kind, options, code) for _, kind, options, code in code_blocks(text)]
    assert found == [("python", {}, "a = 1\n"), ("{pyrun}", {"hide-code": ""}, "b = a + 1\n"),
                     ("python", {}, "c = b\n"), ("{pyrun}", {"no-test": ""}, "d = 4\n")]


def _markdown_files():
    """README.md and the Markdown sources of the documentation (not build output)."""
    pages = [ROOT / "README.md"]
    pages += sorted(p for p in DOCS.rglob("*.md")
                    if not any(part.startswith("_") or part == "auto_examples"
                               for part in p.relative_to(DOCS).parts))
    return pages


def _pages():
    """The Markdown files with code blocks for this suite to run."""
    return [p for p in _markdown_files()
            if any("no-test" not in options
                   for _, _, options, _ in code_blocks(p.read_text(encoding="utf-8")))]


@pytest.fixture
def quiet_figures():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_code_runs(page, tmp_path, monkeypatch, quiet_figures):
    text = page.read_text(encoding="utf-8")
    kinds = ("python",) if page.name == "README.md" else ("python", "{pyrun}")
    blocks = code_blocks(text, kinds)
    if any("torch" in code for _, _, _, code in blocks):
        pytest.importorskip("torch")
    if any("dask" in code or "distributed" in code for _, _, _, code in blocks):
        pytest.importorskip("distributed")
    monkeypatch.chdir(tmp_path)  # files a block writes land in a temporary folder
    namespace = {"__name__": f"docs_{page.stem}"}
    ran = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a page may show a warning on purpose
        for line, _, options, code in blocks:
            if "no-test" in options:
                continue
            exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)
            ran += 1
    assert ran > 0


def test_pages_with_code_are_tested():
    names = {p.relative_to(ROOT).as_posix() for p in _pages()}
    assert {"README.md", "docs/guide/start.md", "docs/guide/coming_from.md",
            "docs/guide/scaling.md"} <= names
    # the parser misses no block: as many pyrun and python blocks as opening fences
    for page in _markdown_files():
        text = page.read_text(encoding="utf-8")
        fences = re.findall(r"(?m)^[ \t]*`{3,}[ \t]*(\{pyrun\}|python)[ \t]*$", text)
        assert len(code_blocks(text)) == len(fences), page


def test_readme_commands_are_the_ones_ci_runs():
    """.ci/run runs the README's test command and its documentation build command, as
    written there (the README says so)."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    bash = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    commands = [line for block in bash for line in block.splitlines()]
    tests = [c for c in commands if "pytest" in c]
    docs = [c for c in commands if "sphinx" in c]
    assert len(tests) == 1 and len(docs) == 1
    assert tests[0] in ci and docs[0] in ci
    assert "-W" in docs[0].split()  # warnings are errors
