"""The wild (model v2, DESIGN section 2b): escaped copies spread over hosts, countermeasures select.

Read :mod:`loops.wild.run` first (when the wild begins and how a cycle runs
its stages), then :mod:`loops.wild.spread` and :mod:`loops.wild.removal` (the
mechanisms), :mod:`loops.wild.hosts` (the state) and :mod:`loops.wild.stages`
(the registry and the cycle order).

Importing :mod:`loops.wild.run` or the stages imports numba (the kernels);
:mod:`loops.wild.begin` and :mod:`loops.wild.hosts` do not.
"""
