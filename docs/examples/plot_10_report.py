"""
Reading a report
================

:func:`shrinkage.report.build_report` turns a path and its cross-validation into one
self-contained HTML page (images inline, no network, nothing refitted): the data, the
path, the CV curve with the chosen strength and the rule in one sentence, the
overfitting gap, the selected coefficients, the Bayesian reading of the chosen ``lam``
and what it takes to reproduce it. ``shrinkage fit`` and ``shrinkage demo`` write the
same report from the command line.

Here we build it for the diabetes data and read it section by section.
"""

# %%
import re
import tempfile
from pathlib import Path

import shrinkage
from shrinkage.datasets import load_diabetes
from shrinkage.report import build_report, write_report

data = load_diabetes()
cv, path = shrinkage.cross_validate(data.X, data.y, cv=10, random_state=0, return_path=True,
                                    feature_names=data.feature_names)
html = build_report(path, cv, X=data.X, y=data.y, title="Diabetes: lasso, 10-fold CV",
                    data={"source": "scikit-learn's diabetes data", "target": "progression"})
out = Path(tempfile.mkdtemp()) / "report.html"
write_report(html, out)
print(f"{out.name}: {out.stat().st_size / 1024:.0f} kB, sections:")
for section_id, heading in re.findall(r'<section id="([^"]+)">\s*<h2>(.*?)</h2>', html):
    print(f"  #{section_id:<16} {heading}")


def section(section_id):
    """The HTML of one section of the report."""
    match = re.search(rf'<section id="{section_id}">.*?</section>', html, re.S)
    return match.group(0)


class Excerpt:
    """Show some HTML in the gallery page (sphinx-gallery renders ``_repr_html_``)."""

    def __init__(self, *parts):
        self.parts = parts

    def _repr_html_(self):
        return "<div class='report-excerpt'>" + "\n".join(self.parts) + "</div>"


# %%
# The first thing to read is the sentence that states the choice and the table beside
# it: the chosen ``lam`` (the strongest within one SE of the best) against ``lam_min``,
# with their CV errors and the number of features each keeps.
Excerpt(section("cv"))

# %%
# Then the coefficients kept at that strength, ranked by size on the standardized scale
# (the scale the penalty acts on), and the same choice read as a prior.
Excerpt(section("coefficients"), section("bayes"))

# %%
# Last, what is needed to reproduce it: versions, the fold seed, the rule, the metric and
# the solver's certificate.
Excerpt(section("reproducibility"))
