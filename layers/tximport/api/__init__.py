"""The HTTP API: a Powertools resolver with one router per resource."""
