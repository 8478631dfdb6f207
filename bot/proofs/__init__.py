"""Proofs: SymPy derivations checked step by step, the NumPy gradient oracle, the sandbox snippets run in.

May import bot.datatypes, bot.config, bot.errors and bot.retrieval.notation (the KB's notation).
"""
