"""Renderers: every output format reads the same :class:`~cnncalc.engine.Analysis`."""
