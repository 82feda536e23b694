"""The shared kernel: the few types and helpers every capability and every door uses.

Nothing here imports another ``safeguard`` package, so any package may import it.
"""
