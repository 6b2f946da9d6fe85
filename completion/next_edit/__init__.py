"""Next edit suggestions: prompt formats as data (``formats.json``), the editable window, the
prompt, post-processing of the rewritten window, the rename heuristic and the service."""
