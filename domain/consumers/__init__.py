"""Pure rules of the Consumers module: no I/O."""
