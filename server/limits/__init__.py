"""Responsible-play limits: loss, wager and deposit limits per period, cool-off and
self-exclusion, enforced by the Lua scripts that move money (`_limits.lua`)."""
