"""Claims: number phrases in article bodies, their scope in the source's own dimensions, and their
reconciliation against the source's figures. Pure functions; the Dagster assets are thin wrappers.

Modules: text (normalisation with an offset map, sentences), lexicon (rules as data, lexicon.yaml),
numbers and qualifiers (number phrases and hedges), dates (date mentions resolved against the
publication date), scope (what a number counts), reconcile (verdicts), names (variant spellings of
the source's people), pipeline (one article -> rows of claims, date findings, name findings).
"""
