"""The HTML report: the paper's figures and claims beside ours, with their provenance.

`infogan report` reads only what earlier steps wrote (figure sidecars and their PNGs,
evaluation JSONs, run directories) and renders `template.html.j2` into one self-contained
file. The paper's own words about each figure and each checked claim live in
`paper_claims.yaml`, not in code. See `render.py` for the page's content, `claims.py` for
how each verdict is computed and `provenance.py` for the code, data and software record.
"""

from infogan.report.render import render_report

__all__ = ["render_report"]
