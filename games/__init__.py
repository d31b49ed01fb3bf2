"""Pure game rules: provably fair randomness in, outcome and multiplier out.

Nothing in this package performs I/O: no asyncio, no redis, no sockets. The
server feeds each game the floats of a seed pair and turns its multiplier into
a payout through the wallet.
"""
