"""The operator commands, which talk to a running server over the public API only (``login``,
``profiles``, ``connections``, ``flows``, ``runs``, ``datasets``), and the local ``doctor``;
see ``docs/cli.md``.

This package sits below the ``headwater.cli`` root, which composes its sub-apps: nothing here
imports the root or its other modules (``tests/cli/test_layers.py`` checks it).
"""
