"""Serving: the HTTP API and its guards, the model process, the chat's rendering, forum posts.

A shell over the Bot: may import bot.answer and every package below it; nothing imports bot.serve but the shells
(bot.cli, app.py, pages/).
"""
