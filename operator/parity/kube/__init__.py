"""Kubernetes I/O: the client, the one write path (server-side apply) and reads of children."""
