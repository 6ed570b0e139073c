"""The presentation layer, above the pure core: ``render`` (the offline
Altair renderer), ``charts`` (every chart builder), ``widgets`` (the
``Calculator`` base and the result-span helper), ``text`` (numbers as text,
each result's texts, the calculators' presets) and ``calculators`` (every
calculator). Nothing in the core imports from here."""

import sys

# Altair validates charts with jsonschema, which imports rfc3987_syntax when it is installed (JupyterLab's
# jupyter-events brings it) only to check "iri" string formats, which no Vega-Lite spec of the course uses;
# it compiles a grammar at import, about 1.5 s of every lesson's first cell on a 2-core machine. jsonschema
# imports it under suppress(ImportError), so marking it absent skips that one format checker and nothing else.
sys.modules.setdefault("rfc3987_syntax", None)
