"""Pure rules of the Requests module: no I/O."""
