"""A directive that runs a page's Python code at build time and shows what it printed.

In a MyST page::

    ```{pyrun}
    import shrinkage
    print(shrinkage.__version__)
    ```

renders the code as a Python block followed by its standard output. The blocks of one
page share a namespace and run in order, in a fresh temporary directory (files a block
writes do not land in the repository). An exception is a build warning (an error under
``-W``) that shows the traceback, so a page whose code no longer runs cannot be published.
tests/test_docs.py runs the same blocks without Sphinx (those with the option ``:no-test:``
excepted: the speed page's timings).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import traceback

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

_NAMESPACES: dict[str, tuple[dict, str]] = {}


def _namespace(docname):
    """The namespace and working directory of ``docname`` (made on its first block)."""
    if docname not in _NAMESPACES:
        workdir = tempfile.mkdtemp(prefix="shrinkage-docs-")
        _NAMESPACES[docname] = ({"__name__": f"docs.{docname.replace('/', '.')}"}, workdir)
    return _NAMESPACES[docname]


def _reset(app, docname, source):
    """Start every page that is (re)read with an empty namespace."""
    _NAMESPACES.pop(docname, None)


class PyRun(SphinxDirective):
    """Run the content as Python; show it, then its output."""

    has_content = True
    optional_arguments = 0
    # no-test: left out of tests/test_docs.py (slow timings); the build still runs it
    option_spec = {"hide-code": lambda x: True, "hide-output": lambda x: True,
                   "no-test": lambda x: True}

    def run(self):
        code = "\n".join(self.content)
        namespace, workdir = _namespace(self.env.docname)
        out = io.StringIO()
        cwd = os.getcwd()
        failure = None
        try:
            os.chdir(workdir)
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"<{self.env.docname}: pyrun block>", "exec"), namespace)
        except Exception:  # noqa: BLE001 - reported as a build warning below
            failure = traceback.format_exc()
        finally:
            os.chdir(cwd)
        result = []
        if "hide-code" not in self.options:
            block = nodes.literal_block(code, code)
            block["language"] = "python"
            result.append(block)
        text = out.getvalue().rstrip("\n")
        if text and "hide-output" not in self.options:
            shown = nodes.literal_block(text, text)
            shown["language"] = "none"
            shown["classes"].append("pyrun-output")
            result.append(shown)
        if failure is not None:
            logger_msg = f"a pyrun block of {self.env.docname} failed:\n{failure}"
            result.append(self.state.document.reporter.warning(logger_msg, line=self.lineno))
        return result


def setup(app):
    """Register the directive."""
    app.add_directive("pyrun", PyRun)
    app.connect("source-read", _reset)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
