"""Mentors: the log of asks and feedback, the report of what the KB misses, the KB's phrasings.

May import bot.retrieval, bot.datatypes, bot.config, bot.errors; takes the Bot as a protocol.
"""
