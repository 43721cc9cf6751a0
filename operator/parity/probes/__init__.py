"""Runtime probes: each reads the effective settings of one running component."""
