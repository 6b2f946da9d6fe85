"""Completion pipeline: prompts, engines and post-processing."""
