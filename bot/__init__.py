"""Backprop Q&A: a curated knowledge base of backpropagation math, searchable in a student's own words."""
from __future__ import annotations

__version__ = "0.1.0"
