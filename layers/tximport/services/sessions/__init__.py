"""Import-session use cases, one module per use case; each takes domain inputs and the `Deps` it
needs (repositories and adapters), never API models."""
