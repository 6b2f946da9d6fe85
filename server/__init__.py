"""The Loomline language server and command line."""
