"""Croupier's load generator: parallel bettors over real WebSockets, then an audit.

`python -m loadtest URL` or `croupier-load URL`.
"""
