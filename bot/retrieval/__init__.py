"""Retrieval: the KB read and validated into entries, embedded, indexed, and ranked for a question.

May import bot.datatypes, bot.config, bot.errors; never the Bot (bot.answer) or another concern.
"""
