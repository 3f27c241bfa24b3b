"""The package surface: lazy public names, a light import, the quick-start entry point."""

import subprocess
import sys

import shrinkage


def test_every_public_name_resolves():
    missing = [name for name in shrinkage.__all__ if getattr(shrinkage, name, None) is None]
    assert missing == []


def test_unknown_name_is_a_clear_attribute_error():
    try:
        shrinkage.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_light():
    code = ("import sys, shrinkage; "
            "print(sorted(m for m in ('numba', 'sklearn', 'torch', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_quickstart_prints_a_certified_path(capsys):
    from shrinkage.quickstart import main

    assert main() == 0
    text = capsys.readouterr().out
    assert "diabetes" in text and "duality_gap" in text and "bmi" in text
