"""Themis Observatory: monitoring as code for the Themis shard cluster.

One metric catalogue (:mod:`observatory.catalogue`) is the single source of truth; the
dashboards, rules, manifests and documentation are generated from it, and the exporters and
the shard runtime expose exactly its metrics.
"""

__version__ = "0.1.0"
