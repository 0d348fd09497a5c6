"""Statistics that cannot identify anyone: GBVIMS tables, charts, exports and programme figures.

``suppression`` protects every published count (small-cell suppression that holds against
differencing); the other modules gather coded counts and show or export the protected cells.
"""
