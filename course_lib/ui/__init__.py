"""The presentation layer, above the pure core: ``render`` (the offline
Altair renderer), ``charts`` (every chart builder), ``widgets`` (the
``Calculator`` base and the result-span helper) and ``calculators`` (every
calculator). Nothing in the core imports from here."""
