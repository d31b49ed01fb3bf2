"""Crash: one live round for every socket, on server ticks, from a public hash chain.

`service.CrashService` is started by the app's lifespan, `ops` registers the
`crash.*` WebSocket ops, `http.routes` are the HTTP routes. See README.md here.
"""
