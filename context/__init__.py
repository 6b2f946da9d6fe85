"""Loomline's understanding of documents and the workspace: text, positions, syntax, context."""
