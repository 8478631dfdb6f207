""""Check my backprop": a student's backward pass run in the sandbox and graded gradient by gradient.

May import bot.proofs (the sandbox and the oracle), bot.datatypes, bot.config, bot.errors.
"""
