"""Croupier: a real-time casino game server."""
